-- An enqueue call's new actions share one `enqueued` audit row (see
-- PostgreSQL's 0029): each action of a call that added more than one
-- points at the first of them, whose id that row names. Null: the action
-- has an `enqueued` row of its own.
ALTER TABLE aol_actions ADD COLUMN enqueued_with INTEGER;
