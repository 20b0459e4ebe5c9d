-- PostgreSQL's 0023 keeps retired keys in its lookup table (see its 0021):
-- SQLite has no such table and checks retired keys under its one write lock,
-- nothing changes here.
SELECT 1;
