-- The flags row counts its changes. A process keeps the flags it last read
-- (engine::flags) and reads them from several tasks at once; a read that
-- started before a change could land after a read that saw it, and undo it
-- in that view until the next read: a switch to PROOF undone for a moment
-- could let an attempt post for real. With the count, a view takes only
-- flags at least as new as those it holds.
ALTER TABLE aol_control_flags ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
