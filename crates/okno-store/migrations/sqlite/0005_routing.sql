-- The routing term (59-FZ: passed to the competent body within 7 days of registration) (SQLite).
-- Keep in step with ../postgres/0005_routing.sql.

-- While a request has no agency: when it must have one. The "unrouted" queue reads it.
ALTER TABLE requests ADD COLUMN routing_due_at INTEGER;
