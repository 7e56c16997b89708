-- Rollups keyed by numbers (postgres). Keep in step with ../sqlite/0013_rollup_dims.sql.
-- The text dimensions of a rollup key (territory, service, category, agency and channel codes)
-- are stored once in rollup_dims and counted by id: with the texts in every key, the rollups
-- were 1.6 GB of 12.7 at ten million requests, each upsert compared long texts, and loading them
-- at server start decoded fifty million strings. One dictionary serves every dimension.
CREATE TABLE rollup_dims (
    id    BIGSERIAL PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);
INSERT INTO rollup_dims (value)
SELECT territory_code FROM rollups UNION SELECT service_code FROM rollups UNION SELECT category FROM rollups
UNION SELECT agency_code FROM rollups UNION SELECT channel FROM rollups;

CREATE TABLE rollups_by_id (
    hour        BIGINT NOT NULL, -- creation hour, UTC hours since the Unix epoch
    cell        BIGINT NOT NULL, -- H3 cell at resolution 8 of the point, 0 without one
    territory   BIGINT NOT NULL, -- rollup_dims ids of the codes ('' when absent)
    service     BIGINT NOT NULL,
    category    BIGINT NOT NULL,
    agency      BIGINT NOT NULL,
    channel     BIGINT NOT NULL,
    closed_hour BIGINT NOT NULL, -- hour closed, 0 while open
    n           BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (hour, cell, territory, service, category, agency, channel, closed_hour)
);
INSERT INTO rollups_by_id (hour, cell, territory, service, category, agency, channel, closed_hour, n)
SELECT r.hour, r.cell, t.id, s.id, c.id, a.id, ch.id, r.closed_hour, r.n
FROM rollups r
JOIN rollup_dims t ON t.value = r.territory_code
JOIN rollup_dims s ON s.value = r.service_code
JOIN rollup_dims c ON c.value = r.category
JOIN rollup_dims a ON a.value = r.agency_code
JOIN rollup_dims ch ON ch.value = r.channel;
DROP TABLE rollups;
ALTER TABLE rollups_by_id RENAME TO rollups;
ALTER INDEX rollups_by_id_pkey RENAME TO rollups_pkey;
