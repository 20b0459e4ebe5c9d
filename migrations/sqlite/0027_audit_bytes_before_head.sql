-- PostgreSQL's 0027 changes its own function of 0025: SQLite's appends are
-- chained by AOL, which already builds each row's bytes before it takes
-- the head (storage::audit::append_audit).
SELECT 1;
