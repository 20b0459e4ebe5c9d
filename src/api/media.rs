//! `/api/v1/media`: images for posts, uploaded as raw bytes and named by
//! their SHA-256 (the payload then says `"media": "<sha256>"`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody, Json, Path};
use crate::engine::channels::limits::IMAGE_TYPES;
use crate::engine::media::{MediaError, MAX_MEDIA_BYTES};
use crate::engine::Engine;

/// A stored file.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MediaView {
    /// What payloads name it by.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub sha256: String,
    pub size: i64,
    /// Read from the bytes.
    #[schema(example = "image/png")]
    pub mime: String,
}

/// Upload an image (the raw bytes as the body).
#[utoipa::path(
    post,
    path = "/media",
    tag = "media",
    request_body(content = Vec<u8>, description = "The file's bytes", content_type = "image/png"),
    responses(
        (status = 201, description = "Stored", body = MediaView),
        (status = 200, description = "The same bytes were stored already", body = MediaView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 413, description = "Larger than 16 MiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not image/png, image/jpeg, image/webp or image/gif", body = ErrorBody),
        (status = 422, description = "Empty, or its bytes are not such an image", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(engine): State<Engine>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<MediaView>), ApiError> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let declared = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !IMAGE_TYPES.contains(&declared.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("send the image's bytes with Content-Type {} (got {declared:?})", IMAGE_TYPES.join(", ")),
        ));
    }
    let bytes = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the file is larger than {MAX_MEDIA_BYTES} bytes"))
        }
        status => ApiError::new(status, r.body_text()),
    })?;
    match engine.media_add(&caller.actor(None), &bytes).await {
        Ok(added) => {
            tracing::info!(sha256 = %added.info.sha256, by = %caller.who(), new = added.new, "media upload over the API");
            let status = if added.new { StatusCode::CREATED } else { StatusCode::OK };
            let m = added.info;
            Ok((status, Json(MediaView { sha256: m.sha256, size: m.size, mime: m.mime })))
        }
        Err(MediaError::Store(e)) => Err(ApiError::internal(e)),
        Err(MediaError::Forbidden(e)) => Err(e.into()),
        Err(e @ MediaError::TooLarge(_)) => Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())),
        Err(e) => Err(ApiError::unprocessable(e.to_string())),
    }
}

/// A stored file's bytes.
#[utoipa::path(
    get,
    path = "/media/{sha256}",
    tag = "media",
    params(("sha256" = String, Path, description = "The file's SHA-256, 64 hex digits")),
    responses(
        (status = 200, description = "The bytes, with their type", content_type = "image/png"),
        (status = 400, description = "Not a SHA-256", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn download(
    State(engine): State<Engine>,
    _caller: Caller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    file_response(&engine, &sha256).await
}

/// The Content-Security-Policy of a stored file served as it is (media,
/// artifacts): nothing in it runs, even when opened directly.
pub const SANDBOXED: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

/// The stored file `sha256` as an HTTP answer: its bytes, its type, kept by
/// caches for good (the name is the content), never sniffed as anything else.
pub async fn file_response(engine: &Engine, sha256: &str) -> Result<Response, ApiError> {
    if !crate::engine::adapters::is_sha256(sha256) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("{sha256:?} is not a SHA-256 (64 hex digits)")));
    }
    match engine.media_bytes(sha256).await.map_err(ApiError::internal)? {
        Some((bytes, mime)) => Ok((
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "private, max-age=31536000, immutable".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::CONTENT_SECURITY_POLICY, SANDBOXED.to_string()),
            ],
            bytes,
        )
            .into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no media file {sha256}"))),
    }
}
