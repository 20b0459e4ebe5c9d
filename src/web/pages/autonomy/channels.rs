//! The channels card: where REAL posts go, whether each is armed, its policy,
//! today's posts and when the next may go out; and (for the operator) adding,
//! arming, disarming, removing them and setting their policy. A channel's
//! secret is only ever named here (an env var or a file on the server).

use crate::web::show::show;
use leptos::either::Either;
use leptos::prelude::*;

use super::reading::Reading;
use crate::model::{ChannelKind, Policy};

/// A channel as its row shows it, all but `armed` as text made on the server
/// (the browser's code needs no decoder for a whole channel, nor its dates).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ChannelRow {
    pub name: String,
    pub kind: String,
    pub server: String,
    pub account: String,
    pub secret_from: String,
    pub armed: bool,
    pub policy: String,
    /// "3 · 10/hour, 50/day": posts today, and the limits.
    pub rate: String,
    /// "now", or when the next post may go and why not before.
    pub next: String,
}

#[cfg(feature = "ssr")]
impl From<crate::model::ChannelView> for ChannelRow {
    fn from(v: crate::model::ChannelView) -> ChannelRow {
        let c = v.channel;
        let next = match v.next_post_utc {
            Some(t) => format!("{} UTC ({})", crate::web::time_text::date_hms(t), v.waiting_why.unwrap_or_default()),
            None => "now".to_string(),
        };
        ChannelRow {
            rate: format!("{} · {}", v.sent_today, c.limits_text()),
            secret_from: c.secret_source(),
            account: c.handle.unwrap_or_default(),
            name: c.name,
            kind: c.kind,
            server: c.base_url,
            armed: c.armed,
            policy: v.policy,
            next,
        }
    }
}

/// What the add form sent; errors come back with the reason.
#[server(prefix = "/ui", endpoint = "channel_add", output = crate::web::codec::JsonText)]
pub async fn add_channel(
    name: String,
    kind: String,
    url: String,
    handle: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<String>,
) -> Result<(), ServerFnError> {
    let actor = crate::web::auth::ssr::require(crate::model::Right::Configure).await?;
    let request = crate::engine::channels::ChannelRequest { name, kind, url, handle, secret_env, secret_file };
    crate::web::state::engine().channel_add(&request, &actor).await.map(|_| ()).map_err(ssr::channel_error)
}

/// What the operator does to one channel from its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelChange {
    Arm,
    Disarm,
    Remove,
    /// Its policy for POST_SOCIAL becomes `policy`.
    Policy,
}

/// One server function for a row's controls (each one the browser calls
/// costs its wasm code of its own); `reason` is recorded with the change.
#[server(prefix = "/ui", endpoint = "channel_change", output = crate::web::codec::JsonText)]
pub async fn change_channel(
    name: String,
    change: ChannelChange,
    #[server(default)] policy: Option<Policy>,
    #[server(default)] reason: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::engine::channels::ChannelError;
    let actor = crate::web::auth::ssr::require(crate::model::Right::Configure).await?.because(reason.as_deref());
    let engine = crate::web::state::engine();
    match (change, policy) {
        (ChannelChange::Arm | ChannelChange::Disarm, _) => {
            engine.channel_arm(&name, change == ChannelChange::Arm, &actor).await.map(|_| ())
        }
        (ChannelChange::Remove, _) => engine.channel_remove(&name, &actor).await,
        (ChannelChange::Policy, Some(policy)) => {
            engine.policy_set(&name, crate::engine::adapters::POST_SOCIAL, policy, &actor).await.map(|_| ())
        }
        (ChannelChange::Policy, None) => {
            Err(ChannelError::Invalid("which policy? auto, require_approval or deny".into()))
        }
    }
    .map_err(ssr::channel_error)
}

#[cfg(feature = "ssr")]
mod ssr {
    use http::StatusCode;
    use leptos::prelude::ServerFnError;

    use crate::engine::channels::ChannelError;
    use crate::web::auth::ssr::set_status;

    /// 400 / 404 / 409 with the engine's words; database trouble stays on the server.
    pub fn channel_error(e: ChannelError) -> ServerFnError {
        let status = match &e {
            ChannelError::Store(_) => {
                let ChannelError::Store(e) = e else { unreachable!() };
                return crate::web::state::internal_error(e);
            }
            ChannelError::Invalid(_) => StatusCode::BAD_REQUEST,
            ChannelError::Forbidden(_) => StatusCode::FORBIDDEN,
            ChannelError::NotFound(_) => StatusCode::NOT_FOUND,
            ChannelError::Exists(_) => StatusCode::CONFLICT,
        };
        set_status(status);
        ServerFnError::new(e.to_string())
    }
}

/// The card's state, owned by the page: what the add form holds survives
/// signing out and in again.
#[derive(Clone, Copy)]
pub struct ChannelState {
    pub add: ServerAction<AddChannel>,
    pub change: ServerAction<ChangeChannel>,
    name: RwSignal<String>,
    kind: RwSignal<String>,
    url: RwSignal<String>,
    handle: RwSignal<String>,
    /// "env" or "file".
    secret_from: RwSignal<String>,
    secret_place: RwSignal<String>,
}

impl ChannelState {
    pub fn new() -> ChannelState {
        ChannelState {
            add: ServerAction::new(),
            change: ServerAction::new(),
            name: RwSignal::new(String::new()),
            kind: RwSignal::new(ChannelKind::Bluesky.as_str().to_string()),
            url: RwSignal::new(String::new()),
            handle: RwSignal::new(String::new()),
            secret_from: RwSignal::new("env".to_string()),
            secret_place: RwSignal::new(String::new()),
        }
    }

    /// Grows with every change made here: the page reads again.
    pub fn changes(self) -> (usize, usize) {
        (self.add.version().get(), self.change.version().get())
    }

    fn submit(self) {
        let optional = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let from_env = self.secret_from.get_untracked() == "env";
        self.add.dispatch(AddChannel {
            name: self.name.get_untracked(),
            kind: self.kind.get_untracked(),
            url: self.url.get_untracked(),
            handle: optional(self.handle),
            secret_env: if from_env { optional(self.secret_place) } else { None },
            secret_file: if from_env { None } else { optional(self.secret_place) },
        });
    }
}

#[component]
pub fn ChannelsCard(
    reading: Reading,
    operator: Signal<bool>,
    state: ChannelState,
    reason: RwSignal<String>,
) -> impl IntoView {
    let error = move || {
        let failed =
            |v: Option<Result<_, ServerFnError>>| v.and_then(Result::err).map(|e: ServerFnError| e.to_string());
        failed(state.add.value().get()).or_else(|| failed(state.change.value().get()))
    };
    crate::web::erase(view! {
        <section class="card" aria-label="Channels">
            <h2>"Channels"</h2>
            <p class="meta">
                "Where REAL posts go. A new channel starts disarmed: its REAL posts wait until it is armed. "
                "Policy: auto posts freely, require_approval waits for an operator's yes (the default), deny refuses."
            </p>
            {move || reading.map(|d| view! { <ChannelTable channels=d.channels.clone() operator=operator.get_untracked() state reason/> })}
            {move || error().map(|e| view! { <p class="error-text" role="alert" data-testid="channel-error">{e}</p> })}
            {show(move || operator.get(), move || view! { <AddChannelForm state/> })}
        </section>
    })
}

#[component]
fn ChannelTable(
    channels: Vec<ChannelRow>,
    operator: bool,
    state: ChannelState,
    reason: RwSignal<String>,
) -> impl IntoView {
    if channels.is_empty() {
        return Either::Left(
            view! { <p class="empty" data-testid="no-channels">"No channel yet: REAL posts have nowhere to go."</p> },
        );
    }
    Either::Right(view! {
        <table class="table" data-testid="channels">
            <thead><tr>
                <th>"Name"</th><th>"Kind"</th><th>"Server"</th><th>"Account"</th><th>"Secret from"</th><th>"REAL"</th>
                <th>"Policy"</th><th>"Posts today · limits"</th><th>"Next post"</th><th></th>
            </tr></thead>
            <tbody>
                {channels.into_iter().map(|c| {
                    let (name, armed) = (c.name.clone(), c.armed);
                    let (arm_name, remove_name, policy_name) = (name.clone(), name.clone(), name.clone());
                    let current = c.policy;
                    view! {
                        <tr data-testid="channel-row" data-channel=name.clone()>
                            <td class="key">{name.clone()}</td>
                            <td>{c.kind}</td>
                            <td class="key">{c.server}</td>
                            <td>{c.account}</td>
                            <td class="key">{c.secret_from}</td>
                            <td>
                                <span class=if armed { "pill status-success" } else { "pill status-cancelled" } data-testid="channel-armed">
                                    {if armed { "armed" } else { "disarmed" }}
                                </span>
                            </td>
                            <td>
                                <select data-testid="channel-policy" disabled=!operator on:change=move |ev| {
                                    let policy = event_target_value(&ev).parse().ok();
                                    let reason = Some(reason.get_untracked());
                                    state.change.dispatch(ChangeChannel { name: policy_name.clone(), change: ChannelChange::Policy, policy, reason });
                                }>
                                    {Policy::ALL.map(|p| view! { <option value=p.as_str() selected=p.as_str() == current>{p.as_str()}</option> })}
                                </select>
                            </td>
                            <td data-testid="channel-rate">{c.rate}</td>
                            <td data-testid="channel-next">{c.next}</td>
                            <td>
                                {operator.then(|| view! {
                                    <button class="btn-link" data-testid="channel-arm-toggle"
                                        on:click=move |_| {
                                            let change = if armed { ChannelChange::Disarm } else { ChannelChange::Arm };
                                            state.change.dispatch(ChangeChannel { name: arm_name.clone(), change, policy: None, reason: None });
                                        }>
                                        {if armed { "Disarm" } else { "Arm" }}
                                    </button>
                                    <button class="btn-link" data-testid="channel-remove"
                                        on:click=move |_| {
                                            state.change.dispatch(ChangeChannel { name: remove_name.clone(), change: ChannelChange::Remove, policy: None, reason: None });
                                        }>
                                        "Remove"
                                    </button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    })
}

#[component]
fn AddChannelForm(state: ChannelState) -> impl IntoView {
    let text = move |signal: RwSignal<String>, testid: &'static str, placeholder: &'static str| {
        view! {
            <input type="text" data-testid=testid placeholder=placeholder
                prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/>
        }
    };
    crate::web::erase(view! {
        <h3>"Add a channel"</h3>
        <form class="enqueue-form" data-testid="channel-form" on:submit=move |ev| {
            ev.prevent_default();
            state.submit();
        }>
            <label class="field"><span>"Name"</span>{text(state.name, "channel-name", "e.g. brand-bsky")}</label>
            <label class="field"><span>"Kind"</span>
                <select data-testid="channel-kind" prop:value=move || state.kind.get() on:change=move |ev| state.kind.set(event_target_value(&ev))>
                    {ChannelKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field field-wide"><span>"Server URL"</span>{text(state.url, "channel-url", "https://bsky.social")}</label>
            <label class="field"><span>"Account (Bluesky handle)"</span>{text(state.handle, "channel-handle", "brand.bsky.social")}</label>
            <label class="field"><span>"Secret from"</span>
                <select data-testid="channel-secret-from" prop:value=move || state.secret_from.get() on:change=move |ev| state.secret_from.set(event_target_value(&ev))>
                    <option value="env">"env var AOL_SECRET_… on the server"</option>
                    <option value="file">"file in AOL_SECRETS_DIR"</option>
                </select>
            </label>
            <label class="field"><span>"Its name (never the secret)"</span>{text(state.secret_place, "channel-secret-place", "AOL_SECRET_BRAND_BSKY")}</label>
            <button class="btn" type="submit" data-testid="channel-submit" disabled=move || state.add.pending().get()>"Add channel"</button>
        </form>
    })
}
