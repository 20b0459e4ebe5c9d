//! Any HTTP request to AOL's whole surface (the agents' API, the dashboard's
//! server functions, health and metrics), unsigned, as an agent or as the
//! signed-in operator, on an in-memory SQLite database: every answer is a
//! status below 500 (a bad request is the caller's mistake, never a server
//! failure), and the server goes on answering.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const HOST: &str = "aol.test";
const OPERATOR_TOKEN: &str = "fuzz-operator-token-0123456789";

/// Where requests go: each door the server has, and some it has not.
const PATHS: &[&str] = &[
    "/api/v1/actions",
    "/api/v1/actions/",
    "/api/v1/flags",
    "/api/v1/openapi.json",
    "/ui/enqueue",
    "/ui/flag",
    "/ui/action_change",
    "/ui/channel_add",
    "/ui/channel_change",
    "/ui/action",
    "/ui/dashboard",
    "/ui/login",
    "/ui/logout",
    "/healthz",
    "/readyz",
    "/metrics",
    "/",
    "/actions/",
];

const METHODS: &[Method] = &[Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD];

const CONTENT_TYPES: &[&str] = &["application/json", "application/x-www-form-urlencoded", "text/plain", ""];

struct World {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    agent_token: String,
    session_cookie: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (app, agent_token) = runtime.block_on(async {
            let db = aol::storage::Db::connect("sqlite::memory:").await.unwrap();
            db.migrate().await.unwrap();
            let agent_token = aol::auth::AgentToken::create(&db, "fuzz", &[]).await.unwrap();
            let adapters = aol::engine::Registry::standard();
            let engine = aol::engine::Engine::new(db, aol::engine::Clock::System, adapters).await.unwrap();
            // Lives as long as the process: the change feed is never stopped.
            let (changes, _feed) = engine.spawn_change_feed(tokio_util::sync::CancellationToken::new());
            let state = aol::web::state::AppState {
                leptos_options: leptos::config::LeptosOptions::builder().output_name("aol").build(),
                engine,
                changes,
                auth: aol::auth::OperatorAuth::from_token(OPERATOR_TOKEN),
                llm_configured: false,
                allowed_hosts: std::sync::Arc::new(vec![HOST.to_string()]),
                public_read: false,
            };
            (aol::server::router(state), agent_token)
        });
        let login = same_origin(Request::post("/ui/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("secret={OPERATOR_TOKEN}")))
            .unwrap();
        let answer = runtime.block_on(app.clone().oneshot(login)).unwrap();
        assert!(answer.status().is_success(), "sign-in: {}", answer.status());
        let set_cookie = answer.headers().get("set-cookie").expect("a session cookie").to_str().unwrap();
        let session_cookie = set_cookie.split(';').next().unwrap().to_string();
        World { runtime, app, agent_token, session_cookie }
    })
}

fn same_origin(builder: http::request::Builder) -> http::request::Builder {
    builder.header("host", HOST).header("origin", format!("http://{HOST}"))
}

fuzz_target!(|input: (u8, u8, u8, u8, &str, &[u8])| {
    let (method, path, content_type, caller, tail, body) = input;
    let w = world();
    let uri = format!("{}{tail}", PATHS[path as usize % PATHS.len()]);
    // Not a request at all (a space in the path): hyper refuses it before AOL sees it.
    let Ok(uri) = uri.parse::<http::Uri>() else { return };
    let mut request = same_origin(Request::builder()).method(METHODS[method as usize % METHODS.len()].clone()).uri(uri);
    let content_type = CONTENT_TYPES[content_type as usize % CONTENT_TYPES.len()];
    if !content_type.is_empty() {
        request = request.header("content-type", content_type);
    }
    request = match caller % 4 {
        0 => request,
        1 => request.header("authorization", format!("Bearer {}", w.agent_token)),
        2 => request.header("authorization", format!("Bearer {OPERATOR_TOKEN}")).header("cookie", &w.session_cookie),
        _ => request.header("authorization", "Bearer not-a-token").header("cookie", "aol_session=forged"),
    };
    let request = request.body(Body::from(body.to_vec())).unwrap();
    let answer = w.runtime.block_on(w.app.clone().oneshot(request)).unwrap();
    assert!(
        answer.status() < StatusCode::INTERNAL_SERVER_ERROR,
        "{} answered {} to {:?}",
        PATHS[path as usize % PATHS.len()],
        answer.status(),
        String::from_utf8_lossy(body)
    );
});
