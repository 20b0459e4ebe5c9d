//! The operator token: what allows a change (a flag, a re-queue, an enqueue
//! from the dashboard). A token set in AOL_OPERATOR_TOKEN wins, otherwise one
//! is generated at first start, printed once, and its hash stored in
//! `aol_secrets` so every server shares it.

use subtle::ConstantTimeEq;

use super::{digest, new_token};
use crate::storage::{Db, StoreError};

/// The `aol_secrets` row of the generated token.
const SECRET_NAME: &str = "operator_token";

/// Checks candidate tokens against the one valid token.
#[derive(Clone)]
pub struct OperatorAuth {
    sha256: [u8; 32],
    /// The dashboard's wrong sign-ins (shared by every clone).
    sign_ins: std::sync::Arc<super::SignInLimit>,
}

impl std::fmt::Debug for OperatorAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorAuth(<redacted>)")
    }
}

/// Where the valid token came from, as start-up reports it.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenOrigin {
    /// AOL_OPERATOR_TOKEN / --operator-token.
    Configured,
    /// Made now, at the first start: the only time it can be shown.
    Generated(String),
    /// Generated at an earlier start.
    Stored,
}

impl OperatorAuth {
    pub fn from_token(token: &str) -> OperatorAuth {
        OperatorAuth { sha256: digest(token), sign_ins: Default::default() }
    }

    /// The limit on the dashboard's wrong sign-ins.
    pub fn sign_ins(&self) -> &super::SignInLimit {
        &self.sign_ins
    }

    /// True when `candidate` is the operator token (constant-time).
    pub fn verify(&self, candidate: &str) -> bool {
        digest(candidate).ct_eq(&self.sha256).into()
    }

    /// The SHA-256 of the valid token.
    pub(super) fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// The valid token at start-up: the configured one, else the stored one,
    /// else a new one (stored; a concurrent first start of another server wins
    /// the race and this one uses its token instead).
    pub async fn resolve(db: &Db, configured: Option<&str>) -> Result<(OperatorAuth, TokenOrigin), StoreError> {
        if let Some(token) = configured {
            return Ok((OperatorAuth::from_token(token), TokenOrigin::Configured));
        }
        if let Some(auth) = Self::stored(db).await? {
            return Ok((auth, TokenOrigin::Stored));
        }
        let token = new_token();
        let hash = hex::encode(digest(&token));
        if db.secret_hash_insert(SECRET_NAME, &hash, chrono::Utc::now()).await? {
            return Ok((OperatorAuth::from_token(&token), TokenOrigin::Generated(token)));
        }
        let auth = Self::stored(db).await?.expect("a concurrent start stored the token");
        Ok((auth, TokenOrigin::Stored))
    }

    /// The valid token if there is one yet (the configured one, else the
    /// stored one), without making one: what the command line checks
    /// AOL_TOKEN against.
    pub async fn existing(db: &Db, configured: Option<&str>) -> Result<Option<OperatorAuth>, StoreError> {
        match configured {
            Some(token) => Ok(Some(OperatorAuth::from_token(token))),
            None => Self::stored(db).await,
        }
    }

    /// Replaces the stored token with a new one and returns it (`aol token
    /// reset`); the dashboard sessions opened with the old one end.
    pub async fn reset(db: &Db) -> Result<String, StoreError> {
        let token = new_token();
        db.secret_hash_replace(SECRET_NAME, &hex::encode(digest(&token)), chrono::Utc::now()).await?;
        db.sessions_of_token_delete().await?;
        Ok(token)
    }

    async fn stored(db: &Db) -> Result<Option<OperatorAuth>, StoreError> {
        let Some(hex_hash) = db.secret_hash(SECRET_NAME).await? else { return Ok(None) };
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(&hex_hash, &mut sha256)
            .map_err(|e| StoreError::Corrupt(format!("aol_secrets.{SECRET_NAME} is not a SHA-256: {e}")))?;
        Ok(Some(OperatorAuth { sha256, sign_ins: Default::default() }))
    }
}
