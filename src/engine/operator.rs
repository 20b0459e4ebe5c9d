//! Why an operator's change to an action wrote nothing.

use thiserror::Error;

use super::Engine;
use crate::storage::StoreError;

#[derive(Debug, Error)]
pub enum OperatorError {
    #[error("no action with id {0}")]
    NotFound(i64),
    #[error("action {id} is {status}: {allowed}")]
    WrongStatus { id: i64, status: String, allowed: &'static str },
    /// The change cannot be made as asked (the reason, for the operator).
    #[error("{0}")]
    Refused(String),
    /// Something the change needs is missing or malformed.
    #[error("{0}")]
    Invalid(String),
    /// The actor's role does not allow this.
    #[error(transparent)]
    Forbidden(#[from] super::Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// Why an operator's change to action `id` wrote nothing: there is no
    /// such action, or its status does not allow the change.
    pub(super) async fn refusal(&self, id: i64, allowed: &'static str) -> OperatorError {
        match self.db().action_get(id).await {
            Ok(None) => OperatorError::NotFound(id),
            Ok(Some(action)) => OperatorError::WrongStatus { id, status: action.status, allowed },
            Err(e) => OperatorError::Store(e),
        }
    }
}
