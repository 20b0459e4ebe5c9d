//! The queue card: depth per status, the enqueue form, then the actions, filtered by status,
//! type or exact key, a page at a time (keyset paging: fast at any size).

use crate::web::show::show;
#[cfg(feature = "ssr")]
use leptos::either::Either;
use leptos::prelude::*;

use super::enqueue_form::{EnqueueForm, EnqueueState};
use super::reading::Reading;
#[cfg(feature = "ssr")]
use super::server::PAGE_SIZE;
#[cfg(feature = "ssr")]
use crate::model::{Action, StatusCount};
use crate::model::{ActionFilter, ActionStatus};
use crate::web::server_html::{drawn, Html};

/// The filter and the page, owned by the page so refreshes keep them.
#[derive(Clone, Copy)]
pub struct QueueState {
    pub status: RwSignal<String>,
    pub action_type: RwSignal<String>,
    pub key: RwSignal<String>,
    /// Ids the pages start before; empty = the newest page.
    pub pages: RwSignal<Vec<i64>>,
}

impl QueueState {
    pub fn new() -> QueueState {
        QueueState {
            status: RwSignal::new(String::new()),
            action_type: RwSignal::new(String::new()),
            key: RwSignal::new(String::new()),
            pages: RwSignal::new(Vec::new()),
        }
    }

    /// The filter the server is asked for.
    pub fn filter(&self) -> ActionFilter {
        let some = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        ActionFilter {
            status: some(self.status.get()),
            action_type: some(self.action_type.get()),
            key: some(self.key.get()),
            before_id: self.pages.get().last().copied(),
            enqueued_by: None,
        }
    }
}

/// The queue as one reading shows it: the depths and a page of actions
/// drawn by the server (see `web::server_html`), and where the older page starts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueView {
    pub counts: Html,
    pub actions: Html,
    /// The page's oldest action: the next page starts before it.
    pub oldest: Option<i64>,
    /// A whole page: there may be older actions.
    pub full: bool,
}

#[cfg(feature = "ssr")]
impl QueueView {
    pub fn draw(counts: &[StatusCount], actions: &[Action]) -> QueueView {
        QueueView {
            counts: Html::render(queue_counts(counts)),
            actions: Html::render(actions_table(actions)),
            oldest: actions.last().map(|a| a.id),
            full: actions.len() as i64 == PAGE_SIZE,
        }
    }
}

#[component]
pub fn QueueCard(reading: Reading, operator: Signal<bool>, enqueue: EnqueueState, queue: QueueState) -> impl IntoView {
    let action_types = reading.memo(|d| d.action_types.clone());
    let page = reading.memo(|d| (d.queue.oldest, d.queue.full));
    crate::web::erase(view! {
        <section class="card" aria-label="Queue">
            <h2>"Queue"</h2>
            {drawn(move || reading.map(|d| d.queue.counts.clone()))}
            {show(move || operator.get(), move || view! {
                <h3>"Try a POST_SOCIAL by hand"</h3>
                <EnqueueForm state=enqueue/>
            })}
            <h3>"Actions"</h3>
            <QueueFilter state=queue action_types=Signal::derive(move || action_types.get().unwrap_or_default())/>
            {drawn(move || reading.map(|d| d.queue.actions.clone()))}
            <Pager state=queue page=Signal::derive(move || page.get().unwrap_or((None, false)))/>
        </section>
    })
}

#[cfg(feature = "ssr")]
fn queue_counts(counts: &[StatusCount]) -> impl IntoView {
    if counts.is_empty() {
        return Either::Left(view! { <p class="empty">"The queue is empty."</p> });
    }
    let items = counts
        .iter()
        .map(|c| {
            view! {
                <li>
                    <span class=crate::web::pill_class("status", &c.status)>{c.status.clone()}</span>
                    " " <strong>{c.count}</strong>
                </li>
            }
        })
        .collect_view();
    Either::Right(view! { <ul class="counts" data-testid="queue-counts">{items}</ul> })
}

#[component]
fn QueueFilter(state: QueueState, action_types: Signal<Vec<String>>) -> impl IntoView {
    // Any change of filter starts again from the newest page.
    let set = move |signal: RwSignal<String>, value: String| {
        signal.set(value);
        state.pages.set(Vec::new());
    };
    crate::web::erase(view! {
        <div class="filter-bar" data-testid="queue-filter">
            <label class="field">
                <span>"Status"</span>
                <select data-testid="filter-status" prop:value=move || state.status.get()
                    on:change=move |ev| set(state.status, event_target_value(&ev))>
                    <option value="">"All"</option>
                    {ActionStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Type"</span>
                <select data-testid="filter-type" prop:value=move || state.action_type.get()
                    on:change=move |ev| set(state.action_type, event_target_value(&ev))>
                    <option value="">"All"</option>
                    {move || action_types.get().into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Idempotency key"</span>
                <input data-testid="filter-key" type="search" placeholder="exact key"
                    prop:value=move || state.key.get()
                    on:input=move |ev| set(state.key, event_target_value(&ev))/>
            </label>
        </div>
    })
}

#[cfg(feature = "ssr")]
fn actions_table(actions: &[Action]) -> impl IntoView {
    if actions.is_empty() {
        return Either::Left(view! { <p class="empty" data-testid="no-actions">"No action matches."</p> });
    }
    let rows = actions
        .iter()
        .map(|a| {
            view! {
                <tr>
                    <td><a href=format!("/actions/{}", a.id) data-testid="action-link">{a.id}</a></td>
                    <td>{a.action_type.clone()}</td>
                    <td class="key">{a.key().to_string()}</td>
                    <td><span class=crate::web::pill_class("status", &a.status)>{a.status.clone()}</span></td>
                    <td>{a.attempts}</td>
                    <td class="error-text">{a.last_error.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <table class="table table-actions" data-testid="actions">
            <thead>
                <tr><th>"#"</th><th>"Type"</th><th>"Key"</th><th>"Status"</th><th>"Attempts"</th><th>"Last error"</th></tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    })
}

/// Newest and older pages: `page` is the shown page's (oldest id, whole page).
#[component]
fn Pager(state: QueueState, page: Signal<(Option<i64>, bool)>) -> impl IntoView {
    let on_first_page = move || state.pages.with(Vec::is_empty);
    view! {
        <div class="pager">
            <button class="btn-link" data-testid="page-newest" disabled=on_first_page
                on:click=move |_| state.pages.set(Vec::new())>"← Newest"</button>
            <button class="btn-link" data-testid="page-older" disabled=move || !page.get().1
                on:click=move |_| if let Some(id) = page.get_untracked().0 { state.pages.update(|p| p.push(id)) }>"Older →"</button>
        </div>
    }
}
