-- Issue 22: the idempotency key's uniqueness moves to aol_action_lookup
-- (0021), for the reason given there: every status change of an action
-- wrote a new entry into the key's index, at a random place (keys arrive in
-- no order). The enqueue writes an action's lookup row first, with the id
-- its action will have, so that a key already taken (or being taken by a
-- concurrent enqueue) stops its action before it is written, as the
-- constraint on aol_actions did. The column stays on aol_actions, which is
-- what reads it. SQLite keeps its constraint (see its 0021).
ALTER TABLE aol_action_lookup ADD COLUMN idempotency_key TEXT;
UPDATE aol_action_lookup l SET idempotency_key = a.idempotency_key FROM aol_actions a WHERE a.id = l.action_id;
ALTER TABLE aol_action_lookup ALTER COLUMN idempotency_key SET NOT NULL;
-- Keyed by the key alone: an index of the ids would be one more entry per
-- enqueue, and the lookup is found by key, by type or by who enqueued.
ALTER TABLE aol_action_lookup DROP CONSTRAINT aol_action_lookup_pkey;
ALTER TABLE aol_action_lookup ADD CONSTRAINT aol_action_lookup_key PRIMARY KEY (idempotency_key);
ALTER TABLE aol_actions DROP CONSTRAINT aol_actions_idempotency_key_key;

-- The enqueue writes the lookup rows itself, in the statement that writes
-- their actions, taking the ids from the actions' own sequence
-- (aol_actions_id_seq). 0021's insert trigger is gone: a trigger costs a
-- statement of its own, and a single enqueue was ~10 % slower with it
-- (docs/scaling.md). An action written by other means (a seed, a restore)
-- writes its lookup row as well; deletes and updates stay kept by triggers.
DROP TRIGGER aol_action_lookup_insert ON aol_actions;
CREATE OR REPLACE FUNCTION aol_action_lookup_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM aol_action_lookup l USING old_rows o WHERE l.idempotency_key = o.idempotency_key;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION aol_action_lookup_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE aol_action_lookup
    SET idempotency_key = NEW.idempotency_key, action_type = NEW.action_type, enqueued_by = NEW.enqueued_by
    WHERE idempotency_key = OLD.idempotency_key;
    RETURN NULL;
END;
$$;
DROP TRIGGER aol_action_lookup_update ON aol_actions;
CREATE TRIGGER aol_action_lookup_update AFTER UPDATE OF idempotency_key, action_type, enqueued_by ON aol_actions
    FOR EACH ROW EXECUTE FUNCTION aol_action_lookup_change();
