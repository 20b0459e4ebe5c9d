-- Issue 22: a stored file counts the log lines that name it as their
-- artifact (log_refs), instead of the prune asking an index of the lines by
-- SHA-256. SHA-256s arrive in random order, so that index took 1,000 inserts
-- scattered over its pages per tick of the drain: ~9 % of SQLite's drain
-- (alternating runs, docs/scaling.md), more as the history grows. The count
-- is kept where lines come and go: the artifacts' insert adds the lines it
-- stores a file for (insert_artifacts!), the trigger below takes away every
-- line deleted (retention, or its action's cascade). Log lines are never
-- updated. Files that no line names are indexed by age for the prune.
ALTER TABLE aol_blobs ADD COLUMN log_refs INTEGER NOT NULL DEFAULT 0;
UPDATE aol_blobs SET log_refs =
    (SELECT COUNT(*) FROM aol_execution_logs l WHERE l.artifact_sha256 = aol_blobs.sha256);
DROP INDEX aol_execution_logs_artifact_idx;
DROP INDEX aol_blobs_created_idx;
CREATE INDEX aol_blobs_unreferenced_idx ON aol_blobs (created_at_utc) WHERE log_refs = 0;
CREATE TRIGGER aol_execution_logs_unref AFTER DELETE ON aol_execution_logs
WHEN OLD.artifact_sha256 IS NOT NULL BEGIN
    UPDATE aol_blobs SET log_refs = MAX(log_refs - 1, 0) WHERE sha256 = OLD.artifact_sha256;
END;
