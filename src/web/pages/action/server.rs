//! The action page's server functions.

use leptos::prelude::*;

use crate::web::server_html::Html;

/// One action as the page shows it: what only needs showing comes drawn by
/// the server (see `web::server_html`); the rest is what the forms need.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ShownAction {
    pub id: i64,
    pub status: String,
    /// The heading, the facts and the last error.
    pub facts: Html,
    /// The payload, the request, the approvals, the artifact and the log.
    pub record: Html,
    /// The SHA-256 of what a REAL attempt would send now (an approval binds to it).
    pub sha: Option<String>,
    /// The payload's text, if it has one (what the edit form starts from).
    pub text: Option<String>,
}

/// What the action page shows, read in one call.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ActionPageData {
    /// `None`: no such action.
    pub detail: Option<ShownAction>,
    /// Who is looking, and so which forms the page offers.
    pub me: crate::model::Me,
}

#[server(prefix = "/ui", endpoint = "action", output = crate::web::codec::JsonText)]
pub async fn get_action_page(id: i64) -> Result<ActionPageData, ServerFnError> {
    let me = crate::web::auth::ssr::require_viewer().await?;
    let engine = crate::web::state::engine();
    let detail = engine.action_detail(id).await.map_err(crate::web::state::internal_error)?;
    let audit = match &detail {
        Some(_) => engine.audit_of_action(id).await.map_err(crate::web::state::internal_error)?,
        None => Vec::new(),
    };
    let detail = detail.map(|detail| {
        use super::drawn::{facts, record, Record};
        let a = &detail.action;
        let payload = serde_json::from_str::<serde_json::Value>(&a.payload_json);
        let pretty = payload.as_ref().ok().and_then(|v| serde_json::to_string_pretty(v).ok());
        let text = payload.ok().and_then(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string));
        ShownAction {
            id: a.id,
            status: a.status.clone(),
            facts: facts(a),
            record: record(Record {
                action: a.id,
                payload: pretty.as_deref().unwrap_or(&a.payload_json),
                request: detail.request.as_ref(),
                request_problem: detail.request_problem.as_deref(),
                post: detail.post.as_ref(),
                decisions: detail.approvals.iter().map(crate::model::Approval::summary).collect(),
                artifact: detail.artifact.as_ref(),
                logs: &detail.logs,
                audit: &audit,
            }),
            sha: detail.request.as_ref().map(|r| r.sha256.clone()),
            text,
        }
    });
    Ok(ActionPageData { detail, me })
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
    /// AWAITING_APPROVAL → PENDING: its request (`sha`, as shown) may go out once.
    Approve,
    /// AWAITING_APPROVAL → CANCELLED, with a reason.
    Reject,
    /// A new `text` for an action not yet running (any approval no longer holds).
    Edit,
}

/// One server function for every change made to an action from the
/// dashboard (each one the browser calls costs its wasm code of its own).
/// `url` goes with `posted` only, `sha` with `approve`, `text` with `edit`;
/// `reason` is recorded with settling, approving, rejecting and editing.
#[server(prefix = "/ui", endpoint = "action_change", output = crate::web::codec::JsonText)]
pub async fn change_action(
    id: i64,
    change: ActionChange,
    url: Option<String>,
    reason: Option<String>,
    sha: Option<String>,
    text: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::storage::Resolution;
    let right = match change {
        ActionChange::Edit => crate::model::Right::Edit,
        _ => crate::model::Right::Decide,
    };
    let actor = crate::web::auth::ssr::require(right).await?.because(reason.as_deref());
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
    let changed = match change {
        ActionChange::Requeue => engine.requeue(id, &actor).await,
        ActionChange::Cancel => engine.cancel(id, &actor).await,
        ActionChange::Posted => {
            let posted = Resolution::Posted { remote_id: None, remote_url: url };
            engine.resolve_unconfirmed(id, &posted, &actor).await
        }
        ActionChange::SendAgain => engine.resolve_unconfirmed(id, &Resolution::SendAgain, &actor).await,
        ActionChange::Approve => engine.approve(id, sha.as_deref(), &actor).await,
        ActionChange::Reject => engine.reject(id, &actor).await,
        ActionChange::Edit => return ssr::edit_text(id, text.unwrap_or_default(), &actor).await.map(|_| ()),
    };
    changed.map(|_| ()).map_err(ssr::operator_error)
}

#[cfg(feature = "ssr")]
mod ssr {
    use http::StatusCode;
    use leptos::prelude::ServerFnError;

    use crate::engine::Actor;
    use crate::engine::{EditError, EnqueueError, OperatorError};
    use crate::model::Action;
    use crate::web::auth::ssr::set_status;

    /// 404 / 409 / 400 with the engine's words; database trouble stays on the server.
    pub fn operator_error(e: OperatorError) -> ServerFnError {
        let status = match e {
            OperatorError::Store(e) => return crate::web::state::internal_error(e),
            OperatorError::NotFound(_) => StatusCode::NOT_FOUND,
            OperatorError::WrongStatus { .. } | OperatorError::Refused(_) => StatusCode::CONFLICT,
            OperatorError::Invalid(_) => StatusCode::BAD_REQUEST,
            OperatorError::Forbidden(_) => StatusCode::FORBIDDEN,
        };
        set_status(status);
        ServerFnError::new(e.to_string())
    }

    /// The action's payload with a new text (its channel kept).
    pub async fn edit_text(id: i64, text: String, actor: &Actor) -> Result<Action, ServerFnError> {
        let engine = crate::web::state::engine();
        let action = engine.db().action_get(id).await.map_err(crate::web::state::internal_error)?;
        let Some(action) = action else { return Err(operator_error(OperatorError::NotFound(id))) };
        let mut payload: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&action.payload_json).unwrap_or_default();
        payload.insert("text".into(), serde_json::Value::String(text));
        match engine.edit(id, &payload, actor).await {
            Ok(action) => Ok(action),
            Err(EditError::Operator(e)) => Err(operator_error(e)),
            Err(EditError::Invalid(EnqueueError::Store(e))) => Err(crate::web::state::internal_error(e)),
            Err(EditError::Invalid(EnqueueError::Forbidden(e))) => Err(crate::web::auth::ssr::forbidden(e)),
            Err(EditError::Invalid(e)) => {
                set_status(StatusCode::BAD_REQUEST);
                Err(ServerFnError::new(e.to_string()))
            }
        }
    }
}
