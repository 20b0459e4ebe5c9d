//! `/api/v1/actions/{id}/approve`, `/reject` (an approver or an admin: an
//! agent never approves its own posts) and `PATCH /api/v1/actions/{id}` (a new
//! payload, which voids any approval not yet used).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::actions::ActionView;
use super::caller::Caller;
use super::error::{ApiError, ErrorBody, Json, Path};
use crate::engine::{EditError, Engine, EnqueueError, OperatorError};

/// The operator's yes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The SHA-256 of the request the operator looked at (from the action's
    /// `prepared_sha256` or the dashboard): the approval is refused if the
    /// request is no longer that one.
    pub prepared_sha256: Option<String>,
    /// Recorded with the approval.
    pub reason: Option<String>,
}

/// The operator's no.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why: recorded, and shown as the action's last error.
    pub reason: Option<String>,
}

/// A new payload for an action not yet running.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    #[schema(value_type = Object, example = json!({"channel": "brand", "text": "We launch tomorrow."}))]
    pub payload: Value,
}

/// The status code and message of an operator's change that was not made.
pub fn operator_error(e: OperatorError) -> ApiError {
    match e {
        OperatorError::Store(e) => ApiError::internal(e),
        OperatorError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
        OperatorError::WrongStatus { .. } | OperatorError::Refused(_) => {
            ApiError::new(StatusCode::CONFLICT, e.to_string())
        }
        OperatorError::Invalid(_) => ApiError::unprocessable(e.to_string()),
        OperatorError::Forbidden(e) => e.into(),
    }
}

/// Approve the request of an action AWAITING_APPROVAL.
#[utoipa::path(
    post,
    path = "/actions/{id}/approve",
    tag = "actions",
    params(("id" = i64, Path, description = "The action's id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "Approved: back in the queue, to be sent once", body = ActionView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller's role may not decide (agents never do)", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
        (status = 409, description = "Not AWAITING_APPROVAL, or its request changed since it was shown", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn approve(
    State(engine): State<Engine>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<ApproveRequest>,
) -> Result<Json<ActionView>, ApiError> {
    let actor = caller.actor(request.reason.as_deref());
    let action = engine.approve(id, request.prepared_sha256.as_deref(), &actor).await.map_err(operator_error)?;
    Ok(Json(action.into()))
}

/// Reject an action AWAITING_APPROVAL: it ends CANCELLED, nothing sent.
#[utoipa::path(
    post,
    path = "/actions/{id}/reject",
    tag = "actions",
    params(("id" = i64, Path, description = "The action's id")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "Rejected (CANCELLED)", body = ActionView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller's role may not decide (agents never do)", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
        (status = 409, description = "Not AWAITING_APPROVAL", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reject(
    State(engine): State<Engine>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<RejectRequest>,
) -> Result<Json<ActionView>, ApiError> {
    let actor = caller.actor(request.reason.as_deref());
    let action = engine.reject(id, &actor).await.map_err(operator_error)?;
    Ok(Json(action.into()))
}

/// Give an action not yet running (PENDING, RETRY, AWAITING_APPROVAL) a new
/// payload; any approval of its old request no longer holds.
#[utoipa::path(
    patch,
    path = "/actions/{id}",
    tag = "actions",
    params(("id" = i64, Path, description = "The action's id")),
    request_body = EditRequest,
    responses(
        (status = 200, description = "Changed", body = ActionView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The channel's policy denies this action type", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
        (status = 409, description = "Running or finished: it can no longer change", body = ErrorBody),
        (status = 422, description = "The payload is refused, as an enqueue would refuse it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn edit(
    State(engine): State<Engine>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<EditRequest>,
) -> Result<Json<ActionView>, ApiError> {
    let Value::Object(payload) = request.payload else {
        return Err(ApiError::unprocessable("invalid payload: must be a JSON object, like {\"text\": \"…\"}"));
    };
    match engine.edit(id, &payload, &caller.actor(None)).await {
        Ok(action) => Ok(Json(action.into())),
        Err(EditError::Operator(e)) => Err(operator_error(e)),
        Err(EditError::Invalid(EnqueueError::Store(e))) => Err(ApiError::internal(e)),
        Err(EditError::Invalid(EnqueueError::Forbidden(e))) => Err(e.into()),
        Err(EditError::Invalid(e @ EnqueueError::Denied(_))) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, e.to_string()))
        }
        Err(EditError::Invalid(e)) => Err(ApiError::unprocessable(e.to_string())),
    }
}
