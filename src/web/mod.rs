//! The web UI. It reaches the engine only through server functions.

pub mod auth;
mod codec;
#[cfg(feature = "ssr")]
pub mod events;
pub mod live;
mod pages;
#[cfg(feature = "ssr")]
mod post_html;
mod server_html;
mod session_bar;
mod show;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
mod time_text;

use leptos::either::EitherOf4;
use leptos::prelude::*;
use pages::action::ActionPage;
use pages::audit::AuditPage;
use pages::autonomy::AutonomyPage;
pub use pages::route::{Page, PAGE_PATHS};

/// Where the dashboard reads stored media files: `MEDIA_URL/<sha256>`.
pub const MEDIA_URL: &str = "/ui/media";

/// A stored media file, for the pages (served under the same rule as their data).
#[cfg(feature = "ssr")]
pub async fn media_file(
    axum::extract::State(engine): axum::extract::State<crate::engine::Engine>,
    axum::extract::Path(sha256): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match crate::api::media::file_response(&engine, &sha256).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The HTML document around the app (server-side only). The title and the
/// style sheet are the same on every page, so they are written here, not by
/// leptos_meta from inside the app (its code would ship in the wasm).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <link rel="stylesheet" id="leptos" href="/pkg/aol.css"/>
                <title>"AOL · Autonomy"</title>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: its scripts are its own (the inline
/// loader carries this response's nonce), its wasm may compile, nothing loads
/// from another site, and no site may frame it. (Live reload, under `cargo
/// leptos watch`, also connects to its websocket.)
#[cfg(feature = "ssr")]
fn set_page_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let live_reload = if std::env::var_os("LEPTOS_WATCH").is_some() { " ws: wss:" } else { "" };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self'; connect-src 'self'{live_reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    // Effects run only in the browser, after hydration: this marks the page as
    // interactive (the end-to-end tests wait for it before clicking).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    session_bar::Session::provide();
    view! {
        <main>
            <session_bar::SessionBar/>
            {match Page::current() {
                Page::Autonomy => EitherOf4::A(erase(view! { <AutonomyPage/> })),
                Page::Action(id) => EitherOf4::B(erase(view! { <ActionPage id/> })),
                Page::Audit => EitherOf4::C(erase(view! { <AuditPage/> })),
                Page::NotFound => {
                    #[cfg(feature = "ssr")]
                    crate::web::auth::ssr::set_status(http::StatusCode::NOT_FOUND);
                    EitherOf4::D(view! { <p class="not-found">"Page not found."</p> })
                }
            }}
        </main>
    }
}

/// The CSS class of a status word's pill: `pill status-success`.
#[cfg(feature = "ssr")]
pub(crate) fn pill_class(kind: &str, word: &str) -> String {
    format!("pill {kind}-{}", word.to_ascii_lowercase())
}

/// A view type-erased on the server only. Deep view types overflow the stack
/// of debug server builds as they render; in the browser erasing costs code
/// size (each erased type brings its own build, hydrate and rebuild code:
/// 57 KB of gzipped wasm for the Autonomy page's cards), and the HTML is the
/// same either way.
#[cfg(feature = "ssr")]
pub fn erase<V: leptos::prelude::IntoView + 'static>(view: V) -> leptos::prelude::AnyView {
    use leptos::prelude::IntoAny;
    view.into_any()
}

/// See the server's `erase`: in the browser the view keeps its type.
#[cfg(not(feature = "ssr"))]
pub fn erase<V: leptos::prelude::IntoView + 'static>(view: V) -> V {
    view
}
