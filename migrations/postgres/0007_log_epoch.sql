-- Which daemon term wrote each log line (NULL: an operator's line, or a line
-- written before this column existed). Audits, and the split-brain test, read
-- it to show that a stale leader wrote nothing after it was superseded.
ALTER TABLE aol_execution_logs ADD COLUMN lease_epoch BIGINT;
