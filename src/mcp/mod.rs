//! The agents' door: AOL's tools over the Model Context Protocol, at `/mcp`
//! (streamable HTTP; an agent's or a person's token as Bearer, with the same
//! roles and scopes as the API) and over stdio (`aol mcp --agent NAME`, for
//! an agent a local client starts: it acts as that agent). The tools reach
//! the engine only, as the API does; approving is never one of them.

mod tools;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::api::error::ApiError;
use crate::engine::{Actor, Engine};
use crate::model::Principal;
use crate::web::state::AppState;

pub use tools::Tools;

/// Where the HTTP door is.
pub const PATH: &str = "/mcp";

/// `/mcp`: every request needs a valid token, checked here; the tools find
/// who called in the request's extensions.
pub fn router(state: &AppState) -> axum::Router<AppState> {
    let engine = state.engine.clone();
    // AOL checks the Host header itself, for every page (see `server`).
    let config = StreamableHttpServerConfig::default().disable_allowed_hosts();
    let service = StreamableHttpService::new(
        move || Ok(Tools::new(engine.clone(), None)),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    axum::Router::new().nest_service(PATH, service).layer(axum::middleware::from_fn_with_state(state.clone(), caller))
}

/// Refuses a request without a valid token (401, as the API does); puts
/// the caller's [`Principal`] in its extensions otherwise.
async fn caller(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) else {
        return ApiError::unauthorized().into_response();
    };
    match crate::auth::identify(&state.engine, Some(&state.auth), token).await {
        Ok(Some(who)) => {
            request.extensions_mut().insert(who);
            next.run(request).await
        }
        Ok(None) => ApiError::unauthorized().into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Serves the tools on stdin/stdout as `who` until the client goes.
pub async fn serve_stdio(engine: Engine, who: Principal) -> anyhow::Result<()> {
    use rmcp::ServiceExt;
    let running = Tools::new(engine, Some(who)).serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

/// The actor of a tool call: the stdio server's own, or the HTTP caller's.
fn actor_of(fixed: Option<&Principal>, context: &rmcp::service::RequestContext<rmcp::RoleServer>) -> Option<Actor> {
    if let Some(who) = fixed {
        return Some(Actor::new(who.clone()));
    }
    let parts = context.extensions.get::<axum::http::request::Parts>()?;
    parts.extensions.get::<Principal>().map(|who| Actor::new(who.clone()))
}
