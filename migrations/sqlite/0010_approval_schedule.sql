-- Issue 10: who decides (policy, approval), when (schedule) and how often
-- (rate limits) a REAL post goes out.

-- Each action's channel (from its payload, kept in a column to find a
-- channel's posts), the window it may be sent in, and the policy it was
-- admitted under ('auto' or 'require_approval'; NULL for rows older than this).
ALTER TABLE aol_actions ADD COLUMN channel TEXT;
ALTER TABLE aol_actions ADD COLUMN scheduled_for_utc TEXT;
ALTER TABLE aol_actions ADD COLUMN not_after_utc TEXT;
ALTER TABLE aol_actions ADD COLUMN policy TEXT;
UPDATE aol_actions SET channel = json_extract(payload_json, '$.channel')
WHERE json_valid(payload_json) AND json_type(payload_json, '$.channel') = 'text';

-- Actions that can still expire: found at each tick without reading the table.
CREATE INDEX aol_actions_deadline_idx ON aol_actions (not_after_utc)
    WHERE not_after_utc IS NOT NULL AND status IN ('PENDING', 'RETRY', 'AWAITING_APPROVAL');

-- Per channel: how often it may post, and until when its platform asked it
-- to wait (a 429 or a rate-limit reset).
ALTER TABLE aol_channels ADD COLUMN max_per_hour INTEGER CHECK (max_per_hour > 0);
ALTER TABLE aol_channels ADD COLUMN max_per_day INTEGER CHECK (max_per_day > 0);
ALTER TABLE aol_channels ADD COLUMN min_spacing_seconds INTEGER CHECK (min_spacing_seconds > 0);
ALTER TABLE aol_channels ADD COLUMN wait_until_utc TEXT;

-- Policies, append-only: a channel's policy for an action type is its latest
-- row (the rows before it are its history: who, when, why).
CREATE TABLE aol_policies (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT    NOT NULL,
    action_type     TEXT    NOT NULL,
    mode            TEXT    NOT NULL CHECK (mode IN ('auto', 'require_approval', 'deny')),
    set_at_utc      TEXT    NOT NULL,
    set_by          TEXT    NOT NULL,
    reason          TEXT
);
CREATE INDEX aol_policies_lookup_idx ON aol_policies (channel, action_type, id);

-- An operator's decision on an action awaiting approval. An approval binds
-- to the SHA-256 of the request shown and to the channel; it is used once
-- (used_at_utc), expires, and is voided when the action is edited.
CREATE TABLE aol_approvals (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id        INTEGER NOT NULL REFERENCES aol_actions (id) ON DELETE CASCADE,
    decision         TEXT    NOT NULL CHECK (decision IN ('approved', 'rejected')),
    prepared_sha256  TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    decided_by       TEXT    NOT NULL,
    reason           TEXT,
    decided_at_utc   TEXT    NOT NULL,
    expires_at_utc   TEXT    NOT NULL,
    used_at_utc      TEXT,
    voided_at_utc    TEXT
);
CREATE INDEX aol_approvals_action_idx ON aol_approvals (action_id, id);

-- Every REAL request that left, per channel: what the rate limits count.
CREATE TABLE aol_channel_sends (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT    NOT NULL,
    action_id    INTEGER NOT NULL,
    sent_at_utc  TEXT    NOT NULL
);
CREATE INDEX aol_channel_sends_idx ON aol_channel_sends (channel, sent_at_utc);

-- A channel's history also records changes of its rate limits (SQLite
-- changes a CHECK by copying the table).
CREATE TABLE aol_channel_changes_next (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    changed_at_utc  TEXT    NOT NULL,
    changed_by      TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    change          TEXT    NOT NULL CHECK (change IN ('added', 'removed', 'armed', 'disarmed', 'limits')),
    reason          TEXT
);
INSERT INTO aol_channel_changes_next (id, changed_at_utc, changed_by, channel, change, reason)
SELECT id, changed_at_utc, changed_by, channel, change, reason FROM aol_channel_changes;
DROP TABLE aol_channel_changes;
ALTER TABLE aol_channel_changes_next RENAME TO aol_channel_changes;
