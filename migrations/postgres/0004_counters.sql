-- Counts the dashboard shows, kept up to date by triggers, so reading them
-- costs the same at a million rows as at ten (COUNT(*) would scan).
-- Names: 'actions:<STATUS>' (queue depth per status) and 'tick_ledger'.
CREATE TABLE aol_counters (
    name   TEXT   PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO aol_counters (name, value)
SELECT 'actions:' || s.status, (SELECT COUNT(*) FROM aol_actions a WHERE a.status = s.status)
FROM unnest(ARRAY['PENDING', 'RUNNING', 'SUCCESS', 'RETRY', 'FAILED', 'DLQ', 'CANCELLED',
                  'AWAITING_APPROVAL', 'UNCONFIRMED', 'EXPIRED']) AS s(status);
INSERT INTO aol_counters (name, value) SELECT 'tick_ledger', COUNT(*) FROM aol_tick_ledger;

-- Statement-level triggers with transition tables: one counter update per
-- statement and status, however many rows it touched (a per-row trigger would
-- update the same counter row once per row, which PostgreSQL makes quadratic
-- inside one transaction).
CREATE FUNCTION aol_actions_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE aol_counters c SET value = c.value + d.n
        FROM (SELECT 'actions:' || status AS name, COUNT(*) AS n FROM new_rows GROUP BY status) d
        WHERE c.name = d.name;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE aol_counters c SET value = c.value - d.n
        FROM (SELECT 'actions:' || status AS name, COUNT(*) AS n FROM old_rows GROUP BY status) d
        WHERE c.name = d.name;
    ELSE
        UPDATE aol_counters c SET value = c.value + d.n
        FROM (
            SELECT name, SUM(n) AS n FROM (
                SELECT 'actions:' || n.status AS name, 1 AS n
                FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.status <> n.status
                UNION ALL
                SELECT 'actions:' || o.status, -1
                FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.status <> n.status
            ) changes GROUP BY name
        ) d
        WHERE c.name = d.name;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER aol_actions_count_insert AFTER INSERT ON aol_actions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_actions_count();
CREATE TRIGGER aol_actions_count_update AFTER UPDATE ON aol_actions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_actions_count();
CREATE TRIGGER aol_actions_count_delete AFTER DELETE ON aol_actions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_actions_count();

CREATE FUNCTION aol_tick_ledger_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE aol_counters SET value = value + (SELECT COUNT(*) FROM new_rows) WHERE name = 'tick_ledger';
    ELSE
        UPDATE aol_counters SET value = value - (SELECT COUNT(*) FROM old_rows) WHERE name = 'tick_ledger';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER aol_tick_ledger_count_insert AFTER INSERT ON aol_tick_ledger
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_tick_ledger_count();
CREATE TRIGGER aol_tick_ledger_count_delete AFTER DELETE ON aol_tick_ledger
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aol_tick_ledger_count();
