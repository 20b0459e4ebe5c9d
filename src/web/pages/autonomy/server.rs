//! The Autonomy page's server functions: thin calls into the engine.

use leptos::prelude::*;

use crate::model::{ControlFlags, FlagCommand, Overview};

#[server]
pub async fn get_overview() -> Result<Overview, ServerFnError> {
    crate::web::state::engine().overview().await.map_err(ssr::internal)
}

#[server]
pub async fn run_flag_command(command: FlagCommand) -> Result<ControlFlags, ServerFnError> {
    let actor = crate::storage::Actor { who: "dashboard", reason: None };
    let outcome = crate::web::state::engine().apply_flag_command(command, &actor).await.map_err(ssr::internal)?;
    Ok(outcome.flags)
}

#[cfg(feature = "ssr")]
mod ssr {
    use leptos::prelude::ServerFnError;

    use crate::storage::StoreError;

    /// Logs the detail on the server; the browser gets a message without SQL or URLs.
    pub fn internal(e: StoreError) -> ServerFnError {
        tracing::error!(error = %e, "server function failed");
        ServerFnError::new("the database could not be read or written; see the server log")
    }
}
