-- PostgreSQL's 0008 makes its statement-level counter trigger linear in the
-- rows changed. SQLite's counters are row-level triggers: nothing changes here.
SELECT 1;
