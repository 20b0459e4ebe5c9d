//! `<Show>` without its type erasure.
//!
//! Leptos's `<Show>` turns its children into an `AnyView`, and in the browser
//! every erased view type brings its own copy of the build, hydrate and
//! rebuild code (about 1 KB of gzipped wasm a `<Show>` here). These keep the
//! children's type in the browser; like `<Show>`, the children are built again
//! only when the condition changes, not whenever what it reads does.

use leptos::either::Either;
use leptos::prelude::*;

/// The view while `when` holds, nothing otherwise.
pub fn show<V: IntoView + 'static>(
    when: impl Fn() -> bool + Send + Sync + 'static,
    view: impl Fn() -> V + Send + Sync + 'static,
) -> impl IntoView {
    let when = Memo::new(move |_| when());
    move || when.get().then(|| super::erase(view()))
}

/// `view` while `when` holds, `fallback` otherwise.
pub fn show_or<V: IntoView + 'static, F: IntoView + 'static>(
    when: impl Fn() -> bool + Send + Sync + 'static,
    view: impl Fn() -> V + Send + Sync + 'static,
    fallback: impl Fn() -> F + Send + Sync + 'static,
) -> impl IntoView {
    let when = Memo::new(move |_| when());
    move || if when.get() { Either::Left(super::erase(view())) } else { Either::Right(super::erase(fallback())) }
}
