-- Issue 22: PROOF artifacts live in the content store (aol_blobs, named by
-- the SHA-256 of their bytes), written in the same transaction as the
-- SUCCESS they prove, so a crash or power loss never leaves one without the
-- other. Their log line names them: artifact_ref 'sha256:<hex>' (lines from
-- before this migration keep the path of the file they wrote). A stored file
-- is kept while an action's media or a log line refers to it; this index
-- lets the prune ask the second cheaply.
CREATE INDEX aol_execution_logs_artifact_idx ON aol_execution_logs (artifact_sha256)
    WHERE artifact_sha256 IS NOT NULL;
