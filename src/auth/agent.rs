//! Agent tokens: one per agent, named, so that an agent can be cut off
//! (`aol token agent-revoke NAME`) without touching the others or the
//! operator. Stored as `aol_secrets` rows named `agent:<NAME>`.

use chrono::{DateTime, Utc};
use thiserror::Error;

use super::{digest, new_token};
use crate::storage::{Db, StoreError};

const PREFIX: &str = "agent:";
const MAX_NAME_CHARS: usize = 64;

/// A stored agent token (its name; the token itself is shown only once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentToken {
    pub name: String,
    pub created_at_utc: DateTime<Utc>,
    /// The only channels it may post to; empty: every channel.
    pub channels: Vec<String>,
}

#[derive(Debug, Error)]
pub enum AgentTokenError {
    #[error("invalid agent name {0:?}: 1 to 64 letters, digits, '-', '_' or '.'")]
    Name(String),
    #[error("an agent token named {0:?} exists already (revoke it first to replace it)")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_name(name: &str) -> Result<(), AgentTokenError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AgentTokenError::Name(name.to_string()))
    }
}

impl AgentToken {
    /// Makes a token for `name`, posting only to `channels` (none: every
    /// channel), and returns it: the only time it is visible.
    pub async fn create(db: &Db, name: &str, channels: &[String]) -> Result<String, AgentTokenError> {
        check_name(name)?;
        let token = new_token();
        let stored =
            db.secret_hash_insert(&format!("{PREFIX}{name}"), &hex::encode(digest(&token)), Utc::now()).await?;
        if !stored {
            return Err(AgentTokenError::Exists(name.to_string()));
        }
        db.agent_channels_set(name, channels).await?;
        Ok(token)
    }

    /// Every agent token, by name.
    pub async fn list(db: &Db) -> Result<Vec<AgentToken>, StoreError> {
        let mut tokens = Vec::new();
        for (name, created_at_utc) in db.secrets_named_like(PREFIX).await? {
            let name = name[PREFIX.len()..].to_string();
            let channels = db.agent_channels(&name).await?;
            tokens.push(AgentToken { name, created_at_utc, channels });
        }
        Ok(tokens)
    }

    /// Removes `name`'s token (and its channels); false if there was none.
    pub async fn revoke(db: &Db, name: &str) -> Result<bool, AgentTokenError> {
        check_name(name)?;
        let gone = db.secret_delete(&format!("{PREFIX}{name}")).await?;
        db.agent_channels_set(name, &[]).await?;
        Ok(gone)
    }

    /// The name of the agent whose token `candidate` is, if any. The lookup is
    /// by hash: a 256-bit random token cannot be guessed by timing it.
    pub async fn identify(db: &Db, candidate: &str) -> Result<Option<String>, StoreError> {
        let name = db.secret_name_by_hash(PREFIX, &hex::encode(digest(candidate))).await?;
        Ok(name.map(|n| n[PREFIX.len()..].to_string()))
    }
}
