//! The action page's server functions.

use leptos::prelude::*;

use crate::model::{Action, ActionDetail};

#[server(prefix = "/ui", endpoint = "action")]
pub async fn get_action_detail(id: i64) -> Result<Option<ActionDetail>, ServerFnError> {
    crate::web::state::engine().action_detail(id).await.map_err(crate::web::state::internal_error)
}

/// FAILED or DLQ → PENDING.
#[server(prefix = "/ui", endpoint = "requeue")]
pub async fn requeue_action(id: i64) -> Result<Action, ServerFnError> {
    crate::web::auth::ssr::require_operator()?;
    crate::web::state::engine().requeue(id, "dashboard").await.map_err(ssr::operator_error)
}

/// PENDING or RETRY → CANCELLED.
#[server(prefix = "/ui", endpoint = "cancel")]
pub async fn cancel_action(id: i64) -> Result<Action, ServerFnError> {
    crate::web::auth::ssr::require_operator()?;
    crate::web::state::engine().cancel(id, "dashboard").await.map_err(ssr::operator_error)
}

#[cfg(feature = "ssr")]
mod ssr {
    use http::StatusCode;
    use leptos::prelude::ServerFnError;

    use crate::engine::OperatorError;
    use crate::web::auth::ssr::set_status;

    /// 404 / 409 with the engine's words; database trouble stays on the server.
    pub fn operator_error(e: OperatorError) -> ServerFnError {
        match e {
            OperatorError::Store(e) => crate::web::state::internal_error(e),
            OperatorError::NotFound(_) => {
                set_status(StatusCode::NOT_FOUND);
                ServerFnError::new(e.to_string())
            }
            OperatorError::WrongStatus { .. } => {
                set_status(StatusCode::CONFLICT);
                ServerFnError::new(e.to_string())
            }
        }
    }
}
