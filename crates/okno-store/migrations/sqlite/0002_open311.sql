-- Open311: API keys of named clients, and media files uploaded with requests (SQLite).
-- Keep in step with ../postgres/0002_open311.sql.

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    client     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,           -- SHA-256 of the key; the key itself is never stored
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_client ON api_keys (client);

CREATE TABLE media (
    token        TEXT PRIMARY KEY,             -- unguessable name in the public URL
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
