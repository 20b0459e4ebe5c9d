-- Issue 22: an enqueue call's new actions share one `enqueued` audit row
-- (docs/audit.md). One row per action was a third of PostgreSQL's work on
-- an HTTP batch of 100 (a heap row, two index entries and a step of the
-- chain each; docs/scaling.md, stop 59). A call that adds one action keeps
-- the row it had; a call that adds more writes one row that names them all,
-- whose action_id is the first of them, and each of them points at it here.
-- Null: the action has an `enqueued` row of its own.
ALTER TABLE aol_actions ADD COLUMN enqueued_with BIGINT;

-- The end of an enqueue's statement (storage::enqueue::one_statement):
-- p_ids are the new actions' ids, one per item in order, and p_written
-- the rows its inserts wrote (two per item). p_sizes are the calls' item
-- counts, in order; per call, p_actors its enqueuer and p_datas its
-- `enqueued` data: the item's for a call of one, else the items', joined
-- with commas, which are wrapped here with the ids (storage::enqueue::
-- call_data writes the same text). Appends each call's row and answers
-- the ids. With p_late_flush the transaction commits without waiting for
-- the disk (storage::durable: AOL waits for it afterwards).
DROP FUNCTION aol_enqueued(BIGINT[], BIGINT, TEXT, TEXT[], TEXT[], TEXT[], BOOLEAN);
CREATE FUNCTION aol_enqueued(p_ids BIGINT[], p_written BIGINT, p_at TEXT, p_sizes INT[], p_actors TEXT[],
                             p_datas TEXT[], p_late_flush BOOLEAN)
RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
    calls   INT := cardinality(p_sizes);
    firsts  BIGINT[] := array_fill(NULL::BIGINT, ARRAY[calls]);
    datas   TEXT[] := array_fill(NULL::TEXT, ARRAY[calls]);
    pos     INT := 1;
BEGIN
    IF p_written <> 2 * cardinality(p_ids) OR cardinality(p_actors) <> calls OR cardinality(p_datas) <> calls
       OR (SELECT sum(s) FROM unnest(p_sizes) AS s) <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'an enqueue wrote % rows for % ids in % calls', p_written, cardinality(p_ids), calls;
    END IF;
    IF p_late_flush THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    FOR c IN 1..calls LOOP
        firsts[c] := p_ids[pos];
        IF p_sizes[c] = 1 THEN
            datas[c] := p_datas[c];
        ELSE
            datas[c] := '{"actions":[' || p_datas[c] || '],"ids":['
                || array_to_string(p_ids[pos:pos + p_sizes[c] - 1], ',') || ']}';
        END IF;
        pos := pos + p_sizes[c];
    END LOOP;
    PERFORM aol_audit_append(p_at, p_actors, firsts, array_fill('enqueued'::TEXT, ARRAY[calls]), datas);
    RETURN p_ids;
END;
$$;
