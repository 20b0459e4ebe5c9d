//! `/api/v1/actions`: enqueue, read one, list.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::{ApiError, ErrorBody, Json, Path, Query};
use crate::engine::{Engine, EnqueueError, NewItem, Window};
use crate::model::{Action, ActionFilter, ActionStatus};

/// Largest page of a list.
pub const MAX_LIMIT: i64 = 500;
const DEFAULT_LIMIT: i64 = 50;

/// What an agent sends to add an action.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnqueueRequest {
    /// One of the server's action types.
    #[schema(example = "POST_SOCIAL")]
    pub action_type: String,
    /// 1–200 printable characters. A key seen before returns that action
    /// (status 200) and adds nothing.
    #[schema(example = "launch-2026-11-26-morning")]
    pub idempotency_key: String,
    /// A JSON object, at most 64 KiB. For POST_SOCIAL: `channel`, `text`, and
    /// optionally `langs` (BCP 47 tags), `images` (`[{"media": "<sha256 of a file
    /// uploaded to /media>", "alt": "…"}]`), `link` (`{"url", "title",
    /// "description", "thumb"}`), `thread` (the posts after the first: `[{"text",
    /// "images", "link"}]`), and for Mastodon `visibility`, `spoiler_text`,
    /// `sensitive`. Each platform's limits are checked here.
    #[schema(value_type = Object, example = json!({"channel": "brand", "text": "We launch today."}))]
    pub payload: Value,
    /// Not to be sent before this time: RFC 3339 with its offset, or a local
    /// time (`2026-03-29T09:00`) in `time_zone`.
    #[schema(example = "2026-11-28T09:00:00Z")]
    pub scheduled_for: Option<String>,
    /// Never sent after this time (then it ends EXPIRED); the same forms.
    #[schema(example = "2026-11-28T18:00:00Z")]
    pub not_after: Option<String>,
    /// An IANA time zone (`Europe/Berlin`): local times above are read
    /// there, across daylight-saving changes, and the pages show them there.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
}

impl EnqueueRequest {
    /// The request as the engine's item, or why its payload is not one.
    pub fn item(&self) -> Result<NewItem<'_>, String> {
        let Value::Object(payload) = &self.payload else {
            return Err("invalid payload: must be a JSON object, like {\"text\": \"…\"}".to_string());
        };
        let window =
            Window::given(self.scheduled_for.as_deref(), self.not_after.as_deref(), self.time_zone.as_deref())?;
        Ok(NewItem { window, ..NewItem::new(&self.action_type, &self.idempotency_key, payload) })
    }
}

/// An action as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema, schemars::JsonSchema)]
pub struct ActionView {
    pub id: i64,
    pub idempotency_key: String,
    pub action_type: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    /// PENDING, RUNNING, SUCCESS, RETRY, FAILED, DLQ, CANCELLED, …
    #[schema(example = "PENDING")]
    pub status: String,
    pub attempts: i64,
    /// Not run before this time.
    pub not_before_utc: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub created_at_utc: chrono::DateTime<chrono::Utc>,
    pub updated_at_utc: chrono::DateTime<chrono::Utc>,
    /// The channel its payload names.
    pub channel: Option<String>,
    pub scheduled_for_utc: Option<chrono::DateTime<chrono::Utc>>,
    pub not_after_utc: Option<chrono::DateTime<chrono::Utc>>,
    /// The policy it was admitted under: `auto` or `require_approval`.
    pub policy: Option<String>,
    /// SHA-256 of the request prepared for it (what an approval binds to).
    pub prepared_sha256: Option<String>,
    /// The post on its platform, once posted.
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
}

impl From<Action> for ActionView {
    fn from(a: Action) -> ActionView {
        let key = a.key().to_string();
        let payload = serde_json::from_str(&a.payload_json).unwrap_or(Value::String(a.payload_json));
        ActionView {
            id: a.id,
            idempotency_key: key,
            action_type: a.action_type,
            payload,
            status: a.status,
            attempts: a.attempts,
            not_before_utc: a.not_before_utc,
            last_error: a.last_error,
            created_at_utc: a.created_at_utc,
            updated_at_utc: a.updated_at_utc,
            channel: a.channel,
            scheduled_for_utc: a.scheduled_for_utc,
            not_after_utc: a.not_after_utc,
            policy: a.policy,
            prepared_sha256: a.prepared_sha256,
            remote_id: a.remote_id,
            remote_url: a.remote_url,
        }
    }
}

/// A page of actions, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema, schemars::JsonSchema)]
pub struct ActionList {
    pub actions: Vec<ActionView>,
    /// Pass as `before_id` for the next (older) page; absent on the last one.
    pub next_before_id: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only actions in this status.
    pub status: Option<String>,
    /// Only actions of this type.
    pub action_type: Option<String>,
    /// Only the action with this idempotency key.
    pub idempotency_key: Option<String>,
    /// Page size, 1–500 [50].
    pub limit: Option<i64>,
    /// Only actions older than this id (from `next_before_id`).
    pub before_id: Option<i64>,
}

/// Add an action to the queue.
#[utoipa::path(
    post,
    path = "/actions",
    tag = "actions",
    request_body = EnqueueRequest,
    responses(
        (status = 201, description = "Added", body = ActionView),
        (status = 200, description = "The key was known: the existing action, nothing added", body = ActionView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The channel's policy denies this action type", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 409, description = "The key belonged to an action removed by retention", body = ErrorBody),
        (status = 415, description = "Not sent as JSON", body = ErrorBody),
        (status = 422, description = "Well-formed but not acceptable: missing field, wrong type, unknown \
            action type, bad key, payload or schedule", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn enqueue(
    State(engine): State<Engine>,
    caller: Caller,
    Json(request): Json<EnqueueRequest>,
) -> Result<(StatusCode, Json<ActionView>), ApiError> {
    let item = request.item().map_err(ApiError::unprocessable)?;
    let done = engine.enqueue_one(&caller.actor(None), &item).await.map_err(enqueue_refusal)?;
    tracing::info!(
        action_id = done.action.id,
        key = %done.action.key(),
        by = %caller.who(),
        duplicate = done.duplicate,
        "enqueue over the API"
    );
    let status = if done.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(done.action.into())))
}

/// The status code and message of an enqueue that added nothing (for a
/// batch's item, the status its error would have alone).
pub(super) fn enqueue_refusal(e: EnqueueError) -> ApiError {
    let status = match &e {
        EnqueueError::Item { error, .. } => refusal_status(error),
        other => refusal_status(other),
    };
    match e {
        EnqueueError::Store(e) => ApiError::internal(e),
        e => ApiError::new(status, e.to_string()),
    }
}

fn refusal_status(e: &EnqueueError) -> StatusCode {
    match e {
        EnqueueError::Forbidden(_) | EnqueueError::Denied(_) => StatusCode::FORBIDDEN,
        EnqueueError::KeyRetired(_) => StatusCode::CONFLICT,
        EnqueueError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// One action by id.
#[utoipa::path(
    get,
    path = "/actions/{id}",
    tag = "actions",
    params(("id" = i64, Path, description = "The action's id")),
    responses(
        (status = 200, body = ActionView),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_action(
    State(engine): State<Engine>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ActionView>, ApiError> {
    match engine.action_for(&caller.actor(None), id).await.map_err(ApiError::internal)? {
        Some(action) => Ok(Json(action.into())),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no action with id {id}"))),
    }
}

/// Actions, newest first, optionally of one status or type.
#[utoipa::path(
    get,
    path = "/actions",
    tag = "actions",
    params(ListQuery),
    responses(
        (status = 200, body = ActionList),
        (status = 400, description = "A bad query parameter", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_actions(
    State(engine): State<Engine>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<ActionList>, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let status = match query.status.as_deref() {
        Some(s) => Some(s.parse::<ActionStatus>().map_err(bad)?.as_str().to_string()),
        None => None,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit must be between 1 and {MAX_LIMIT}, not {limit}")));
    }
    let filter = ActionFilter {
        status,
        action_type: query.action_type,
        key: query.idempotency_key,
        before_id: query.before_id,
        ..Default::default()
    };
    let actions = engine.actions_for(&caller.actor(None), &filter, limit).await.map_err(ApiError::internal)?;
    let next_before_id = if actions.len() as i64 == limit { actions.last().map(|a| a.id) } else { None };
    Ok(Json(ActionList { actions: actions.into_iter().map(ActionView::from).collect(), next_before_id }))
}
