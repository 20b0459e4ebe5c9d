//! POST_SOCIAL: a post to a social account. PROOF writes the post that would be
//! made to a file; REAL has no platform configured yet and refuses.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{Adapter, AdapterError, Artifact, Done, Job};

pub const POST_SOCIAL: &str = "POST_SOCIAL";

/// Longest text accepted at enqueue, in characters (platform limits come with channels).
const MAX_TEXT_CHARS: usize = 10_000;

pub struct PostSocial {
    artifact_dir: PathBuf,
}

impl PostSocial {
    pub fn new(artifact_dir: PathBuf) -> PostSocial {
        PostSocial { artifact_dir }
    }

    /// `ARTIFACT_DIR/proof_social/<key, made file-safe>-<hash of key>.json`: the
    /// same key always names the same file, and different keys never share one.
    pub fn artifact_path(&self, idempotency_key: &str) -> PathBuf {
        let safe: String = idempotency_key
            .chars()
            .take(64)
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        let hash = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
        self.artifact_dir.join("proof_social").join(format!("{safe}-{}.json", &hash[..16]))
    }
}

#[async_trait]
impl Adapter for PostSocial {
    fn action_type(&self) -> &'static str {
        POST_SOCIAL
    }

    fn validate(&self, payload: &Map<String, Value>) -> Result<(), String> {
        let text = match payload.get("text") {
            Some(Value::String(text)) => text,
            Some(_) => return Err("\"text\" must be a string".into()),
            None => return Err("POST_SOCIAL needs a \"text\" field".into()),
        };
        if text.trim().is_empty() {
            return Err("\"text\" is empty".into());
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("\"text\" is longer than {MAX_TEXT_CHARS} characters"));
        }
        match payload.get("channel") {
            None | Some(Value::String(_)) => Ok(()),
            Some(_) => Err("\"channel\" must be a string".into()),
        }
    }

    async fn execute(&self, job: &Job<'_>) -> Result<Done, AdapterError> {
        self.validate(job.payload).map_err(AdapterError::Permanent)?;
        if !job.proof_mode {
            return Err(AdapterError::Permanent(
                "real run unconfigured: no social account is configured for REAL mode, nothing was posted".into(),
            ));
        }
        // Deterministic bytes: a re-run of the same action rewrites the same file.
        let record = json!({
            "mode": "PROOF",
            "action_type": POST_SOCIAL,
            "idempotency_key": job.action.idempotency_key,
            "would_post": {
                "channel": job.payload.get("channel"),
                "text": job.payload.get("text"),
            },
        });
        let mut bytes = serde_json::to_vec_pretty(&record).expect("JSON values serialise");
        bytes.push(b'\n');
        let path = self.artifact_path(&job.action.idempotency_key);
        write_atomically(&path, &bytes)
            .await
            .map_err(|e| AdapterError::Transient(format!("cannot write the PROOF artifact {}: {e}", path.display())))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Ok(Done {
            message: format!("PROOF: wrote what would be posted ({} bytes) to the artifact", bytes.len()),
            artifact: Some(Artifact { path: path.display().to_string(), sha256 }),
        })
    }
}

/// Writes via a temporary file and a rename, so a reader never sees half a file.
async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("artifact paths have a parent");
    tokio::fs::create_dir_all(dir).await?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}
