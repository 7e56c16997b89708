-- Rollups: requests counted by every dimension the analytics reads, kept in the same
-- transaction as the requests (postgres). Keep in step with ../sqlite/0008_rollups.sql.
-- Absent values are '' or 0 so that every column can be part of the key.
CREATE TABLE rollups (
    hour           BIGINT NOT NULL, -- creation hour, UTC hours since the Unix epoch
    cell           BIGINT NOT NULL, -- H3 cell at resolution 8 of the point, 0 without one
    territory_code TEXT NOT NULL,
    service_code   TEXT NOT NULL,
    category       TEXT NOT NULL,
    agency_code    TEXT NOT NULL,
    channel        TEXT NOT NULL,
    closed_hour    BIGINT NOT NULL, -- hour closed, 0 while open
    n              BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (hour, cell, territory_code, service_code, category, agency_code, channel, closed_hour)
);

-- Count the requests stored before this migration (same rules as Store::rebuild_rollups).
INSERT INTO rollups (hour, cell, territory_code, service_code, category, agency_code, channel, closed_hour, n)
SELECT floor(extract(epoch FROM created_at) / 3600)::bigint,
       CASE WHEN h3_cell IS NULL THEN 0 ELSE (h3_cell & ~67553994410557440) | 36028797018963968 | 2064384 END,
       COALESCE(territory_code, ''), service_code, COALESCE(category, ''), COALESCE(agency_code, ''), channel,
       CASE WHEN closed_at IS NULL THEN 0 ELSE floor(extract(epoch FROM closed_at) / 3600)::bigint END,
       count(*)
FROM requests
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
