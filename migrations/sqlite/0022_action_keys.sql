-- PostgreSQL's 0022 moves the idempotency key's uniqueness into its lookup
-- table (see 0021): SQLite keeps its constraint, nothing changes here.
SELECT 1;
