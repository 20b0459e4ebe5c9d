//! The page's latest reading of AOL's state, shared by its cards.
//!
//! The cards redraw only the parts that show data; the forms and buttons are
//! built once and read what they need from here. A field the operator is
//! typing in is therefore never replaced under their fingers (nor loses its
//! focus) while the daemon works and the page refreshes several times a
//! second.

use leptos::prelude::*;

use super::server::DashboardData;

#[derive(Clone, Copy)]
pub struct Reading(pub Resource<Result<DashboardData, ServerFnError>>);

impl Reading {
    /// `f` of the latest good reading; `None` before the first, or while the
    /// server cannot be read. Tracks the resource, so call it in a closure
    /// under the page's `<Transition>` (server rendering waits for it there).
    pub fn map<T>(self, f: impl FnOnce(&DashboardData) -> T) -> Option<T> {
        self.0.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(f))
    }

    /// Why the latest reading failed, if it did.
    pub fn error(self) -> Option<String> {
        self.0.with(|r| r.as_ref().and_then(|r| r.as_ref().err()).map(ToString::to_string))
    }

    /// One fact of the reading, as a signal that changes only when the fact does.
    pub fn memo<T: PartialEq + Send + Sync + 'static>(
        self,
        f: impl Fn(&DashboardData) -> T + Send + Sync + 'static,
    ) -> Memo<Option<T>> {
        Memo::new(move |_| self.map(&f))
    }
}
