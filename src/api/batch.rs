//! `POST /api/v1/actions/batch`: many actions in one request and one
//! transaction. Every item is checked before anything is written, so a bad
//! item refuses the whole batch, naming its index.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actions::{enqueue_refusal, EnqueueRequest};
use super::caller::Caller;
use super::error::{ApiError, ErrorBody, Json};
use crate::engine::{Engine, EnqueueError};

/// Most items in one batch.
pub const MAX_BATCH_ITEMS: usize = 1_000;

/// Largest batch body: room for many posts, not for a thousand 64 KiB payloads.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Several actions to add at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1–1,000 enqueue bodies, as `POST /actions` takes them.
    pub actions: Vec<EnqueueRequest>,
}

/// What became of one item, in the order they were sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// The new action, or the one its key already named.
    pub id: i64,
    #[schema(example = "PENDING")]
    pub status: String,
    /// The key was known: nothing was added for this item.
    pub duplicate: bool,
    /// Set when the item was refused although the batch was not: its key
    /// belonged to an action removed by retention (`id` is that action's).
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    pub items: Vec<BatchItem>,
    /// How many items added an action.
    pub added: usize,
}

/// Add up to 1,000 actions in one transaction.
#[utoipa::path(
    post,
    path = "/actions/batch",
    tag = "actions",
    request_body = BatchRequest,
    responses(
        (status = 201, description = "At least one action was added", body = BatchResult),
        (status = 200, description = "Every key was known: nothing added", body = BatchResult),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "An item is not this caller's to enqueue, or its channel's policy \
            denies it: nothing added", body = ErrorBody),
        (status = 413, description = "Body larger than 8 MiB", body = ErrorBody),
        (status = 415, description = "Not sent as JSON", body = ErrorBody),
        (status = 422, description = "No items, more than 1,000, or an item that is not acceptable \
            (`item N: …`): nothing added", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn enqueue_batch(
    State(engine): State<Engine>,
    caller: Caller,
    Json(request): Json<BatchRequest>,
) -> Result<(StatusCode, Json<BatchResult>), ApiError> {
    let count = request.actions.len();
    if count == 0 {
        return Err(ApiError::unprocessable("a batch needs at least one action in `actions`"));
    }
    if count > MAX_BATCH_ITEMS {
        return Err(ApiError::unprocessable(format!(
            "a batch holds at most {MAX_BATCH_ITEMS} actions, not {count}: send the rest in another"
        )));
    }
    let mut items = Vec::with_capacity(count);
    for (index, request) in request.actions.iter().enumerate() {
        items.push(request.item().map_err(|e| ApiError::unprocessable(format!("item {index}: {e}")))?);
    }
    let outcomes = engine.enqueue_many(&caller.actor(None), &items).await.map_err(enqueue_refusal)?;
    let items: Vec<BatchItem> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(done) => {
                BatchItem { id: done.action.id, status: done.action.status, duplicate: done.duplicate, error: None }
            }
            Err(e) => {
                let (id, status) = match &e {
                    EnqueueError::KeyRetired(r) => (r.action_id, r.status.clone()),
                    _ => (0, String::new()),
                };
                BatchItem { id, status, duplicate: false, error: Some(e.to_string()) }
            }
        })
        .collect();
    let added = items.iter().filter(|i| i.error.is_none() && !i.duplicate).count();
    tracing::info!(items = count, added, by = %caller.who(), "batch enqueue over the API");
    let status = if added > 0 { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(BatchResult { items, added })))
}
