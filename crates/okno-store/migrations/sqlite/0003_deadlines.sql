-- Consideration control (SQLite): first reaction and first answer, extensions used, escalation,
-- and the notification outbox. Keep in step with ../postgres/0003_deadlines.sql.

ALTER TABLE requests ADD COLUMN first_reaction_due_at INTEGER;
ALTER TABLE requests ADD COLUMN first_reaction_at INTEGER;
ALTER TABLE requests ADD COLUMN first_answer_at INTEGER;
ALTER TABLE requests ADD COLUMN extensions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
CREATE INDEX requests_due ON requests (due_at) WHERE closed_at IS NULL;

-- Notifications waiting to be delivered (e-mail by an external sender, webhooks by Okno).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    created_at   INTEGER NOT NULL,
    channel      TEXT NOT NULL,              -- 'email' or 'webhook'
    recipient    TEXT NOT NULL,              -- address or URL
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,              -- JSON for webhooks, text for e-mail; never personal data
    request_id   INTEGER REFERENCES requests(id),
    sent_at      INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
