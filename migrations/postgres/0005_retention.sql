-- Retention (see src/engine/retention.rs). Keep in step with migrations/sqlite/0005_retention.sql.

-- Keys of actions removed by retention: a key is never used twice, even after
-- its action is gone, so an old post can never be posted again.
CREATE TABLE aol_retired_keys (
    idempotency_key  TEXT    PRIMARY KEY,
    action_id        BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    finished_at_utc  TIMESTAMPTZ NOT NULL,
    retired_at_utc   TIMESTAMPTZ NOT NULL
);

-- Finding the oldest rows of a kind without a scan.
CREATE INDEX aol_actions_status_updated_idx ON aol_actions (status, updated_at_utc);
CREATE INDEX aol_execution_logs_ts_idx ON aol_execution_logs (ts_utc);
CREATE INDEX aol_tick_ledger_status_started_idx ON aol_tick_ledger (status, started_at_utc);
