-- Issue 22: a retired key keeps its row in aol_action_lookup (action_type
-- '' and no enqueued_by, so that no filter by type or by who enqueued finds
-- it), and retention writes that row in the transaction that retires the key.
-- The enqueue's insert then meets every retired key at the lookup's primary
-- key, even one retired by a retention that commits while the insert waits
-- for it: before, the insert passed such a key (its check of
-- aol_retired_keys had looked before the retention committed), so every
-- enqueue looked again, one more statement each.
INSERT INTO aol_action_lookup (action_id, idempotency_key, action_type, enqueued_by)
SELECT action_id, idempotency_key, '', NULL FROM aol_retired_keys
ON CONFLICT (idempotency_key) DO NOTHING;
