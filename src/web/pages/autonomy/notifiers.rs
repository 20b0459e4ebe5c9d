//! The notifications card, in the Channels area: who is told of what (a post
//! awaiting approval, posted, failed, …) and how their deliveries stand; an
//! operator adds, tests and removes them here as with `aol notify`.

use crate::web::show::show;
use leptos::either::Either;
use leptos::prelude::*;

use super::reading::Reading;

/// A notifier as its row shows it, as text made on the server.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NotifierRow {
    pub name: String,
    pub url: String,
    pub events: String,
    /// "json" or "slack", and the signing key's variable if any.
    pub format: String,
    /// "12 delivered · 1 waiting · 0 dropped".
    pub deliveries: String,
}

#[cfg(feature = "ssr")]
impl From<crate::engine::notify::NotifierStatus> for NotifierRow {
    fn from(s: crate::engine::notify::NotifierStatus) -> NotifierRow {
        let n = s.notifier;
        let signed = n.secret_env.map(|v| format!(", signed with {v}")).unwrap_or_default();
        NotifierRow {
            deliveries: format!("{} delivered · {} waiting · {} dropped", s.delivered, s.waiting, s.dropped),
            format: format!("{}{signed}", n.format),
            name: n.name,
            url: shown_url(&n.url),
            events: n.events.replace(',', ", "),
        }
    }
}

/// A receiver's address without its path: a Slack webhook's path is its
/// secret, and the page may be read by anyone (AOL_PUBLIC_READ).
#[cfg(feature = "ssr")]
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if u.path().len() > 1 => format!("{}/…", u.origin().ascii_serialization()),
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => "(unreadable)".to_string(),
    }
}

/// What the operator does from the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifierChange {
    Add,
    Test,
    Remove,
}

/// One server function for the card's controls: adding takes `url`,
/// `events` (comma-separated), `format` and `secret_env`.
#[server(prefix = "/ui", endpoint = "notifier_change", output = crate::web::codec::JsonText)]
pub async fn change_notifier(
    name: String,
    change: NotifierChange,
    #[server(default)] url: Option<String>,
    #[server(default)] events: Option<String>,
    #[server(default)] format: Option<String>,
    #[server(default)] secret_env: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::engine::notify::{NotifierRequest, NotifyError};
    use http::StatusCode;
    let actor = crate::web::auth::ssr::require(crate::model::Right::Configure).await?;
    let engine = crate::web::state::engine();
    let done = match change {
        NotifierChange::Add => {
            let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
            let request = NotifierRequest {
                name,
                url: url.unwrap_or_default(),
                events: events.unwrap_or_default(),
                secret_env: blank(secret_env),
                format: blank(format),
            };
            engine.notifier_add(&request, &actor).await.map(|_| ())
        }
        NotifierChange::Test => engine.notifier_test(&name, &actor).await,
        NotifierChange::Remove => engine.notifier_remove(&name, &actor).await,
    };
    let status = match done {
        Ok(()) => return Ok(()),
        Err(NotifyError::Store(e)) => return Err(crate::web::state::internal_error(e)),
        Err(ref e @ NotifyError::Invalid(_)) => (StatusCode::BAD_REQUEST, e.to_string()),
        Err(ref e @ NotifyError::NotFound(_)) => (StatusCode::NOT_FOUND, e.to_string()),
        Err(ref e @ NotifyError::Exists(_)) => (StatusCode::CONFLICT, e.to_string()),
        Err(NotifyError::Forbidden(e)) => return Err(crate::web::auth::ssr::forbidden(e)),
    };
    crate::web::auth::ssr::set_status(status.0);
    Err(ServerFnError::new(status.1))
}

/// The card's state, owned by the page.
#[derive(Clone, Copy)]
pub struct NotifierState {
    pub change: ServerAction<ChangeNotifier>,
    name: RwSignal<String>,
    url: RwSignal<String>,
    events: RwSignal<String>,
    format: RwSignal<String>,
    secret_env: RwSignal<String>,
}

impl NotifierState {
    pub fn new() -> NotifierState {
        NotifierState {
            change: ServerAction::new(),
            name: RwSignal::new(String::new()),
            url: RwSignal::new(String::new()),
            events: RwSignal::new("awaiting_approval,failed,unconfirmed,killed".to_string()),
            format: RwSignal::new("json".to_string()),
            secret_env: RwSignal::new(String::new()),
        }
    }

    fn act(self, name: String, change: NotifierChange) {
        let (url, events, format, secret_env) = match change {
            NotifierChange::Add => (
                Some(self.url.get_untracked()),
                Some(self.events.get_untracked()),
                Some(self.format.get_untracked()),
                Some(self.secret_env.get_untracked()),
            ),
            _ => (None, None, None, None),
        };
        self.change.dispatch(ChangeNotifier { name, change, url, events, format, secret_env });
    }
}

#[component]
pub fn NotifiersCard(reading: Reading, operator: Signal<bool>, state: NotifierState) -> impl IntoView {
    let error = move || state.change.value().get().and_then(Result::err).map(|e| e.to_string());
    crate::web::erase(view! {
        <section class="card" aria-label="Notifications">
            <h2>"Notifications"</h2>
            <p class="meta">
                "Who is told of what, by a POST to their URL (AOL's JSON, or a Slack message): a post awaiting "
                "approval or about to expire, posted, failed, UNCONFIRMED, expired; AOL paused, killed or its daemon silent."
            </p>
            {move || reading.map(|d| {
                let operator = operator.get_untracked();
                if d.notifiers.is_empty() {
                    return Either::Left(view! { <p class="empty" data-testid="no-notifiers">"No one is notified yet."</p> });
                }
                Either::Right(view! {
                    <table class="table" data-testid="notifiers">
                        <thead><tr><th>"Name"</th><th>"URL"</th><th>"Events"</th><th>"Format"</th><th>"Deliveries"</th><th></th></tr></thead>
                        <tbody>
                            {d.notifiers.clone().into_iter().map(|n| {
                                let (test_name, remove_name, row_name) = (n.name.clone(), n.name.clone(), n.name.clone());
                                view! {
                                    <tr data-testid="notifier-row" data-notifier=row_name>
                                        <td class="key">{n.name}</td>
                                        <td class="key">{n.url}</td>
                                        <td>{n.events}</td>
                                        <td>{n.format}</td>
                                        <td data-testid="notifier-deliveries">{n.deliveries}</td>
                                        <td>
                                            {operator.then(|| view! {
                                                <button class="btn-link" data-testid="notifier-test"
                                                    on:click=move |_| state.act(test_name.clone(), NotifierChange::Test)>"Test"</button>
                                                <button class="btn-link" data-testid="notifier-remove"
                                                    on:click=move |_| state.act(remove_name.clone(), NotifierChange::Remove)>"Remove"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                })
            })}
            {move || error().map(|e| view! { <p class="error-text" role="alert" data-testid="notifier-error">{e}</p> })}
            {show(move || operator.get(), move || view! { <AddNotifierForm state/> })}
        </section>
    })
}

#[component]
fn AddNotifierForm(state: NotifierState) -> impl IntoView {
    let text = move |signal: RwSignal<String>, testid: &'static str, placeholder: &'static str| {
        view! {
            <input type="text" data-testid=testid placeholder=placeholder
                prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/>
        }
    };
    crate::web::erase(view! {
        <h3>"Notify someone"</h3>
        <form class="enqueue-form" data-testid="notifier-form" on:submit=move |ev| {
            ev.prevent_default();
            state.act(state.name.get_untracked(), NotifierChange::Add);
        }>
            <label class="field"><span>"Name"</span>{text(state.name, "notifier-name", "e.g. team-slack")}</label>
            <label class="field field-wide"><span>"URL"</span>{text(state.url, "notifier-url", "https://hooks.slack.com/services/…")}</label>
            <label class="field field-wide"><span>"Events"</span>{text(state.events, "notifier-events", "awaiting_approval,failed")}</label>
            <label class="field"><span>"Format"</span>
                <select data-testid="notifier-format" prop:value=move || state.format.get() on:change=move |ev| state.format.set(event_target_value(&ev))>
                    <option value="json">"json"</option>
                    <option value="slack">"slack"</option>
                </select>
            </label>
            <label class="field"><span>"Signed with (env var, optional)"</span>{text(state.secret_env, "notifier-secret-env", "AOL_SECRET_TEAM_HOOK")}</label>
            <button class="btn" type="submit" data-testid="notifier-submit" disabled=move || state.change.pending().get()>"Add"</button>
        </form>
    })
}
