-- Issue 20: the audit trail, and decisions that outlive their actions.

-- One row per event, append-only. Each row's hash is SHA-256 of the previous
-- row's hash and this row's canonical bytes (docs/audit.md), so a row changed,
-- removed or slipped in shows at that row. Times are text as hashed.
CREATE TABLE aol_audit (
    id         INTEGER PRIMARY KEY,
    at_utc     TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    action_id  INTEGER,
    event      TEXT    NOT NULL,
    data_json  TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
CREATE INDEX aol_audit_action_idx ON aol_audit (action_id, id);

-- The chain's end: every append updates this one row first, so appends are
-- taken one at a time by every writer, in every process. It also keeps the
-- last check of the whole chain (when, and what it found).
CREATE TABLE aol_audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT    NOT NULL,
    checked_at_utc  TEXT,
    checked_verdict TEXT
);
INSERT INTO aol_audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Approvals stay when retention removes their action ("who allowed this
-- post?" keeps an answer): the table without its cascading reference.
CREATE TABLE aol_approvals_next (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id        INTEGER NOT NULL,
    decision         TEXT    NOT NULL CHECK (decision IN ('approved', 'rejected')),
    prepared_sha256  TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    decided_by       TEXT    NOT NULL,
    reason           TEXT,
    decided_at_utc   TEXT    NOT NULL,
    expires_at_utc   TEXT    NOT NULL,
    used_at_utc      TEXT,
    voided_at_utc    TEXT
);
INSERT INTO aol_approvals_next SELECT id, action_id, decision, prepared_sha256, channel, decided_by, reason,
    decided_at_utc, expires_at_utc, used_at_utc, voided_at_utc FROM aol_approvals;
DROP TABLE aol_approvals;
ALTER TABLE aol_approvals_next RENAME TO aol_approvals;
CREATE INDEX aol_approvals_action_idx ON aol_approvals (action_id, id);
