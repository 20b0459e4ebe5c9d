//! Trying a POST_SOCIAL by hand: the same validation and idempotency as an
//! agent's enqueue. Its state is owned by the page, so signing out and in
//! again keeps what was typed.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use super::server::EnqueuePost;

#[derive(Clone, Copy)]
pub struct EnqueueState {
    pub action: ServerAction<EnqueuePost>,
    pub key: RwSignal<String>,
    pub text: RwSignal<String>,
    pub channel: RwSignal<String>,
    /// Times as typed: RFC 3339, or "2026-11-28 09:00" (UTC); blank for none.
    pub scheduled_for: RwSignal<String>,
    pub not_after: RwSignal<String>,
}

impl EnqueueState {
    pub fn new() -> EnqueueState {
        EnqueueState {
            action: ServerAction::new(),
            key: RwSignal::new(String::new()),
            text: RwSignal::new(String::new()),
            channel: RwSignal::new(String::new()),
            scheduled_for: RwSignal::new(String::new()),
            not_after: RwSignal::new(String::new()),
        }
    }
}

#[component]
pub fn EnqueueForm(state: EnqueueState) -> impl IntoView {
    let result = move || {
        state.action.value().get().map(|r| match r {
            Ok(e) if e.duplicate => EitherOf3::A(view! {
                <p class="meta" data-testid="enqueue-result">
                    "Duplicate key: nothing added. The existing action is "
                    <a href=format!("/actions/{}", e.id)>"#" {e.id}</a> " (" {e.status} ")."
                </p>
            }),
            Ok(e) => EitherOf3::B(view! {
                <p class="meta" data-testid="enqueue-result">
                    "Enqueued " <a href=format!("/actions/{}", e.id) data-testid="enqueued-link">"#" {e.id}</a> "."
                </p>
            }),
            Err(e) => EitherOf3::C(
                view! { <p class="error-text" role="alert" data-testid="enqueue-result">{e.to_string()}</p> },
            ),
        })
    };
    let text = move |signal: RwSignal<String>, testid: &'static str, placeholder: &'static str| {
        view! {
            <input type="text" data-testid=testid placeholder=placeholder
                prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/>
        }
    };
    let optional = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
    crate::web::erase(view! {
        <form class="enqueue-form" data-testid="enqueue-form" on:submit=move |ev| {
            ev.prevent_default();
            state.action.dispatch(EnqueuePost {
                key: state.key.get_untracked(),
                text: state.text.get_untracked(),
                channel: optional(state.channel),
                scheduled_for: optional(state.scheduled_for),
                not_after: optional(state.not_after),
            });
        }>
            <label class="field"><span>"Idempotency key"</span>{text(state.key, "enqueue-key", "e.g. launch-post-1")}</label>
            <label class="field"><span>"Channel (blank: none)"</span>{text(state.channel, "enqueue-channel", "e.g. brand")}</label>
            <label class="field"><span>"Not before (UTC, or add a zone)"</span>{text(state.scheduled_for, "enqueue-scheduled-for", "2026-11-28 09:00 Europe/Berlin")}</label>
            <label class="field"><span>"Not after (UTC)"</span>{text(state.not_after, "enqueue-not-after", "2026-11-28 18:00")}</label>
            <label class="field field-wide">
                <span>"Text to post"</span>
                <textarea
                    data-testid="enqueue-text"
                    rows="2"
                    prop:value=move || state.text.get()
                    on:input=move |ev| state.text.set(event_target_value(&ev))
                ></textarea>
            </label>
            <button class="btn" type="submit" data-testid="enqueue-submit" disabled=move || state.action.pending().get()>
                "Enqueue POST_SOCIAL"
            </button>
            {result}
        </form>
    })
}
