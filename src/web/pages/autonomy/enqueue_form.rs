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
}

impl EnqueueState {
    pub fn new() -> EnqueueState {
        EnqueueState {
            action: ServerAction::new(),
            key: RwSignal::new(String::new()),
            text: RwSignal::new(String::new()),
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
                    <a href=format!("/actions/{}", e.action.id)>"#" {e.action.id}</a> " (" {e.action.status} ")."
                </p>
            }),
            Ok(e) => EitherOf3::B(view! {
                <p class="meta" data-testid="enqueue-result">
                    "Enqueued " <a href=format!("/actions/{}", e.action.id) data-testid="enqueued-link">"#" {e.action.id}</a> "."
                </p>
            }),
            Err(e) => EitherOf3::C(view! { <p class="error-text" role="alert" data-testid="enqueue-result">{e.to_string()}</p> }),
        })
    };
    crate::web::erase(view! {
        <form class="enqueue-form" data-testid="enqueue-form" on:submit=move |ev| {
            ev.prevent_default();
            state.action.dispatch(EnqueuePost { key: state.key.get_untracked(), text: state.text.get_untracked() });
        }>
            <label class="field">
                <span>"Idempotency key"</span>
                <input
                    data-testid="enqueue-key"
                    type="text"
                    maxlength="200"
                    placeholder="e.g. launch-post-1"
                    prop:value=move || state.key.get()
                    on:input=move |ev| state.key.set(event_target_value(&ev))
                />
            </label>
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
