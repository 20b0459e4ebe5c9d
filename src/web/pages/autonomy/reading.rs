//! The page's latest reading of AOL's state, shared by its cards.
//!
//! The cards redraw only the parts that show data; the forms and buttons are
//! built once and read what they need from here. A field the operator is
//! typing in is therefore never replaced under their fingers (nor loses its
//! focus) while the daemon works and the page refreshes several times a
//! second.

use leptos::prelude::*;

use super::server::DashboardData;
use crate::web::live::Live;

#[derive(Clone, Copy)]
pub struct Reading {
    latest: Resource<Result<DashboardData, ServerFnError>>,
    /// The last good reading, shown while the server is gone: a read made
    /// then fails (the page reads at each change, and a server's shutdown
    /// is one), and the page keeps the last state known, greyed out by its
    /// live region, instead of losing it.
    kept: RwSignal<Option<DashboardData>>,
    live: Live,
}

impl Reading {
    pub fn new(latest: Resource<Result<DashboardData, ServerFnError>>, live: Live) -> Reading {
        let kept = RwSignal::new(None);
        // In the browser only (effects never run on the server).
        Effect::new(move |_| {
            latest.with(|r| {
                if let Some(Ok(d)) = r {
                    kept.set(Some(d.clone()));
                }
            })
        });
        Reading { latest, kept, live }
    }

    /// `f` of the latest good reading; `None` before the first, or while the
    /// server cannot be read (but the last good one while its stream is
    /// lost too, unless the read was refused for want of a session). Tracks
    /// the resource, so call it in a closure under the page's `<Transition>`
    /// (server rendering waits for it there).
    pub fn map<T>(self, f: impl FnOnce(&DashboardData) -> T) -> Option<T> {
        self.latest.with(|r| match r {
            Some(Ok(d)) => Some(f(d)),
            Some(Err(e)) if !self.live.connected.get() && !crate::web::auth::wants_sign_in(e) => {
                self.kept.with(|k| k.as_ref().map(f))
            }
            _ => None,
        })
    }

    /// Why the latest reading failed, if it did.
    pub fn error(self) -> Option<String> {
        self.latest.with(|r| r.as_ref().and_then(|r| r.as_ref().err()).map(ToString::to_string))
    }

    /// One fact of the reading, as a signal that changes only when the fact does.
    pub fn memo<T: PartialEq + Send + Sync + 'static>(
        self,
        f: impl Fn(&DashboardData) -> T + Send + Sync + 'static,
    ) -> Memo<Option<T>> {
        Memo::new(move |_| self.map(&f))
    }
}
