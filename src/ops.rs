//! What operators' tools read, without a token: `/healthz` (the process
//! answers), `/readyz` (the database answers and its schema is current) and
//! `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::engine::Engine;
use crate::web::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 when this server can do its work; 503 with the reason when it cannot.
async fn readyz(State(engine): State<Engine>) -> Response {
    match engine.db().migrations_missing().await {
        Ok(missing) if missing.is_empty() => (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response(),
        Ok(missing) => not_ready(&format!("database migrations not applied: {}", missing.join(", "))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: the database does not answer");
            not_ready("the database does not answer; see the server log")
        }
    }
}

fn not_ready(error: &str) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "not ready", "error": error }))).into_response()
}

async fn metrics(State(engine): State<Engine>) -> Response {
    match engine.metrics_text().await {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "# the database does not answer; see the server log\n").into_response()
        }
    }
}
