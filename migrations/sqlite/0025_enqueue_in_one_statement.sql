-- PostgreSQL's 0025 chains audit rows in the server, so that its enqueue is
-- one statement. SQLite's one writer has no round trips to save: its
-- statements run in AOL's process.
SELECT 1;
