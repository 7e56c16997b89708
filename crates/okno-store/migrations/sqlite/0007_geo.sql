-- Geography: territory boundaries, and where each request's point falls (SQLite).
-- Keep in step with ../postgres/0007_geo.sql.

-- A territory's boundary as a GeoJSON MultiPolygon in WGS84 longitude/latitude.
CREATE TABLE territory_shapes (
    territory_code TEXT PRIMARY KEY REFERENCES territories(code),
    geometry       TEXT NOT NULL,
    area_km2       REAL NOT NULL
);

-- What is wrong with a request's point, when something is: outside_territories, outside_region
-- or swapped (latitude and longitude given the wrong way round).
ALTER TABLE requests ADD COLUMN location_flag TEXT;
-- The H3 cell (resolution 10) of the request's point, as a number.
ALTER TABLE requests ADD COLUMN h3_cell INTEGER;
CREATE INDEX requests_location_flag ON requests (location_flag, id) WHERE location_flag IS NOT NULL;
