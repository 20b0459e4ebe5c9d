//! The action page's server functions.

use leptos::prelude::*;

use crate::model::{Action, ActionDetail};

/// One action as the page shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ShownAction {
    pub detail: ActionDetail,
    /// The payload indented, done here so that the browser's code carries no
    /// JSON printer of its own.
    pub payload_pretty: String,
}

/// What the action page shows, read in one call.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ActionPageData {
    /// `None`: no such action.
    pub detail: Option<ShownAction>,
    /// Whether this browser holds the operator's session.
    pub operator: bool,
}

#[server(prefix = "/ui", endpoint = "action", output = crate::web::codec::JsonText)]
pub async fn get_action_page(id: i64) -> Result<ActionPageData, ServerFnError> {
    let detail = crate::web::state::engine().action_detail(id).await.map_err(crate::web::state::internal_error)?;
    let detail = detail.map(|detail| {
        let payload_pretty = serde_json::from_str::<serde_json::Value>(&detail.action.payload_json)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| detail.action.payload_json.clone());
        ShownAction { detail, payload_pretty }
    });
    Ok(ActionPageData { detail, operator: crate::web::auth::ssr::has_operator_cookie() })
}

/// FAILED or DLQ → PENDING.
#[server(prefix = "/ui", endpoint = "requeue", output = crate::web::codec::JsonText)]
pub async fn requeue_action(id: i64) -> Result<Action, ServerFnError> {
    crate::web::auth::ssr::require_operator()?;
    crate::web::state::engine().requeue(id, "dashboard").await.map_err(ssr::operator_error)
}

/// PENDING or RETRY → CANCELLED.
#[server(prefix = "/ui", endpoint = "cancel", output = crate::web::codec::JsonText)]
pub async fn cancel_action(id: i64) -> Result<Action, ServerFnError> {
    crate::web::auth::ssr::require_operator()?;
    crate::web::state::engine().cancel(id, "dashboard").await.map_err(ssr::operator_error)
}

/// UNCONFIRMED → SUCCESS ("it was posted", optionally where) or → RETRY
/// ("send it again"), with the operator's reason.
#[server(prefix = "/ui", endpoint = "resolve", output = crate::web::codec::JsonText)]
pub async fn resolve_action(
    id: i64,
    posted: bool,
    url: Option<String>,
    reason: Option<String>,
) -> Result<Action, ServerFnError> {
    use crate::storage::Resolution;
    crate::web::auth::ssr::require_operator()?;
    let url = url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    if let Some(u) = &url {
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 {
            crate::web::auth::ssr::set_status(http::StatusCode::BAD_REQUEST);
            return Err(ServerFnError::new(format!("{u:?} is not a link to the post (http:// or https://)")));
        }
    }
    let resolution = match (posted, url) {
        (true, url) => Resolution::Posted { remote_id: None, remote_url: url },
        (false, None) => Resolution::SendAgain,
        (false, Some(_)) => {
            crate::web::auth::ssr::set_status(http::StatusCode::BAD_REQUEST);
            return Err(ServerFnError::new("a link goes with \"it was posted\" only"));
        }
    };
    let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    crate::web::state::engine()
        .resolve_unconfirmed(id, &resolution, "dashboard", reason)
        .await
        .map_err(ssr::operator_error)
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
