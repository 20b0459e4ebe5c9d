//! The agents' HTTP API under `/api/v1`: JSON in and out, bearer tokens, an
//! OpenAPI document generated from these handlers. Like the dashboard, it
//! reaches the engine only; every refusal is `{"error": "…"}` (see `error`).

mod actions;
mod artifacts;
mod audit;
mod batch;
mod caller;
mod decisions;
pub mod error;
mod flags;
pub mod media;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use actions::{ActionList, ActionView, EnqueueRequest, MAX_LIMIT};
pub use batch::{BatchItem, BatchResult, MAX_BATCH_ITEMS};
pub use caller::Caller;
pub use flags::{FlagsChange, FlagsView, Mode};

use crate::web::state::AppState;
use error::ApiError;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// Largest request body: a 64 KiB payload and room for the rest.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AOL agents' API",
        description = "Enqueue actions for AOL to run under its limits, read them back, and (with the \
            operator token) read and change the control flags. Send `Authorization: Bearer <token>`: the \
            operator token, or an agent token from `aol token agent-add NAME` (agents may not change flags)."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "actions", description = "The queue"),
        (name = "media", description = "Images for posts, named by their SHA-256"),
        (name = "flags", description = "The operator's switches"),
        (name = "audit", description = "The audit trail")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's routes and the OpenAPI document that describes them.
pub fn router_and_doc() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::<AppState>::new()
        .routes(routes!(actions::enqueue, actions::list_actions))
        .routes(routes!(actions::get_action, decisions::edit))
        .routes(routes!(artifacts::get_artifact))
        .routes(routes!(decisions::approve))
        .routes(routes!(decisions::reject))
        .routes(routes!(flags::get_flags, flags::put_flags))
        .routes(routes!(audit::verify))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(batch::enqueue_batch))
                .layer(DefaultBodyLimit::max(batch::MAX_BATCH_BYTES)),
        )
        .merge(
            // An image may be far larger than any JSON body.
            OpenApiRouter::new()
                .routes(routes!(media::upload))
                .routes(routes!(media::download))
                .layer(DefaultBodyLimit::max(crate::engine::media::MAX_MEDIA_BYTES)),
        );
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(PREFIX, v1).split_for_parts();
    (router, doc)
}

/// Everything under `/api/v1`, with the document at `/api/v1/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, doc) = router_and_doc();
    let doc = std::sync::Arc::new(doc);
    let api = router.route(
        &format!("{PREFIX}/openapi.json"),
        get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    let unknown = Router::new().fallback(|| async {
        ApiError::new(StatusCode::NOT_FOUND, format!("no such API path; see {PREFIX}/openapi.json"))
    });
    api.method_not_allowed_fallback(|| async {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("this method is not allowed here; see {PREFIX}/openapi.json"),
        )
    })
    .nest(PREFIX, unknown)
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
