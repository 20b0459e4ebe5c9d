-- The flags row counts its changes (see PostgreSQL's 0028): a process's
-- view of the flags takes only flags at least as new as those it holds.
ALTER TABLE aol_control_flags ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
