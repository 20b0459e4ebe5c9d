-- AOL schema, SQLite dialect. Keep in step with migrations/postgres/0001_init.sql
-- (same file names; tests/migrations.rs checks it).
-- Times are UTC, stored as RFC 3339 text written by the application
-- (never datetime('now'), whose format differs), so text order = time order.

-- Exactly one row: the operator's switches.
CREATE TABLE aol_control_flags (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    paused          INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    killed          INTEGER NOT NULL DEFAULT 0 CHECK (killed IN (0, 1)),
    proof_mode      INTEGER NOT NULL DEFAULT 1 CHECK (proof_mode IN (0, 1)),
    updated_at_utc  TEXT    NOT NULL,
    updated_by      TEXT    NOT NULL,
    reason          TEXT
);
INSERT INTO aol_control_flags (id, paused, killed, proof_mode, updated_at_utc, updated_by)
VALUES (1, 0, 0, 1, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 'migration');

-- Every change of a flag: who, when, from -> to, why.
CREATE TABLE aol_flag_changes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    changed_at_utc  TEXT    NOT NULL,
    changed_by      TEXT    NOT NULL,
    flag            TEXT    NOT NULL CHECK (flag IN ('paused', 'killed', 'proof_mode')),
    old_value       INTEGER NOT NULL CHECK (old_value IN (0, 1)),
    new_value       INTEGER NOT NULL CHECK (new_value IN (0, 1)),
    reason          TEXT
);

-- One row per daemon tick.
CREATE TABLE aol_tick_ledger (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at_utc     TEXT    NOT NULL,
    finished_at_utc    TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('SUCCESS', 'PARTIAL', 'FAIL', 'SKIPPED')),
    actions_attempted  INTEGER NOT NULL DEFAULT 0,
    actions_succeeded  INTEGER NOT NULL DEFAULT 0,
    notes              TEXT    NOT NULL DEFAULT '',
    daemon_owner       TEXT    NOT NULL,
    lease_epoch        INTEGER
);
CREATE INDEX aol_tick_ledger_started_idx ON aol_tick_ledger (started_at_utc);

-- The single-active-daemon lease. The row outlives a release so that epoch
-- (the fencing token) only ever grows.
CREATE TABLE aol_lease (
    name             TEXT    PRIMARY KEY,
    owner            TEXT    NOT NULL,
    acquired_at_utc  TEXT    NOT NULL,
    renewed_at_utc   TEXT    NOT NULL,
    expires_at_utc   TEXT    NOT NULL,
    epoch            INTEGER NOT NULL
);

-- The action queue.
CREATE TABLE aol_actions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key  TEXT    NOT NULL UNIQUE,
    action_type      TEXT    NOT NULL,
    payload_json     TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN (
                         'PENDING', 'RUNNING', 'SUCCESS', 'RETRY', 'FAILED', 'DLQ', 'CANCELLED',
                         'AWAITING_APPROVAL', 'UNCONFIRMED', 'EXPIRED')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    not_before_utc   TEXT    NOT NULL,
    last_error       TEXT,
    created_at_utc   TEXT    NOT NULL,
    updated_at_utc   TEXT    NOT NULL,
    lease_epoch      INTEGER
);
-- Claim: due actions in order, only PENDING/RETRY rows are indexed.
CREATE INDEX aol_actions_due_idx ON aol_actions (not_before_utc, id) WHERE status IN ('PENDING', 'RETRY');
-- Dashboard: filter by status, newest first.
CREATE INDEX aol_actions_status_idx ON aol_actions (status, id);

-- At least one row per attempt.
CREATE TABLE aol_execution_logs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id        INTEGER NOT NULL REFERENCES aol_actions (id) ON DELETE CASCADE,
    ts_utc           TEXT    NOT NULL,
    level            TEXT    NOT NULL CHECK (level IN ('INFO', 'WARNING', 'ERROR')),
    message          TEXT    NOT NULL,
    artifact_ref     TEXT,
    artifact_sha256  TEXT
);
CREATE INDEX aol_execution_logs_action_idx ON aol_execution_logs (action_id, id);
