//! AOL, the Autonomy Orchestration Layer.
//!
//! Layout: `model` is plain data shared with the browser; `storage` (the
//! tables), `engine` (flags, daemon), `api` (the agents' HTTP API), `mcp` (the same for MCP clients), `auth`
//! (tokens) and the process wiring (`cli`, `config`, `server`) are
//! server-only; `web` is the Leptos UI, which reaches the engine only through
//! server functions.

// The hydrate build's view types nest deeper than rustc's default allows.
#![recursion_limit = "256"]

pub mod model;
pub mod web;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod engine;
#[cfg(feature = "ssr")]
pub mod logging;
#[cfg(feature = "ssr")]
pub mod mcp;
#[cfg(feature = "ssr")]
pub mod ops;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod storage;

/// Browser entry point: attaches the server-rendered page to the wasm app.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(web::App);
}
