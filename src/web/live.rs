//! Live pages: a counter that goes up every second in the browser (effects
//! never run on the server), so the resources that read it fetch again.

use std::time::Duration;

use leptos::prelude::*;

/// How often a live page re-reads the database (the SPEC allows 2 s).
pub const REFRESH_EVERY: Duration = Duration::from_millis(1000);

/// A signal that changes every [`REFRESH_EVERY`] while the page is open.
pub fn use_refresh() -> RwSignal<u64> {
    let refresh = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || refresh.update(|n| *n += 1), REFRESH_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    refresh
}
