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

/// What the operator does to one action from its page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionChange {
    /// FAILED or DLQ → PENDING.
    Requeue,
    /// PENDING or RETRY → CANCELLED.
    Cancel,
    /// UNCONFIRMED → SUCCESS: "it was posted" (optionally where).
    Posted,
    /// UNCONFIRMED → RETRY: "send it again".
    SendAgain,
}

/// One server function for every change made on the page (each one the
/// browser calls costs its wasm code of its own). `url` goes with `posted`
/// only; `reason` is recorded when settling an UNCONFIRMED post.
#[server(prefix = "/ui", endpoint = "action_change", output = crate::web::codec::JsonText)]
pub async fn change_action(
    id: i64,
    change: ActionChange,
    url: Option<String>,
    reason: Option<String>,
) -> Result<Action, ServerFnError> {
    use crate::storage::Resolution;
    crate::web::auth::ssr::require_operator()?;
    let engine = crate::web::state::engine();
    let bad_request = |message: String| {
        crate::web::auth::ssr::set_status(http::StatusCode::BAD_REQUEST);
        Err(ServerFnError::new(message))
    };
    let url = url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    if let Some(u) = &url {
        if change != ActionChange::Posted {
            return bad_request("a link goes with \"it was posted\" only".to_string());
        }
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 {
            return bad_request(format!("{u:?} is not a link to the post (http:// or https://)"));
        }
    }
    let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let changed = match change {
        ActionChange::Requeue => engine.requeue(id, "dashboard").await,
        ActionChange::Cancel => engine.cancel(id, "dashboard").await,
        ActionChange::Posted => {
            let posted = Resolution::Posted { remote_id: None, remote_url: url };
            engine.resolve_unconfirmed(id, &posted, "dashboard", reason).await
        }
        ActionChange::SendAgain => engine.resolve_unconfirmed(id, &Resolution::SendAgain, "dashboard", reason).await,
    };
    changed.map_err(ssr::operator_error)
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
