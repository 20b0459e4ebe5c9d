-- PostgreSQL's 0024 replaces the log lines' foreign key with a trigger that
-- deletes an action's lines with it: its check cost each line a row lock
-- written to the WAL. SQLite's check locks nothing: its key stays.
SELECT 1;
