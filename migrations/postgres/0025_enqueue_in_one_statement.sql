-- Issue 22: PostgreSQL chains audit rows in the server, so that an enqueue
-- group is one statement that commits as it ends. Every append holds the
-- chain's head (aol_audit_head) from the moment it takes it to its commit;
-- taken from AOL, that span held three round trips to AOL (the head's
-- hash, the rows, the commit), and on a busy machine each one waited for
-- AOL's thread to be scheduled: 2.7 ms a group of ~130 HTTP-batched
-- actions, two thirds of it waiting for AOL (the statement log, 745
-- groups; docs/scaling.md). The chain is docs/audit.md's, and the checks
-- (aol audit verify, tests/audit_verify.py) recompute it as before.

-- Appends one audit row per element (all at p_at), in order, after the
-- chain's end; the arrays are as long as each other. A row's canonical
-- bytes are its fields as netstrings (docs/audit.md; storage::audit).
CREATE FUNCTION aol_audit_append(p_at TEXT, p_actors TEXT[], p_action_ids BIGINT[], p_events TEXT[], p_datas TEXT[])
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    n       INT  := cardinality(p_actors);
    at_ns   TEXT := octet_length(p_at) || ':' || p_at || ',';
    seq0    BIGINT;
    head    TEXT;
    prevs   TEXT[] := '{}';
    hashes  TEXT[] := '{}';
    i       INT := 0;
    id_text TEXT;
    action  TEXT;
    r       RECORD;
BEGIN
    SELECT seq, hash INTO seq0, head FROM aol_audit_head WHERE id = 1 FOR UPDATE;
    FOR r IN SELECT * FROM unnest(p_actors, p_action_ids, p_events, p_datas) AS v(actor, action_id, event, data) LOOP
        i := i + 1;
        prevs[i] := head;
        id_text := (seq0 + i)::text;
        action := coalesce(r.action_id::text, '');
        head := encode(sha256(convert_to(head
            || length(id_text) || ':' || id_text || ',' || at_ns
            || octet_length(r.actor) || ':' || r.actor || ','
            || length(action) || ':' || action || ','
            || octet_length(r.event) || ':' || r.event || ','
            || octet_length(r.data) || ':' || r.data || ',', 'UTF8')), 'hex');
        hashes[i] := head;
    END LOOP;
    INSERT INTO aol_audit (id, at_utc, actor, action_id, event, data_json, prev_hash, hash)
    SELECT seq0 + v.o, p_at, v.actor, v.action_id, v.event, v.data, v.prev, v.hash
    FROM unnest(p_actors, p_action_ids, p_events, p_datas, prevs, hashes) WITH ORDINALITY
        AS v(actor, action_id, event, data, prev, hash, o);
    UPDATE aol_audit_head SET seq = seq0 + n, hash = head WHERE id = 1;
END;
$$;

-- The end of an enqueue's statement (storage::enqueue::one_statement):
-- p_ids are the new actions' ids, one per item in order, and p_written
-- the rows its inserts wrote (two per item). Appends each item's event
-- (p_events, as AOL names them) and answers the ids. With p_late_flush the
-- transaction commits without waiting for the disk (storage::durable: AOL
-- waits for it afterwards).
CREATE FUNCTION aol_enqueued(p_ids BIGINT[], p_written BIGINT, p_at TEXT, p_actors TEXT[], p_events TEXT[],
                             p_datas TEXT[], p_late_flush BOOLEAN)
RETURNS BIGINT[] LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(p_ids) <> cardinality(p_actors) OR p_written <> 2 * cardinality(p_ids) THEN
        RAISE EXCEPTION 'an enqueue wrote % rows for % ids and % events',
            p_written, cardinality(p_ids), cardinality(p_actors);
    END IF;
    IF p_late_flush THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    PERFORM aol_audit_append(p_at, p_actors, p_ids, p_events, p_datas);
    RETURN p_ids;
END;
$$;
