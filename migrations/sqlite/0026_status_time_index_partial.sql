-- Issue 22: aol_actions_status_updated_idx holds only the statuses that are
-- found by when they last changed: what retention removes (finished, and DLQ
-- when asked) and approvals' waits (storage::retention::by_last_change,
-- which the queries through it repeat word for word: SQLite uses a partial
-- index only for a query with its very term, and PostgreSQL's plan for a
-- bound status must hold whatever the status is). Queued and running
-- actions, the ones every enqueue writes and every claim rewrites, no longer
-- have entries in it: one index entry fewer per enqueue and per claim
-- (docs/scaling.md).
DROP INDEX aol_actions_status_updated_idx;
CREATE INDEX aol_actions_status_updated_idx ON aol_actions (status, updated_at_utc)
    WHERE status IN ('SUCCESS', 'FAILED', 'CANCELLED', 'EXPIRED', 'DLQ', 'AWAITING_APPROVAL');
