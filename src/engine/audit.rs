//! The audit trail, as the engine offers it: events with no other row to go
//! with (a sign-in, a person added, the daemon's lease) appended on their
//! own, and the chain read back and verified. The events of actions, flags,
//! policies and channels are written by storage in the same transaction as
//! the change they record.

use serde_json::Value;

use super::{Actor, Engine};
use crate::model::Right;
use crate::model::{AuditCheck, AuditFind, AuditRow};
use crate::storage::{AuditEntry, StoreError};

impl Engine {
    /// Appends one event now. The change it records is made already: a
    /// failure is logged (and the trail says nothing of it), not undone.
    pub async fn audit(&self, actor: &str, action_id: Option<i64>, event: &'static str, data: Value) {
        let entry = AuditEntry::new(actor, action_id, event, data);
        if let Err(e) = self.db().audit_append(std::slice::from_ref(&entry), self.clock().now()).await {
            tracing::error!(error = %e, event, actor, "could not append to the audit trail");
        }
    }

    /// Recomputes the whole chain (anyone who may look may check it), and
    /// records what it found.
    pub async fn audit_verify(&self, actor: &Actor) -> Result<AuditCheck, AuditError> {
        actor.require(Right::View)?;
        let check = self.db().audit_verify().await?;
        self.db().audit_checked(self.clock().now(), &format!("{check} (by {})", actor.who())).await?;
        Ok(check)
    }

    /// The events `find` names, newest first (people only).
    pub async fn audit_find(&self, actor: &Actor, find: &AuditFind) -> Result<Vec<AuditRow>, AuditError> {
        actor.require(Right::Audit)?;
        Ok(self.db().audit_find(find).await?)
    }

    /// The chain's head (rows ever appended, last hash) and its last check (when, verdict).
    pub async fn audit_state(&self) -> Result<((i64, String), Option<(String, String)>), StoreError> {
        Ok((self.db().audit_head().await?, self.db().audit_last_check().await?))
    }

    /// Up to `limit` events after id `after`, oldest first (people only:
    /// they are everyone's).
    pub async fn audit_rows(&self, actor: &Actor, after: i64, limit: i64) -> Result<Vec<AuditRow>, AuditError> {
        actor.require(Right::Audit)?;
        Ok(self.db().audit_rows_after(after, limit).await?)
    }

    /// An action's events, oldest first.
    pub async fn audit_of_action(&self, id: i64) -> Result<Vec<AuditRow>, StoreError> {
        self.db().audit_of_action(id).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Forbidden(#[from] super::Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}
