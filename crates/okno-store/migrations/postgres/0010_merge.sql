-- Merged duplicates (postgres). Keep in step with ../sqlite/0010_merge.sql.
-- A request closed as a duplicate points to the request it was merged into; its citizen
-- follows that one.
ALTER TABLE requests ADD COLUMN duplicate_of BIGINT REFERENCES requests(id);
CREATE INDEX requests_duplicate_of ON requests (duplicate_of) WHERE duplicate_of IS NOT NULL;
