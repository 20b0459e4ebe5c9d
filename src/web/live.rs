//! Live pages. The server pushes a "change" event (see `web::events`) when
//! something a page shows has changed; the page's resources read
//! [`Live::changes`] and fetch again. Nothing is polled from the browser.
//! Effects never run on the server, so all of this starts after hydration.

use std::time::Duration;

use crate::web::show::show;
use leptos::prelude::*;

/// Where the events come from.
pub const EVENTS_URL: &str = "/ui/events";

/// The name of the events the page listens for.
pub const CHANGE_EVENT: &str = "change";

/// If the browser gives up on the stream (it retries by itself only after
/// network errors), the page opens a new one after this long.
#[cfg(feature = "hydrate")]
const REOPEN_AFTER: Duration = Duration::from_secs(2);

/// The live state of an open page.
#[derive(Clone, Copy)]
pub struct Live {
    /// Grows with every change the server reports (and on each reconnection).
    pub changes: RwSignal<u64>,
    /// Whether the event stream is open: when it is not, what the page shows
    /// may be out of date, and the page says so.
    pub connected: RwSignal<bool>,
    /// Seconds since the page started; moves relative times ("3 s ago")
    /// between changes.
    pub seconds: RwSignal<i64>,
}

/// Starts listening; stops when the calling component goes away.
pub fn use_live() -> Live {
    let live = Live { changes: RwSignal::new(0), connected: RwSignal::new(true), seconds: RwSignal::new(0) };
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || live.seconds.update(|s| *s += 1), Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    });
    #[cfg(feature = "hydrate")]
    {
        // Only while someone who may look is signed in (the server refuses
        // the stream otherwise); signing in opens it at once.
        let session = crate::web::session_bar::use_session();
        let opened = RwSignal::new(0u32);
        Effect::new(move |_| {
            opened.track();
            if session.me().may(crate::model::Right::View) {
                listen(live, opened);
            } else {
                live.connected.set(true);
            }
        });
    }
    live
}

impl Live {
    /// Seconds since this call (make it in the component that renders a
    /// reading): the browser's own clock may be wrong, its count of seconds
    /// is not.
    pub fn since_now(self) -> impl Fn() -> i64 + Copy {
        let born = self.seconds.get_untracked();
        move || self.seconds.get() - born
    }
}

/// Opens the event stream; bumps `opened` to be called again if the browser
/// closes the stream for good.
#[cfg(feature = "hydrate")]
fn listen(live: Live, opened: RwSignal<u32>) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::EventSource;

    let Ok(source) = EventSource::new(EVENTS_URL) else {
        live.connected.set(false);
        set_timeout(move || opened.update(|n| *n += 1), REOPEN_AFTER);
        return;
    };
    let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
        live.connected.set(true);
        live.changes.update(|n| *n += 1);
    });
    let closed_source = source.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        live.connected.set(false);
        if closed_source.ready_state() == EventSource::CLOSED {
            set_timeout(move || opened.update(|n| *n += 1), REOPEN_AFTER);
        }
    });
    let _ = source.add_event_listener_with_callback(CHANGE_EVENT, on_change.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let held = SendWrapper::new((source, on_change, on_error));
    on_cleanup(move || {
        let (source, _on_change, _on_error) = held.take();
        source.set_onerror(None);
        source.close();
    });
}

/// Says when the page has lost the server, and wraps the page's panels so that
/// they show greyed out (the last state known) until it is back. The children
/// keep their type (`Children` would erase it, which costs wasm code).
#[component]
pub fn LiveRegion<C: IntoView + 'static>(live: Live, children: TypedChildren<C>) -> impl IntoView {
    view! {
        {show(move || !live.connected.get(), || view! {
            <p class="banner banner-error" role="alert" data-testid="connection-lost">
                "Lost the connection to AOL: what follows may be out of date. Reconnecting…"
            </p>
        })}
        <div class="live-region" class:stale=move || !live.connected.get()>
            {children.into_inner()()}
        </div>
    }
}
