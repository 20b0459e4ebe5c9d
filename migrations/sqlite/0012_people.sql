-- Issue 20: named people with roles, and the dashboard's sessions.

-- A person who may use AOL: their role, the SHA-256 of their API token, and
-- their dashboard password as an argon2id PHC string (NULL: none set yet).
CREATE TABLE aol_people (
    name            TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('viewer', 'approver', 'admin')),
    token_sha256    TEXT NOT NULL UNIQUE,
    password_hash   TEXT,
    created_at_utc  TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at_utc  TEXT NOT NULL
);

-- A signed-in browser: the SHA-256 of its random cookie value (the value
-- itself is never stored), whose it is (NULL: the operator token's, with a
-- check of which token, so a new token ends it), when it was last used (it
-- ends after a while idle) and when it ends regardless.
CREATE TABLE aol_sessions (
    id_sha256         TEXT PRIMARY KEY,
    person            TEXT REFERENCES aol_people (name) ON DELETE CASCADE,
    token_check       TEXT,
    created_at_utc    TEXT NOT NULL,
    last_seen_at_utc  TEXT NOT NULL,
    expires_at_utc    TEXT NOT NULL
);
CREATE INDEX aol_sessions_person_idx ON aol_sessions (person);
