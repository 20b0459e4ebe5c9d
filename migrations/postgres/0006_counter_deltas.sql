-- Counters as deltas (PostgreSQL). Updating one counter row per status in
-- place made every transaction that changed an action's status hold that row
-- until it committed: concurrent attempts queued behind each other's commits,
-- and two transactions could lock the same two rows in opposite orders
-- (a deadlock). Now each statement appends its changes as new rows, which
-- nobody waits for; a value is the SUM of its rows, and the engine folds the
-- rows of each name back into one every second (storage::counters).
-- SQLite runs one writer at a time and keeps updating in place (its 0006 is empty).
ALTER TABLE aol_counters DROP CONSTRAINT aol_counters_pkey;
CREATE INDEX aol_counters_name_idx ON aol_counters (name);

CREATE OR REPLACE FUNCTION aol_actions_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO aol_counters (name, value)
        SELECT 'actions:' || status, COUNT(*) FROM new_rows GROUP BY status;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO aol_counters (name, value)
        SELECT 'actions:' || status, -COUNT(*) FROM old_rows GROUP BY status;
    ELSE
        INSERT INTO aol_counters (name, value)
        SELECT name, SUM(n) FROM (
            SELECT 'actions:' || n.status AS name, 1 AS n
            FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.status <> n.status
            UNION ALL
            SELECT 'actions:' || o.status, -1
            FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.status <> n.status
        ) changes GROUP BY name;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION aol_tick_ledger_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO aol_counters (name, value) SELECT 'tick_ledger', COUNT(*) FROM new_rows;
    ELSE
        INSERT INTO aol_counters (name, value) SELECT 'tick_ledger', -COUNT(*) FROM old_rows;
    END IF;
    RETURN NULL;
END;
$$;
