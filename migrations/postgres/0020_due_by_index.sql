-- The claim's due actions, oldest first, always read through
-- aol_actions_due_idx. Right after a burst of enqueues the table's
-- statistics still describe it as it was before (autovacuum analyzes it up
-- to a minute later), and the planner, expecting a handful of due rows, read
-- every due row and sorted them all to take the oldest: 8 ms a claim of 500
-- with 20,000 queued, and growing with the queue, against 0.3 ms through the
-- index (docs/scaling.md). PostgreSQL has no index hints; a function's own
-- settings decide how its query is planned. The rows are locked for the
-- claim that calls it, skipping those another claim is locking.
CREATE FUNCTION aol_due_ids(due_at TIMESTAMPTZ, how_many BIGINT) RETURNS BIGINT[]
LANGUAGE sql VOLATILE
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
    SELECT ARRAY(
        SELECT id FROM aol_actions
        WHERE status IN ('PENDING', 'RETRY') AND not_before_utc <= due_at
          AND (not_after_utc IS NULL OR not_after_utc > due_at)
        ORDER BY not_before_utc, id LIMIT how_many
        FOR UPDATE SKIP LOCKED)
$$;
