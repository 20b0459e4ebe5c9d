-- Issue 22: a log line's action is no longer checked by a foreign key.
-- Every line is written in the transaction that changed its action (the
-- attempt's result, a rescue, an operator's change: each updates the
-- action's row first and writes its line only when that update found it),
-- so the check found nothing new; but it cost each line a lookup and a
-- FOR KEY SHARE lock on an action row the transaction had just updated,
-- which PostgreSQL writes to the row and to the WAL: 2.0-2.3 ms of a
-- 9-10 ms statement writing 500 results (auto_explain, the drain of
-- 20,000 PROOF posts). The cascade the key gave (an action's lines go with
-- it) is kept by the trigger below; the ids are looked up through the
-- lines' action index (as an array: a join with the transition table,
-- which has no statistics, may read every line).
ALTER TABLE aol_execution_logs DROP CONSTRAINT aol_execution_logs_action_id_fkey;

CREATE FUNCTION aol_action_logs_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM aol_execution_logs WHERE action_id = ANY(ARRAY(SELECT id FROM old_rows));
    RETURN NULL;
END;
$$;
CREATE TRIGGER aol_action_logs_delete AFTER DELETE ON aol_actions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_action_logs_delete();
