//! The Audit page: the audit trail, newest first, filtered by action, who,
//! event and time (a plain form: the filter is in the address, so a view can
//! be linked to), with the chain's head and a "Verify now".

#[cfg(feature = "ssr")]
mod drawn;
mod server;

use leptos::prelude::*;

use crate::web::live::{use_live, LiveRegion};
use server::{get_audit, VerifyAudit};

/// The filter, as the page's address carries it (`?action=7&who=ana…`).
fn query() -> String {
    #[cfg(feature = "ssr")]
    let query = use_context::<http::request::Parts>().and_then(|p| p.uri.query().map(str::to_string));
    #[cfg(not(feature = "ssr"))]
    let query = window().location().search().ok().map(|s| s.trim_start_matches('?').to_string());
    query.unwrap_or_default()
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let live = use_live();
    let session = crate::web::session_bar::use_session();
    let verify = ServerAction::<VerifyAudit>::new();
    let query = query();
    let data = Resource::new(
        move || (live.changes.get(), verify.version().get(), session.version()),
        move |_| get_audit(query.clone()),
    );
    let verdict = move || verify.value().get().map(|r| r.unwrap_or_else(|e| e.to_string()));
    view! {
        <header class="page-header">
            <h1><a href="/" class="home">"AOL"</a></h1>
            <span class="page-subtitle">"Audit trail"</span>
        </header>
        <p><a href="/" data-testid="back">"← Autonomy"</a></p>
        <LiveRegion live>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || data.get().map(|d| match d {
                Ok(html) => leptos::either::Either::Left(html.view()),
                Err(e) => leptos::either::Either::Right(crate::web::session_bar::unreadable(e)),
            })}
        </Transition>
        </LiveRegion>
        <p>
            <button class="btn" data-testid="audit-verify" on:click=move |_| { verify.dispatch(VerifyAudit {}); }>
                "Verify the chain now"
            </button>
            " " <span data-testid="audit-verdict">{verdict}</span>
        </p>
    }
}
