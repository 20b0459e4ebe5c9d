//! What every request handler and server function can reach.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::engine::Engine;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub engine: Engine,
}

/// The engine, from inside a server function (leptos_axum provides the state as context).
pub fn engine() -> Engine {
    leptos::prelude::expect_context::<AppState>().engine
}
