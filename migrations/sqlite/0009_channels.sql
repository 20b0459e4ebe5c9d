-- Where REAL posts go (SPEC §7). The secret itself is never stored: only the
-- name of the env var or the path of the file that holds it.
CREATE TABLE aol_channels (
    name            TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('bluesky', 'mastodon', 'webhook')),
    base_url        TEXT    NOT NULL,
    handle          TEXT,
    secret_env      TEXT,
    secret_file     TEXT,
    -- REAL is armed per channel; a new channel starts disarmed.
    armed           INTEGER NOT NULL DEFAULT 0 CHECK (armed IN (0, 1)),
    created_at_utc  TEXT    NOT NULL,
    updated_at_utc  TEXT    NOT NULL,
    CHECK ((secret_env IS NULL) <> (secret_file IS NULL))
);

-- Every change of a channel: who, when, what, why (and what the dashboard
-- watches to know that the channels changed).
CREATE TABLE aol_channel_changes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    changed_at_utc  TEXT    NOT NULL,
    changed_by      TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    change          TEXT    NOT NULL CHECK (change IN ('added', 'removed', 'armed', 'disarmed')),
    reason          TEXT
);

-- What a REAL post became: the SHA-256 of the request prepared for it (the
-- bytes sent, and the PROOF artifact's), and the platform's id and link.
ALTER TABLE aol_actions ADD COLUMN prepared_sha256 TEXT;
ALTER TABLE aol_actions ADD COLUMN remote_id TEXT;
ALTER TABLE aol_actions ADD COLUMN remote_url TEXT;
-- Set just before a REAL request leaves, cleared when the action is claimed
-- again: an action found RUNNING with it set after its daemon died may have
-- been posted, so it becomes UNCONFIRMED instead of being sent again.
ALTER TABLE aol_actions ADD COLUMN sent_at_utc TEXT;
