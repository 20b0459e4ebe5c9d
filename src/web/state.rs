//! What every request handler and server function can reach.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::auth::OperatorAuth;
use crate::engine::Engine;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub engine: Engine,
    pub auth: OperatorAuth,
    /// Whether OPENAI_API_KEY is set (the key itself never leaves the server).
    pub llm_configured: bool,
}

/// The engine, from inside a server function (leptos_axum provides the state as context).
pub fn engine() -> Engine {
    leptos::prelude::expect_context::<AppState>().engine
}

/// The operator-token checker, from inside a server function.
pub fn auth() -> OperatorAuth {
    leptos::prelude::expect_context::<AppState>().auth
}
