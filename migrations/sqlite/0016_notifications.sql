-- Issue 21: the operators' bell. Where notifications go (`aol notify add`),
-- and the outbox: one row per event and receiver, written in the same
-- transaction as the change it tells of, then delivered by a task of its own.
CREATE TABLE aol_notifiers (
    name            TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    -- The events it gets, comma-separated (awaiting_approval,posted,…).
    events          TEXT NOT NULL,
    -- The AOL_SECRET_* variable whose value signs the deliveries.
    secret_env      TEXT,
    format          TEXT NOT NULL CHECK (format IN ('json', 'slack')),
    created_at_utc  TEXT NOT NULL,
    created_by      TEXT NOT NULL
);

CREATE TABLE aol_outbox (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    notifier          TEXT    NOT NULL,
    event             TEXT    NOT NULL,
    action_id         INTEGER,
    data_json         TEXT    NOT NULL,
    created_at_utc    TEXT    NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_at_utc       TEXT    NOT NULL,
    last_error        TEXT,
    delivered_at_utc  TEXT,
    dropped_at_utc    TEXT
);
CREATE INDEX aol_outbox_due_idx ON aol_outbox (next_at_utc) WHERE delivered_at_utc IS NULL AND dropped_at_utc IS NULL;
CREATE INDEX aol_outbox_order_idx ON aol_outbox (notifier, action_id, id);

-- When a post waiting for approval was last said to be close to expiring
-- (approval_expiring): once per wait, again after an edit asks anew.
ALTER TABLE aol_actions ADD COLUMN expiry_warned_at_utc TEXT;
