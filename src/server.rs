//! `aol serve`: one process holding the dashboard and the daemon.
//! Opens the database, runs migrations, starts the daemon task and serves the
//! Leptos app until Ctrl-C or SIGTERM, then stops everything in order.

use std::time::Duration;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::auth::{OperatorAuth, TokenOrigin};
use crate::cli::{apply_startup_mode, open_db, ServeArgs};
use crate::engine::{self, Clock, Engine, Registry};
use crate::web::shell;
use crate::web::state::AppState;

/// How long shutdown waits for the daemon to finish its tick.
const DAEMON_STOP_LIMIT: Duration = Duration::from_secs(10);

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.daemon.validate().map_err(anyhow::Error::msg)?;
    let leptos_options = leptos_options()?;
    let addr = args.web.bind.unwrap_or(leptos_options.site_addr);

    let db = open_db(&args.db).await?;
    let auth = operator_auth(&db, args.web.operator_token.as_ref().map(|t| t.expose_secret())).await?;
    let adapters = Registry::standard(settings.artifact_dir.clone());
    let engine = Engine::new(db.clone(), Clock::System, adapters).await?;
    apply_startup_mode(&engine, args.daemon.proof_mode).await?;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("AOL_BIND (--bind): cannot listen on {addr}"))?;

    let addr = listener.local_addr().unwrap_or(addr);
    let shutdown = CancellationToken::new();
    let watcher = engine.spawn_flag_watcher(shutdown.clone());
    let (changes, change_feed) = engine.spawn_change_feed(shutdown.clone());
    let maintenance = engine.spawn_maintenance(args.retention.settings(), shutdown.clone());
    let daemon = tokio::spawn(engine::supervise(engine.clone(), settings, shutdown.clone()));

    let llm_configured = args.web.openai_api_key.as_ref().is_some_and(|k| !k.expose_secret().trim().is_empty());
    let app = router(AppState { leptos_options, engine, changes, auth, llm_configured });
    tracing::info!("AOL dashboard on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(cancel_on_signal(shutdown.clone()))
        .await
        .context("web server failed")?;

    shutdown.cancel();
    if tokio::time::timeout(DAEMON_STOP_LIMIT, daemon).await.is_err() {
        tracing::warn!("daemon did not stop within {DAEMON_STOP_LIMIT:?}");
    }
    let _ = watcher.await;
    let _ = tokio::join!(change_feed, maintenance);
    db.close().await;
    tracing::info!("AOL stopped");
    Ok(())
}

/// Resolves the operator token and says where it came from; a generated token
/// is printed this once.
async fn operator_auth(db: &crate::storage::Db, configured: Option<&str>) -> anyhow::Result<OperatorAuth> {
    let (auth, origin) = OperatorAuth::resolve(db, configured).await?;
    match origin {
        TokenOrigin::Configured => tracing::info!("operator token: from AOL_OPERATOR_TOKEN"),
        TokenOrigin::Stored => {
            tracing::info!("operator token: the one generated at first start (`aol token reset` makes a new one)")
        }
        TokenOrigin::Generated(token) => eprintln!(
            "\n  AOL operator token (shown only now; the dashboard asks for it before any change):\n\n    {token}\n\n  \
             Set AOL_OPERATOR_TOKEN to choose your own, or run `aol token reset` for a new one.\n"
        ),
    }
    Ok(auth)
}

/// The whole HTTP surface: the Leptos app and its server functions and live
/// events, the agents' API, health and metrics.
pub fn router(state: AppState) -> Router {
    // Every page waits for its data before it is sent (SSR "async" mode).
    let pages = crate::web::PAGE_PATHS
        .iter()
        .map(|path| {
            AxumRouteListing::new(path.to_string(), leptos_router::SsrMode::Async, [leptos_router::Method::Get], [])
        })
        .collect();
    Router::new()
        .merge(crate::ops::router())
        .merge(crate::api::router())
        .route(crate::web::live::EVENTS_URL, get(crate::web::events::events))
        .leptos_routes(&state, pages, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::map_response(bad_arguments_are_400))
        .with_state(state)
}

/// Leptos answers a server function call whose arguments do not parse (a
/// missing field, `id=abc`) with 500, as if the server had failed; it is the
/// caller's mistake: 400, with leptos's message.
async fn bad_arguments_are_400(response: axum::response::Response) -> axum::response::Response {
    use http::StatusCode;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || !response.headers().contains_key("serverfnerror") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    if bytes.starts_with(b"Args|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Leptos's settings: from cargo-leptos's LEPTOS_* variables when it runs us,
/// else from Leptos.toml in the working directory (a plain `aol serve`).
fn leptos_options() -> anyhow::Result<LeptosOptions> {
    let from_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some();
    let file = (!from_cargo_leptos && std::path::Path::new("Leptos.toml").exists()).then_some("Leptos.toml");
    let conf = get_configuration(file).context(
        "Leptos settings not found: run from the project folder (it has Leptos.toml) or through cargo leptos",
    )?;
    Ok(conf.leptos_options)
}

/// Resolves on Ctrl-C or SIGTERM (cancelling `token`), or when `token` is cancelled.
pub async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = terminate => tracing::info!("SIGTERM: shutting down"),
        _ = token.cancelled() => {}
    }
    token.cancel();
}
