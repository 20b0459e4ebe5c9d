-- AOL schema, PostgreSQL dialect. Keep in step with migrations/sqlite/0001_init.sql
-- (same file names; tests/migrations.rs checks it). Times are TIMESTAMPTZ, UTC.

-- Exactly one row: the operator's switches.
CREATE TABLE aol_control_flags (
    id              SMALLINT    PRIMARY KEY CHECK (id = 1),
    paused          BOOLEAN     NOT NULL DEFAULT FALSE,
    killed          BOOLEAN     NOT NULL DEFAULT FALSE,
    proof_mode      BOOLEAN     NOT NULL DEFAULT TRUE,
    updated_at_utc  TIMESTAMPTZ NOT NULL,
    updated_by      TEXT        NOT NULL,
    reason          TEXT
);
INSERT INTO aol_control_flags (id, paused, killed, proof_mode, updated_at_utc, updated_by)
VALUES (1, FALSE, FALSE, TRUE, now(), 'migration');

-- Every change of a flag: who, when, from -> to, why.
CREATE TABLE aol_flag_changes (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at_utc  TIMESTAMPTZ NOT NULL,
    changed_by      TEXT        NOT NULL,
    flag            TEXT        NOT NULL CHECK (flag IN ('paused', 'killed', 'proof_mode')),
    old_value       BOOLEAN     NOT NULL,
    new_value       BOOLEAN     NOT NULL,
    reason          TEXT
);

-- One row per daemon tick.
CREATE TABLE aol_tick_ledger (
    id                 BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at_utc     TIMESTAMPTZ NOT NULL,
    finished_at_utc    TIMESTAMPTZ NOT NULL,
    status             TEXT        NOT NULL CHECK (status IN ('SUCCESS', 'PARTIAL', 'FAIL', 'SKIPPED')),
    actions_attempted  BIGINT      NOT NULL DEFAULT 0,
    actions_succeeded  BIGINT      NOT NULL DEFAULT 0,
    notes              TEXT        NOT NULL DEFAULT '',
    daemon_owner       TEXT        NOT NULL,
    lease_epoch        BIGINT
);
CREATE INDEX aol_tick_ledger_started_idx ON aol_tick_ledger (started_at_utc);

-- The single-active-daemon lease. The row outlives a release so that epoch
-- (the fencing token) only ever grows.
CREATE TABLE aol_lease (
    name             TEXT        PRIMARY KEY,
    owner            TEXT        NOT NULL,
    acquired_at_utc  TIMESTAMPTZ NOT NULL,
    renewed_at_utc   TIMESTAMPTZ NOT NULL,
    expires_at_utc   TIMESTAMPTZ NOT NULL,
    epoch            BIGINT      NOT NULL
);

-- The action queue.
CREATE TABLE aol_actions (
    id               BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key  TEXT        NOT NULL UNIQUE,
    action_type      TEXT        NOT NULL,
    payload_json     TEXT        NOT NULL,
    status           TEXT        NOT NULL CHECK (status IN (
                         'PENDING', 'RUNNING', 'SUCCESS', 'RETRY', 'FAILED', 'DLQ', 'CANCELLED',
                         'AWAITING_APPROVAL', 'UNCONFIRMED', 'EXPIRED')),
    attempts         BIGINT      NOT NULL DEFAULT 0,
    not_before_utc   TIMESTAMPTZ NOT NULL,
    last_error       TEXT,
    created_at_utc   TIMESTAMPTZ NOT NULL,
    updated_at_utc   TIMESTAMPTZ NOT NULL,
    lease_epoch      BIGINT
);
-- Claim: due actions in order, only PENDING/RETRY rows are indexed.
CREATE INDEX aol_actions_due_idx ON aol_actions (not_before_utc, id) WHERE status IN ('PENDING', 'RETRY');
-- Dashboard: filter by status, newest first.
CREATE INDEX aol_actions_status_idx ON aol_actions (status, id);

-- At least one row per attempt.
CREATE TABLE aol_execution_logs (
    id               BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action_id        BIGINT      NOT NULL REFERENCES aol_actions (id) ON DELETE CASCADE,
    ts_utc           TIMESTAMPTZ NOT NULL,
    level            TEXT        NOT NULL CHECK (level IN ('INFO', 'WARNING', 'ERROR')),
    message          TEXT        NOT NULL,
    artifact_ref     TEXT,
    artifact_sha256  TEXT
);
CREATE INDEX aol_execution_logs_action_idx ON aol_execution_logs (action_id, id);
