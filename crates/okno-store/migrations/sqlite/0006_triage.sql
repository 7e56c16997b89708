-- Triage at intake: what the classifier and the rules decided for each request, and operators'
-- keyword rules (SQLite). Keep in step with ../postgres/0006_triage.sql.

-- One row per request received while a classifier or rules were in force.
CREATE TABLE predictions (
    request_id   INTEGER PRIMARY KEY REFERENCES requests(id),
    at           INTEGER NOT NULL,
    services     TEXT NOT NULL,         -- JSON [{code, probability}], most probable first
    agencies     TEXT NOT NULL,         -- JSON [{code, probability}], most probable first
    service_by   TEXT NOT NULL,         -- citizen | rule | model | triage
    agency_by    TEXT NOT NULL,         -- rule | service | model | triage
    rule_id      INTEGER,
    models       TEXT NOT NULL,         -- JSON [data fingerprint of each model used]
    needs_triage BOOLEAN NOT NULL,
    corrected_at INTEGER,                    -- an operator routed or reclassified it
    corrected_by TEXT
);
-- The triage queue: waiting, oldest first.
CREATE INDEX predictions_waiting ON predictions (needs_triage, corrected_at, request_id);

CREATE TABLE routing_rules (
    id             INTEGER PRIMARY KEY,
    keywords       TEXT NOT NULL,       -- JSON array of keywords in search form
    service_code   TEXT REFERENCES services(code),
    agency_code    TEXT REFERENCES agencies(code),
    territory_code TEXT REFERENCES territories(code),
    priority       INTEGER NOT NULL,
    active         BOOLEAN NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
