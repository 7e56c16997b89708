-- Deadline pauses and webhook delivery retries (SQLite). Keep in step with ../postgres/0004_clock.sql.

-- While the deadline clock stands still: when it stopped (the deadline waits, no queue shows it).
ALTER TABLE requests ADD COLUMN paused_at INTEGER;

-- When a failed notification is tried again.
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
