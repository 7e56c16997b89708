-- Systemic problems (sqlite). Keep in step with ../postgres/0011_problems.sql.
-- A cluster of requests that are really one cause, as a scan proposed it and operators took it.
CREATE TABLE problems (
    id             INTEGER PRIMARY KEY,
    state          TEXT NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'accepted', 'dismissed', 'closed')),
    title          TEXT,
    owner_agency   TEXT REFERENCES agencies(code),
    topic          TEXT NOT NULL,
    territory_code TEXT,
    agency_code    TEXT,
    lat            REAL NOT NULL,
    lon            REAL NOT NULL,
    radius_m       REAL NOT NULL CHECK (radius_m >= 0),
    sample_text    TEXT NOT NULL,
    first_at       INTEGER NOT NULL,
    last_at        INTEGER NOT NULL,
    members        INTEGER NOT NULL CHECK (members >= 0),
    detected_at    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    handled_by     TEXT,
    note           TEXT
);
CREATE INDEX problems_by_state ON problems (state, id);
CREATE INDEX problems_by_topic ON problems (topic, state);

-- Which problem a request belongs to (at most one): added by a scan or at intake.
CREATE TABLE problem_members (
    request_id INTEGER PRIMARY KEY REFERENCES requests(id),
    problem_id INTEGER NOT NULL REFERENCES problems(id),
    added_at   INTEGER NOT NULL,
    added_by   TEXT NOT NULL CHECK (added_by IN ('scan', 'intake'))
);
CREATE INDEX problem_members_by_problem ON problem_members (problem_id, request_id);
