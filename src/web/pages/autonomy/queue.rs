//! The queue card: depth per status, the enqueue form, then the actions, filtered by status,
//! type or exact key, a page at a time (keyset paging: fast at any size).

use crate::web::show::show;
use leptos::either::Either;
use leptos::prelude::*;

use super::enqueue_form::{EnqueueForm, EnqueueState};
use super::reading::Reading;
use super::server::PAGE_SIZE;
use crate::model::{Action, ActionFilter, ActionStatus, StatusCount};

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
        }
    }
}

#[component]
pub fn QueueCard(reading: Reading, operator: Signal<bool>, enqueue: EnqueueState, queue: QueueState) -> impl IntoView {
    let action_types = reading.memo(|d| d.info.action_types.clone());
    crate::web::erase(view! {
        <section class="card" aria-label="Queue">
            <h2>"Queue"</h2>
            {move || reading.map(|d| view! { <QueueCounts counts=d.overview.counts.clone()/> })}
            {show(move || operator.get(), move || view! {
                <h3>"Try a POST_SOCIAL by hand"</h3>
                <EnqueueForm state=enqueue/>
            })}
            <h3>"Actions"</h3>
            <QueueFilter state=queue action_types=Signal::derive(move || action_types.get().unwrap_or_default())/>
            {move || reading.map(|d| view! { <ActionsTable actions=d.actions.clone() state=queue/> })}
        </section>
    })
}

#[component]
fn QueueCounts(counts: Vec<StatusCount>) -> impl IntoView {
    if counts.is_empty() {
        return Either::Left(view! { <p class="empty">"The queue is empty."</p> });
    }
    Either::Right(view! {
        <ul class="counts" data-testid="queue-counts">
            {counts.into_iter().map(|c| view! {
                <li>
                    <span class=crate::web::pill_class("status", &c.status)>{c.status.clone()}</span>
                    " " <strong>{c.count}</strong>
                </li>
            }).collect_view()}
        </ul>
    })
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

#[component]
fn ActionsTable(actions: Vec<Action>, state: QueueState) -> impl IntoView {
    let oldest = actions.last().map(|a| a.id);
    let full_page = actions.len() as i64 == PAGE_SIZE;
    let on_first_page = move || state.pages.with(Vec::is_empty);
    let body = if actions.is_empty() {
        Either::Left(view! { <p class="empty" data-testid="no-actions">"No action matches."</p> })
    } else {
        Either::Right(view! {
            <table class="table table-actions" data-testid="actions">
                <thead>
                    <tr><th>"#"</th><th>"Type"</th><th>"Key"</th><th>"Status"</th><th>"Attempts"</th><th>"Last error"</th></tr>
                </thead>
                <tbody>
                    {actions.into_iter().map(|a| view! {
                        <tr>
                            <td><a href=format!("/actions/{}", a.id) data-testid="action-link">{a.id}</a></td>
                            <td>{a.action_type.clone()}</td>
                            <td class="key">{a.idempotency_key.clone()}</td>
                            <td><span class=crate::web::pill_class("status", &a.status)>{a.status.clone()}</span></td>
                            <td>{a.attempts}</td>
                            <td class="error-text">{a.last_error.clone().unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })
    };
    view! {
        {body}
        <div class="pager">
            <button class="btn-link" data-testid="page-newest" disabled=on_first_page
                on:click=move |_| state.pages.set(Vec::new())>"← Newest"</button>
            <button class="btn-link" data-testid="page-older" disabled=move || !full_page
                on:click=move |_| if let Some(id) = oldest { state.pages.update(|p| p.push(id)) }>"Older →"</button>
        </div>
    }
}
