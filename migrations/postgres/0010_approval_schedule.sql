-- Issue 10: who decides (policy, approval), when (schedule) and how often
-- (rate limits) a REAL post goes out.

-- Each action's channel (from its payload, kept in a column to find a
-- channel's posts), the window it may be sent in, and the policy it was
-- admitted under ('auto' or 'require_approval'; NULL for rows older than this).
ALTER TABLE aol_actions ADD COLUMN channel TEXT;
ALTER TABLE aol_actions ADD COLUMN scheduled_for_utc TIMESTAMPTZ;
ALTER TABLE aol_actions ADD COLUMN not_after_utc TIMESTAMPTZ;
ALTER TABLE aol_actions ADD COLUMN policy TEXT;
UPDATE aol_actions SET channel = payload_json::jsonb ->> 'channel'
WHERE payload_json LIKE '%"channel"%' AND jsonb_typeof(payload_json::jsonb -> 'channel') = 'string';

-- Actions that can still expire: found at each tick without reading the table.
CREATE INDEX aol_actions_deadline_idx ON aol_actions (not_after_utc)
    WHERE not_after_utc IS NOT NULL AND status IN ('PENDING', 'RETRY', 'AWAITING_APPROVAL');

-- Per channel: how often it may post, and until when its platform asked it
-- to wait (a 429 or a rate-limit reset).
ALTER TABLE aol_channels ADD COLUMN max_per_hour BIGINT CHECK (max_per_hour > 0);
ALTER TABLE aol_channels ADD COLUMN max_per_day BIGINT CHECK (max_per_day > 0);
ALTER TABLE aol_channels ADD COLUMN min_spacing_seconds BIGINT CHECK (min_spacing_seconds > 0);
ALTER TABLE aol_channels ADD COLUMN wait_until_utc TIMESTAMPTZ;

-- Policies, append-only: a channel's policy for an action type is its latest
-- row (the rows before it are its history: who, when, why).
CREATE TABLE aol_policies (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         TEXT        NOT NULL,
    action_type     TEXT        NOT NULL,
    mode            TEXT        NOT NULL CHECK (mode IN ('auto', 'require_approval', 'deny')),
    set_at_utc      TIMESTAMPTZ NOT NULL,
    set_by          TEXT        NOT NULL,
    reason          TEXT
);
CREATE INDEX aol_policies_lookup_idx ON aol_policies (channel, action_type, id);

-- An operator's decision on an action awaiting approval. An approval binds
-- to the SHA-256 of the request shown and to the channel; it is used once
-- (used_at_utc), expires, and is voided when the action is edited.
CREATE TABLE aol_approvals (
    id               BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action_id        BIGINT      NOT NULL REFERENCES aol_actions (id) ON DELETE CASCADE,
    decision         TEXT        NOT NULL CHECK (decision IN ('approved', 'rejected')),
    prepared_sha256  TEXT        NOT NULL,
    channel          TEXT        NOT NULL,
    decided_by       TEXT        NOT NULL,
    reason           TEXT,
    decided_at_utc   TIMESTAMPTZ NOT NULL,
    expires_at_utc   TIMESTAMPTZ NOT NULL,
    used_at_utc      TIMESTAMPTZ,
    voided_at_utc    TIMESTAMPTZ
);
CREATE INDEX aol_approvals_action_idx ON aol_approvals (action_id, id);

-- Every REAL request that left, per channel: what the rate limits count.
CREATE TABLE aol_channel_sends (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel      TEXT        NOT NULL,
    action_id    BIGINT      NOT NULL,
    sent_at_utc  TIMESTAMPTZ NOT NULL
);
CREATE INDEX aol_channel_sends_idx ON aol_channel_sends (channel, sent_at_utc);

-- A channel's history also records changes of its rate limits.
ALTER TABLE aol_channel_changes DROP CONSTRAINT aol_channel_changes_change_check;
ALTER TABLE aol_channel_changes ADD CONSTRAINT aol_channel_changes_change_check
    CHECK (change IN ('added', 'removed', 'armed', 'disarmed', 'limits'));
