-- Merged duplicates (sqlite). Keep in step with ../postgres/0010_merge.sql.
-- A request closed as a duplicate points to the request it was merged into; its citizen
-- follows that one.
ALTER TABLE requests ADD COLUMN duplicate_of INTEGER REFERENCES requests(id);
CREATE INDEX requests_duplicate_of ON requests (duplicate_of) WHERE duplicate_of IS NOT NULL;
