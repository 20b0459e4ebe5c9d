-- PostgreSQL's 0006 turns counter updates into appended deltas so concurrent
-- transactions do not wait on one row. SQLite runs one writer at a time, so
-- its counters keep being updated in place: nothing changes here.
SELECT 1;
