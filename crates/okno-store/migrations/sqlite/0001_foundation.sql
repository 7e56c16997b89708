-- Okno foundation schema (SQLite). Times are Unix microseconds (INTEGER, UTC).
-- Keep in step with ../postgres/0001_foundation.sql: same tables, columns and meanings.

CREATE TABLE agencies (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name_ru     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    parent_code TEXT REFERENCES agencies(code)
);

CREATE TABLE territories (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name_ru     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    parent_code TEXT REFERENCES territories(code),
    population  INTEGER
);

CREATE TABLE services (
    code            TEXT PRIMARY KEY,
    name_ru         TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    description_ru  TEXT NOT NULL,
    description_en  TEXT NOT NULL,
    group_name      TEXT NOT NULL,
    keywords        TEXT NOT NULL,          -- JSON array of strings
    attributes      TEXT NOT NULL,          -- JSON array of attribute definitions
    default_agency  TEXT REFERENCES agencies(code),
    deadline_regime TEXT NOT NULL,
    electronic      BOOLEAN NOT NULL,
    active          BOOLEAN NOT NULL
);

CREATE TABLE requests (
    id                INTEGER PRIMARY KEY,
    token             TEXT NOT NULL UNIQUE,
    service_code      TEXT NOT NULL REFERENCES services(code),
    channel           TEXT NOT NULL,
    source_system     TEXT,
    source_id         TEXT,
    text              TEXT NOT NULL,
    search_text       TEXT NOT NULL,        -- lower-cased, ё→е text and address, for search
    lat               REAL,
    lon               REAL,
    address           TEXT,
    territory_code    TEXT REFERENCES territories(code),
    agency_code       TEXT REFERENCES agencies(code),
    status            TEXT NOT NULL,
    priority          TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    closed_at         INTEGER,
    due_at            INTEGER,
    attributes        TEXT NOT NULL,        -- JSON object: code -> [values]
    media_url         TEXT,
    category          TEXT,
    reason            TEXT,
    rating            INTEGER,
    last_answer       TEXT,
    UNIQUE (source_system, source_id)
);
CREATE INDEX requests_created ON requests (created_at, id);
CREATE INDEX requests_agency ON requests (agency_code, id);
CREATE INDEX requests_status ON requests (status, id);
CREATE INDEX requests_service ON requests (service_code, id);
CREATE INDEX requests_territory ON requests (territory_code, id);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    status      TEXT,
    agency_code TEXT,
    text        TEXT,
    old_due_at  INTEGER,
    new_due_at  INTEGER,
    rating      INTEGER
);
CREATE INDEX events_request ON events (request_id, id);

-- Personal data lives here only; reads by staff are written to audit_log.
CREATE TABLE contacts (
    request_id INTEGER PRIMARY KEY REFERENCES requests(id),
    name       TEXT,
    phone      TEXT,
    email      TEXT
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,            -- argon2id PHC string
    role          TEXT NOT NULL,
    agency_code   TEXT REFERENCES agencies(code),
    active        BOOLEAN NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Browser sessions and bearer tokens: only SHA-256 hashes of the secrets are kept.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    user_login TEXT NOT NULL,
    action     TEXT NOT NULL,
    request_id INTEGER,
    detail     TEXT
);
