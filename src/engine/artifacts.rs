//! PROOF artifacts, as the action page, `aol artifact` and the API read them:
//! from the log line that names them, written with the SUCCESS they prove,
//! re-checked against the SHA-256 that line recorded.

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::{Actor, Engine};
use crate::model::{ActionDetail, ArtifactCheck, ArtifactState, ExecutionLog};
use crate::storage::{StoreError, ARTIFACT_REF_PREFIX};

/// How much of an artifact the page shows.
const PREVIEW_BYTES: usize = 4096;

/// An action's artifact with its bytes, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredArtifact {
    pub check: ArtifactCheck,
    /// `None` when the check found none to give (missing, or an old file).
    pub bytes: Option<Vec<u8>>,
}

/// Why an action's artifact cannot be given.
#[derive(Debug, Error)]
pub enum ArtifactError {
    #[error("no action with id {0}")]
    NoAction(i64),
    #[error("action #{0} has no PROOF artifact (only PROOF successes make one)")]
    NoArtifact(i64),
    /// Found, but not as logged (changed, missing, or an old file).
    #[error("action #{id}'s artifact {reference}: {problem}")]
    NotAsLogged { id: i64, reference: String, problem: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// The bytes of action `id`'s newest artifact, if `actor` may see the
    /// action, exactly as logged (their SHA-256 checked now), and that SHA-256.
    pub async fn artifact_for(&self, actor: &Actor, id: i64) -> Result<(Vec<u8>, String), ArtifactError> {
        if self.action_for(actor, id).await?.is_none() {
            return Err(ArtifactError::NoAction(id));
        }
        let stored = self.artifact_of(id).await?.ok_or(ArtifactError::NoArtifact(id))?;
        let problem = match (&stored.check.state, stored.bytes) {
            (ArtifactState::Verified, Some(bytes)) => return Ok((bytes, stored.check.logged_sha256)),
            (ArtifactState::Changed { .. }, _) => "the stored bytes are not the ones logged",
            (ArtifactState::Elsewhere, _) => "written to a file before artifacts moved into the database",
            _ => "not in the store",
        };
        Err(ArtifactError::NotAsLogged { id, reference: stored.check.reference, problem })
    }

    /// The newest artifact among `logs` (one action's), read from its line
    /// and checked; `None` if no line names one.
    async fn newest_artifact(&self, logs: &[ExecutionLog]) -> Result<Option<StoredArtifact>, StoreError> {
        let newest =
            logs.iter().rev().find_map(|l| Some((l.id, l.artifact_ref.as_deref()?, l.artifact_sha256.as_deref()?)));
        let Some((line, reference, logged)) = newest else { return Ok(None) };
        let check = |state, preview| ArtifactCheck {
            reference: reference.to_string(),
            logged_sha256: logged.to_string(),
            state,
            preview,
        };
        if !reference.starts_with(ARTIFACT_REF_PREFIX) {
            // A file written before artifacts moved into the database: this
            // server does not read files.
            return Ok(Some(StoredArtifact { check: check(ArtifactState::Elsewhere, None), bytes: None }));
        }
        let found = match self.db().artifact_bytes(line).await? {
            None => StoredArtifact { check: check(ArtifactState::Missing, None), bytes: None },
            Some(bytes) => {
                let actual = hex::encode(Sha256::digest(&bytes));
                let state = if actual == logged {
                    ArtifactState::Verified
                } else {
                    ArtifactState::Changed { actual_sha256: actual }
                };
                let preview = String::from_utf8_lossy(&bytes[..bytes.len().min(PREVIEW_BYTES)]).into_owned();
                StoredArtifact { check: check(state, Some(preview)), bytes: Some(bytes) }
            }
        };
        Ok(Some(found))
    }

    /// The newest artifact of action `id`, with its bytes, checked now.
    pub async fn artifact_of(&self, id: i64) -> Result<Option<StoredArtifact>, StoreError> {
        let logs = self.db().logs_for_action(id).await?;
        self.newest_artifact(&logs).await
    }

    /// An action with its logs and its newest artifact, checked now.
    pub async fn action_detail(&self, id: i64) -> Result<Option<ActionDetail>, StoreError> {
        let Some(action) = self.db().action_get(id).await? else { return Ok(None) };
        let logs = self.db().logs_for_action(id).await?;
        let artifact = self.newest_artifact(&logs).await?.map(|a| a.check);
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
