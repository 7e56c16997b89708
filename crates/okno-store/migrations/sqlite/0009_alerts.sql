-- Spike alerts (sqlite). Keep in step with ../postgres/0009_alerts.sql.
-- One row per topic, territory ('' = the whole region), period and first day: a later scan of
-- the same period updates the counts and keeps the state operators gave it.
CREATE TABLE alerts (
    id             INTEGER PRIMARY KEY,
    period         TEXT NOT NULL CHECK (period IN ('day', 'week')),
    category       TEXT NOT NULL,
    territory_code TEXT NOT NULL,
    first_day      TEXT NOT NULL,
    last_day       TEXT NOT NULL,
    observed       INTEGER NOT NULL CHECK (observed >= 0),
    expected       REAL NOT NULL CHECK (expected >= 0),
    score          REAL NOT NULL,
    state          TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'acknowledged', 'resolved')),
    detected_at    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    handled_by     TEXT,
    note           TEXT,
    UNIQUE (period, category, territory_code, first_day)
);
CREATE INDEX alerts_by_state ON alerts (state, id);
