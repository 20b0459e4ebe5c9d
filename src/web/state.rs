//! What every request handler and server function can reach.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::auth::OperatorAuth;
use crate::engine::{ChangeFeed, Engine};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub engine: Engine,
    /// Tells open pages when to re-read (see `web::events`).
    pub changes: ChangeFeed,
    pub auth: OperatorAuth,
    /// Whether OPENAI_API_KEY is set (the key itself never leaves the server).
    #[from_ref(skip)]
    pub llm_configured: bool,
    /// Host names answered besides IP addresses and localhost (AOL_ALLOWED_HOSTS).
    pub allowed_hosts: std::sync::Arc<Vec<String>>,
    /// Whether anyone who reaches the server may look without signing in
    /// (AOL_PUBLIC_READ); changes always need a person.
    #[from_ref(skip)]
    pub public_read: bool,
}

/// The engine, from inside a server function (leptos_axum provides the state as context).
pub fn engine() -> Engine {
    leptos::prelude::expect_context::<AppState>().engine
}

/// The operator-token checker, from inside a server function.
pub fn auth() -> OperatorAuth {
    leptos::prelude::expect_context::<AppState>().auth
}

/// A storage failure as a server function reports it: the detail goes to the
/// server log; the browser gets a message without SQL or URLs.
pub fn internal_error(e: crate::storage::StoreError) -> leptos::prelude::ServerFnError {
    tracing::error!(error = %e, "server function failed");
    leptos::prelude::ServerFnError::new("the database could not be read or written; see the server log")
}
