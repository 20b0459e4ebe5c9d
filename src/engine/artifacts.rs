//! Re-checking PROOF artifacts: the file on disk against the SHA-256 logged
//! when it was written, so the operator sees whether what would have been
//! posted is still exactly what the log says.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::Engine;
use crate::model::{ActionDetail, ArtifactCheck, ArtifactState};
use crate::storage::StoreError;

/// How much of an artifact the page shows.
const PREVIEW_BYTES: usize = 4096;

/// Reads `path` (only inside `allowed_dir`) and compares its SHA-256 with `logged`.
pub async fn check(path: &str, logged: &str, allowed_dir: Option<&Path>) -> ArtifactCheck {
    let state_and_preview = match allowed_dir {
        Some(dir) if Path::new(path).starts_with(dir) => match tokio::fs::read(path).await {
            Ok(bytes) => {
                let actual = hex::encode(Sha256::digest(&bytes));
                let preview = String::from_utf8_lossy(&bytes[..bytes.len().min(PREVIEW_BYTES)]).into_owned();
                let state = if actual == logged {
                    ArtifactState::Verified
                } else {
                    ArtifactState::Changed { actual_sha256: actual }
                };
                (state, Some(preview))
            }
            Err(_) => (ArtifactState::Missing, None),
        },
        _ => (ArtifactState::Elsewhere, None),
    };
    let (state, preview) = state_and_preview;
    ArtifactCheck { path: path.to_string(), logged_sha256: logged.to_string(), state, preview }
}

impl Engine {
    /// An action with its logs and its newest artifact, checked now.
    pub async fn action_detail(&self, id: i64) -> Result<Option<ActionDetail>, StoreError> {
        let Some(action) = self.db().action_get(id).await? else { return Ok(None) };
        let logs = self.db().logs_for_action(id).await?;
        let newest = logs.iter().rev().find_map(|l| Some((l.artifact_ref.as_deref()?, l.artifact_sha256.as_deref()?)));
        let artifact = match newest {
            Some((path, sha)) => Some(check(path, sha, self.adapters().artifact_dir()).await),
            None => None,
        };
        let approvals = self.db().approvals_for(id).await?;
        let to_send = matches!(action.status.as_str(), "PENDING" | "RETRY" | "AWAITING_APPROVAL");
        let (request, request_problem) = match (to_send, &action.channel) {
            (true, Some(_)) => match self.request_of(&action).await {
                Ok(prepared) => (Some(super::approval::preview(prepared)), None),
                Err(why) => (None, Some(why)),
            },
            _ => (None, None),
        };
        let post = self.post_view(&action).await?;
        Ok(Some(ActionDetail { action, logs, artifact, approvals, request, request_problem, post }))
    }
}
