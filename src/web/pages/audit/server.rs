//! The Audit page's server functions.

use leptos::prelude::*;

use crate::web::server_html::Html;

/// The page, drawn by the server from the filter in `query` (the address's
/// query string): the chain's head, the last check, the filter form, rows.
#[server(prefix = "/ui", endpoint = "audit", output = crate::web::codec::JsonText)]
pub async fn get_audit(query: String) -> Result<Html, ServerFnError> {
    use crate::web::state::internal_error;
    let actor = crate::web::auth::ssr::require_to_read(crate::model::Right::Audit).await?;
    let filter = super::drawn::Filter::parse(&query).map_err(|e| {
        crate::web::auth::ssr::set_status(http::StatusCode::BAD_REQUEST);
        ServerFnError::new(e)
    })?;
    let engine = crate::web::state::engine();
    let rows = engine.audit_find(&actor, &filter.find).await.map_err(|e| match e {
        crate::engine::audit::AuditError::Forbidden(f) => crate::web::auth::ssr::forbidden(f),
        crate::engine::audit::AuditError::Store(e) => internal_error(e),
    })?;
    let (head, last) = engine.audit_state().await.map_err(internal_error)?;
    Ok(super::drawn::page(&filter, &rows, head, last))
}

/// Recomputes the chain now (and records the verdict for the page).
#[server(prefix = "/ui", endpoint = "audit_verify", output = crate::web::codec::JsonText)]
pub async fn verify_audit() -> Result<String, ServerFnError> {
    let actor = crate::web::auth::ssr::require(crate::model::Right::View).await?;
    let engine = crate::web::state::engine();
    match engine.audit_verify(&actor).await {
        Ok(check) => Ok(check.to_string()),
        Err(crate::engine::audit::AuditError::Forbidden(f)) => Err(crate::web::auth::ssr::forbidden(f)),
        Err(crate::engine::audit::AuditError::Store(e)) => Err(crate::web::state::internal_error(e)),
    }
}
