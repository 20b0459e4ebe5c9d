//! `GET /api/v1/actions/{id}/artifact`: an action's PROOF artifact, the bytes
//! the daemon stored with its SUCCESS, checked against the SHA-256 its log
//! line recorded (sent as `X-AOL-SHA256`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::caller::Caller;
use super::error::{ApiError, ErrorBody, Path};
use crate::engine::artifacts::ArtifactError;
use crate::engine::Engine;

/// The header that carries the artifact's SHA-256, as logged and checked.
pub const SHA256_HEADER: &str = "x-aol-sha256";

/// An action's newest PROOF artifact.
#[utoipa::path(
    get,
    path = "/actions/{id}/artifact",
    tag = "actions",
    params(("id" = i64, Path, description = "The action's id")),
    responses(
        (status = 200, description = "The artifact's bytes (JSON); X-AOL-SHA256 is their SHA-256, as logged",
         content_type = "application/json"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such action, or it has no artifact", body = ErrorBody),
        (status = 409, description = "The stored artifact is not as logged", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_artifact(
    State(engine): State<Engine>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    match engine.artifact_for(&caller.actor(None), id).await {
        Ok((bytes, sha256)) => Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::HeaderName::from_static(SHA256_HEADER), sha256),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::CONTENT_SECURITY_POLICY, super::media::SANDBOXED.to_string()),
            ],
            bytes,
        )
            .into_response()),
        Err(e @ (ArtifactError::NoAction(_) | ArtifactError::NoArtifact(_))) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, e.to_string()))
        }
        Err(e @ ArtifactError::NotAsLogged { .. }) => Err(ApiError::new(StatusCode::CONFLICT, e.to_string())),
        Err(ArtifactError::Store(e)) => Err(ApiError::internal(e)),
    }
}
