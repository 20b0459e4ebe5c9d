//! The action page's forms, each built once while the action's status allows
//! it: approve or reject its request, change its text, settle it when
//! UNCONFIRMED. All go through one server function (see `server`).

use leptos::prelude::*;

use super::server::{ActionChange, ChangeAction};

/// The operator's changes to this page's action.
#[derive(Clone, Copy)]
pub struct Changes {
    pub id: i64,
    pub action: ServerAction<ChangeAction>,
}

impl Changes {
    /// Sends `change` with its reason; `value` is what goes with it: the
    /// post's link (posted), the request's SHA-256 as shown (approve), the
    /// new text (edit).
    pub fn send(self, change: ActionChange, reason: Option<String>, value: Option<String>) {
        let reason = reason.filter(|r| !r.trim().is_empty());
        let (mut url, mut sha, mut text) = (None, None, None);
        match change {
            ActionChange::Posted => url = value,
            ActionChange::Approve => sha = value,
            ActionChange::Edit => text = value,
            _ => {}
        }
        self.action.dispatch(ChangeAction { id: self.id, change, url, reason, sha, text });
    }

    fn busy(self) -> bool {
        self.action.pending().get()
    }
}

/// A text field bound to `signal`.
fn field(signal: RwSignal<String>, testid: &'static str, placeholder: &'static str) -> impl IntoView {
    view! {
        <input type="text" class="reason" data-testid=testid placeholder=placeholder maxlength="200"
            prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/>
    }
}

/// Approve (the request shown: `sha` as it is at the click) or reject.
#[component]
pub fn DecideForm(change: Changes, sha: Signal<Option<String>>) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let decide = move |approve: bool| {
        let (how, value) =
            if approve { (ActionChange::Approve, sha.get_untracked()) } else { (ActionChange::Reject, None) };
        change.send(how, Some(reason.get_untracked()), value);
    };
    view! {
        <section class="card" aria-label="Approve" data-testid="decide">
            <h2>"Approve this request?"</h2>
            <p class="meta">
                "Its channel's policy wants a yes before it goes out. The approval holds for exactly the request "
                "shown above (its SHA-256), once, for 24 hours; changing the text voids it."
            </p>
            <div class="controls">
                {field(reason, "decide-reason", "Reason (optional, recorded)")}
                <button class="btn" data-testid="approve" disabled=move || change.busy() on:click=move |_| decide(true)>"Approve"</button>
                <button class="btn btn-danger" data-testid="reject" disabled=move || change.busy() on:click=move |_| decide(false)>"Reject"</button>
            </div>
        </section>
    }
}

/// A new text for a post not yet sent.
#[component]
pub fn EditForm(change: Changes, text: String) -> impl IntoView {
    let (text, reason) = (RwSignal::new(text), RwSignal::new(String::new()));
    view! {
        <section class="card" aria-label="Edit" data-testid="edit">
            <h2>"Change the text"</h2>
            <p class="meta">"Not sent yet: its text can change. An approval of the old request no longer holds."</p>
            <textarea data-testid="edit-text" rows="3"
                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="controls">
                {field(reason, "edit-reason", "Reason (optional, recorded)")}
                <button class="btn" data-testid="edit-save" disabled=move || change.busy()
                    on:click=move |_| change.send(ActionChange::Edit, Some(reason.get_untracked()), Some(text.get_untracked()))>
                    "Save"
                </button>
            </div>
        </section>
    }
}

/// "It was posted" (with an optional link) or "send it again", with a reason.
#[component]
pub fn ResolveForm(change: Changes) -> impl IntoView {
    let (url, reason) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let settle = move |posted: bool| {
        let (how, value) =
            if posted { (ActionChange::Posted, Some(url.get_untracked())) } else { (ActionChange::SendAgain, None) };
        change.send(how, Some(reason.get_untracked()), value.filter(|v| !v.trim().is_empty()));
    };
    view! {
        <section class="card" aria-label="Settle" data-testid="resolve">
            <h2>"Was it posted?"</h2>
            <p class="meta">
                "The request may have reached the platform and its answer was lost, so AOL does not send it again by itself. "
                "Check the account, then say what you found."
            </p>
            <div class="controls">
                <input type="url" class="link" data-testid="resolve-url" placeholder="Link to the post (optional)"
                    prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                {field(reason, "resolve-reason", "Reason (optional, recorded)")}
                <button class="btn" data-testid="resolve-posted" disabled=move || change.busy()
                    on:click=move |_| settle(true)>"It was posted"</button>
                <button class="btn btn-danger" data-testid="resolve-resend" disabled=move || change.busy()
                    on:click=move |_| settle(false)>"Send it again"</button>
            </div>
        </section>
    }
}
