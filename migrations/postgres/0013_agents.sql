-- Issue 20: who enqueued each action and who last edited it; agents limited
-- to their channels; policies that want two approvals.

-- As the records name them ("ana", "agent:newsroom", "cli:root"); NULL for
-- actions enqueued before this migration. An agent's idempotency keys are
-- stored in its own namespace ("<agent>" U+001F "<key>"), so one agent never
-- takes another's key.
ALTER TABLE aol_actions ADD COLUMN enqueued_by TEXT;
ALTER TABLE aol_actions ADD COLUMN edited_by TEXT;
CREATE INDEX aol_actions_enqueued_by_idx ON aol_actions (enqueued_by, id);
ALTER TABLE aol_retired_keys ADD COLUMN enqueued_by TEXT;

-- The channels an agent may post to (none listed: every channel).
CREATE TABLE aol_agent_channels (
    agent    TEXT NOT NULL,
    channel  TEXT NOT NULL,
    PRIMARY KEY (agent, channel)
);

-- How many approvals, by different people, a post needs under this policy.
ALTER TABLE aol_policies ADD COLUMN approvals BIGINT NOT NULL DEFAULT 1 CHECK (approvals IN (1, 2));
