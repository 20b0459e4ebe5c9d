-- Issue 22: an action's type and who enqueued it never change after its
-- enqueue, and are indexed here rather than on aol_actions. Each status
-- change of an action is an update PostgreSQL cannot make HOT (status is
-- indexed), and such an update writes a new entry into every index of the
-- table, whether its columns changed or not: the drain changes each post's
-- status twice, and these two indexes alone cost it ~10 % (docs/scaling.md).
-- The triggers below keep this table whole through every insert and delete
-- of actions, and through an update of either column (no code makes one).
-- The columns stay on aol_actions, which is what reads them.
CREATE TABLE aol_action_lookup (
    action_id    BIGINT PRIMARY KEY,
    action_type  TEXT   NOT NULL,
    enqueued_by  TEXT
);
INSERT INTO aol_action_lookup (action_id, action_type, enqueued_by)
SELECT id, action_type, enqueued_by FROM aol_actions;
CREATE INDEX aol_action_lookup_type_idx ON aol_action_lookup (action_type, action_id);
CREATE INDEX aol_action_lookup_enqueued_by_idx ON aol_action_lookup (enqueued_by, action_id);
DROP INDEX aol_actions_type_idx;
DROP INDEX aol_actions_enqueued_by_idx;

-- One statement of the lookup per statement of actions (transition tables).
CREATE FUNCTION aol_action_lookup_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO aol_action_lookup (action_id, action_type, enqueued_by)
        SELECT id, action_type, enqueued_by FROM new_rows;
    ELSE
        DELETE FROM aol_action_lookup l USING old_rows o WHERE l.action_id = o.id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER aol_action_lookup_insert AFTER INSERT ON aol_actions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_action_lookup_keep();
CREATE TRIGGER aol_action_lookup_delete AFTER DELETE ON aol_actions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_action_lookup_keep();

-- Fires only for an update that names either column (none does today).
CREATE FUNCTION aol_action_lookup_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE aol_action_lookup SET action_type = NEW.action_type, enqueued_by = NEW.enqueued_by
    WHERE action_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER aol_action_lookup_update AFTER UPDATE OF action_type, enqueued_by ON aol_actions
    FOR EACH ROW EXECUTE FUNCTION aol_action_lookup_change();
