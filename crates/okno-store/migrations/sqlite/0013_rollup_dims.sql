-- Rollups keyed by numbers (sqlite). Keep in step with ../postgres/0013_rollup_dims.sql.
-- The text dimensions of a rollup key (territory, service, category, agency and channel codes)
-- are stored once in rollup_dims and counted by id: with the texts in every key, the rollups
-- were 1.6 GB of 12.7 at ten million requests, each upsert compared long texts, and loading them
-- at server start decoded fifty million strings. One dictionary serves every dimension.
CREATE TABLE rollup_dims (
    id    INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);
INSERT INTO rollup_dims (value)
SELECT territory_code FROM rollups UNION SELECT service_code FROM rollups UNION SELECT category FROM rollups
UNION SELECT agency_code FROM rollups UNION SELECT channel FROM rollups;

CREATE TABLE rollups_by_id (
    hour        INTEGER NOT NULL, -- creation hour, UTC hours since the Unix epoch
    cell        INTEGER NOT NULL, -- H3 cell at resolution 8 of the point, 0 without one
    territory   INTEGER NOT NULL, -- rollup_dims ids of the codes ('' when absent)
    service     INTEGER NOT NULL,
    category    INTEGER NOT NULL,
    agency      INTEGER NOT NULL,
    channel     INTEGER NOT NULL,
    closed_hour INTEGER NOT NULL, -- hour closed, 0 while open
    n           INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (hour, cell, territory, service, category, agency, channel, closed_hour)
) WITHOUT ROWID;
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
