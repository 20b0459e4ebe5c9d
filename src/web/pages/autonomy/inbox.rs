//! The approval inbox: each REAL post its channel's policy holds for an
//! operator's yes, with exactly the request that would leave (the bytes and
//! SHA-256 an approval binds to), and approve / reject with a reason.

use leptos::either::Either;
use leptos::prelude::*;

use super::reading::Reading;
use crate::web::pages::action::{ActionChange, ChangeAction, Changes};
use crate::web::server_html::Html;

/// The inbox's state, owned by the page: the reason field is built once, so
/// what is typed there survives the refreshes.
#[derive(Clone, Copy)]
pub struct InboxState {
    pub decide: ServerAction<ChangeAction>,
    reason: RwSignal<String>,
}

impl InboxState {
    pub fn new() -> InboxState {
        InboxState { decide: ServerAction::new(), reason: RwSignal::new(String::new()) }
    }

    /// Approves (the request as shown: `sha`) or rejects action `id`, with the reason typed.
    fn send(self, id: i64, change: ActionChange, sha: Option<String>) {
        Changes { id, action: self.decide }.send(change, Some(self.reason.get_untracked()), sha);
    }
}

#[component]
pub fn InboxCard(reading: Reading, operator: Signal<bool>, state: InboxState) -> impl IntoView {
    let waiting = reading.memo(|d| d.status.awaiting);
    let error = move || state.decide.value().get().and_then(Result::err).map(|e| e.to_string());
    crate::web::erase(view! {
        <section class="card" aria-label="Approvals" id="approvals">
            <h2>"Waiting for approval " <span class="pill status-awaiting_approval" data-testid="inbox-count">
                {move || waiting.get().unwrap_or(0)}
            </span></h2>
            <p class="meta">"REAL posts their channel's policy holds for a yes. Each approval holds for exactly the request shown, once, for 24 hours."</p>
            {crate::web::show::show(move || operator.get(), move || view! {
                <input type="text" class="reason" data-testid="inbox-reason" placeholder="Reason (optional, recorded)" maxlength="200"
                    prop:value=move || state.reason.get() on:input=move |ev| state.reason.set(event_target_value(&ev))/>
            })}
            {move || error().map(|e| view! { <p class="error-text" role="alert" data-testid="inbox-error">{e}</p> })}
            {move || reading.map(|d| view! { <InboxList items=d.inbox.clone() operator=operator.get_untracked() state/> })}
        </section>
    })
}

/// One action awaiting approval: what it would send, drawn by the server
/// (see `web::server_html`), and the SHA-256 an approval from here binds to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboxEntry {
    pub id: i64,
    pub key: String,
    pub sha: Option<String>,
    pub shown: Html,
}

#[cfg(feature = "ssr")]
impl From<crate::model::InboxItem> for InboxEntry {
    fn from(item: crate::model::InboxItem) -> InboxEntry {
        use crate::web::time_text;
        let a = item.action;
        let id = a.id;
        let sha = item.request.as_ref().map(|r| r.sha256.clone());
        let shown = Html::render(view! {
            <p>
                <a href=format!("/actions/{id}")>"#" {id}</a> " "
                <span class="key">{a.key().to_string()}</span>
                " on " <strong>{a.channel.clone().unwrap_or_default()}</strong>
                " · asked " {time_text::date_hms(a.updated_at_utc)} " UTC"
            </p>
            {item.post.as_ref().map(crate::web::post_html::post)}
            {item.request.map(|r| view! {
                <details class="requests">
                    <summary>{format!("The exact request{} ({}), to ", if r.requests == 1 { "" } else { "s" }, r.requests)} <span class="key">{r.url}</span></summary>
                    <pre class="code" data-testid="inbox-request">{crate::web::post_html::pretty(&r.body)}</pre>
                </details>
                <p class="key" data-testid="inbox-sha">"SHA-256 " {r.sha256}</p>
            })}
            {item.problem.map(|p| view! { <p class="error-text">"Cannot be approved: " {p}</p> })}
        });
        InboxEntry { id, key: a.key().to_string(), sha, shown }
    }
}

#[component]
fn InboxList(items: Vec<InboxEntry>, operator: bool, state: InboxState) -> impl IntoView {
    if items.is_empty() {
        return Either::Left(view! { <p class="empty" data-testid="inbox-empty">"Nothing waits for approval."</p> });
    }
    Either::Right(view! {
        <ul class="inbox" data-testid="inbox">
            {items.into_iter().map(|InboxEntry { id, key, sha, shown }| view! {
                <li class="inbox-item" data-testid="inbox-item" data-key=key>
                    {shown.view()}
                    {operator.then(|| view! {
                        <div class="controls">
                            <button class="btn" data-testid="inbox-approve"
                                on:click=move |_| state.send(id, ActionChange::Approve, sha.clone())>"Approve"</button>
                            <button class="btn btn-danger" data-testid="inbox-reject"
                                on:click=move |_| state.send(id, ActionChange::Reject, None)>"Reject"</button>
                        </div>
                    })}
                </li>
            }).collect_view()}
        </ul>
    })
}
