-- Issue 22: a PROOF artifact is kept in the log line that names it
-- (artifact_bytes, beside its artifact_sha256), no longer in the content
-- store of uploaded media (aol_blobs). The store is keyed by SHA-256, which
-- arrives in random order: each tick of the drain inserted 1,000 keys
-- scattered over its index (docs/scaling.md). A line is appended in id
-- order, written in the transaction of the result it belongs to, and goes
-- when it goes: no count of the lines naming a file and no trigger are
-- needed any more. Media keep the store (many posts name the same image; an
-- action's media row keeps it).
ALTER TABLE aol_execution_logs ADD COLUMN artifact_bytes BYTEA;
UPDATE aol_execution_logs l SET artifact_bytes = b.bytes
FROM aol_blobs b WHERE b.sha256 = l.artifact_sha256;
DELETE FROM aol_blobs b WHERE b.log_refs > 0
    AND NOT EXISTS (SELECT 1 FROM aol_action_media m WHERE m.sha256 = b.sha256);
DROP TRIGGER aol_execution_logs_unref ON aol_execution_logs;
DROP FUNCTION aol_blobs_unref();
DROP INDEX aol_blobs_unreferenced_idx;
ALTER TABLE aol_blobs DROP COLUMN log_refs;
CREATE INDEX aol_blobs_created_idx ON aol_blobs (created_at_utc);
