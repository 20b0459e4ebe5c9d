-- PostgreSQL's 0020 makes its claim read due actions through their index
-- whatever its statistics say. SQLite's claim names the index itself
-- (INDEXED BY aol_actions_due_idx): nothing changes here.
SELECT 1;
