//! The Autonomy page's server functions: thin calls into the engine. Every
//! change requires the operator token (see `web::auth`).

use leptos::prelude::*;

use super::channels::ChannelRow;
#[cfg(feature = "ssr")]
use super::history;
use super::inbox::InboxEntry;
use super::notifiers::NotifierRow;
use super::queue::QueueView;
use super::status::StatusFacts;
use crate::model::{ActionFilter, FlagCommand, Me};
use crate::web::server_html::Html;

/// How many actions a page of the queue shows.
#[cfg(feature = "ssr")]
pub const PAGE_SIZE: i64 = 20;

/// Everything the Autonomy page shows, read in one call: one request per
/// refresh, and one resource in the browser's code. What only needs showing
/// comes drawn by the server (`Html`, see `web::server_html`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DashboardData {
    pub status: StatusFacts,
    /// Who is looking, and so which buttons the page offers.
    pub me: Me,
    /// The action types this server can run, for the queue's filter.
    pub action_types: Vec<String>,
    /// The latest flag changes.
    pub changes: Html,
    /// The depths and a page of the queue (see `ActionFilter`).
    pub queue: QueueView,
    /// Where REAL posts go, by name.
    pub channels: Vec<ChannelRow>,
    /// Who is told of what, by name.
    pub notifiers: Vec<NotifierRow>,
    /// The actions awaiting approval, oldest first (the first [`INBOX_SIZE`]).
    pub inbox: Vec<InboxEntry>,
    /// The last hour of ticks (a bar a minute) and the latest ticks.
    pub ticks: Html,
}

/// How many actions awaiting approval the page lists (the header counts them all).
#[cfg(feature = "ssr")]
const INBOX_SIZE: i64 = 20;

#[server(prefix = "/ui", endpoint = "dashboard", output = crate::web::codec::JsonText)]
pub async fn get_dashboard(#[server(default)] filter: ActionFilter) -> Result<DashboardData, ServerFnError> {
    use crate::web::state::internal_error;
    /// How many flag changes the page lists.
    const RECENT_FLAG_CHANGES: i64 = 10;
    let me = crate::web::auth::ssr::require_viewer().await?;
    let state = leptos::prelude::expect_context::<crate::web::state::AppState>();
    let engine = &state.engine;
    let overview = engine.overview().await.map_err(internal_error)?;
    let changes = engine.db().flag_changes_recent(RECENT_FLAG_CHANGES).await.map_err(internal_error)?;
    let actions = engine.db().actions_page(&filter, PAGE_SIZE).await.map_err(internal_error)?;
    let activity = engine.tick_activity().await.map_err(internal_error)?;
    Ok(DashboardData {
        status: StatusFacts::read(&overview, state.llm_configured),
        me,
        action_types: engine.adapters().action_types().into_iter().map(str::to_string).collect(),
        changes: history::flag_changes(&changes),
        queue: QueueView::draw(&overview.counts, &actions),
        channels: engine.channel_views().await.map_err(internal_error)?.into_iter().map(ChannelRow::from).collect(),
        // The page's reader was checked above (a viewer, or public reading).
        notifiers: engine
            .notifiers(&crate::engine::Actor::system("dashboard"))
            .await
            .map_err(|e| match e {
                crate::engine::notify::NotifyError::Store(e) => internal_error(e),
                e => ServerFnError::new(e.to_string()),
            })?
            .into_iter()
            .map(NotifierRow::from)
            .collect(),
        inbox: engine.inbox(INBOX_SIZE).await.map_err(internal_error)?.into_iter().map(InboxEntry::from).collect(),
        ticks: history::ticks(&activity, &overview.recent_ticks),
    })
}

/// Pause, resume, kill, revive, proof or real. REAL needs `confirm = true`:
/// the dashboard asks before it sends that.
#[server(prefix = "/ui", endpoint = "flag", output = crate::web::codec::JsonText)]
pub async fn run_flag_command(
    command: FlagCommand,
    reason: Option<String>,
    confirm: bool,
) -> Result<(), ServerFnError> {
    let actor = crate::web::auth::ssr::require(crate::model::Right::Control).await?.because(reason.as_deref());
    if command == FlagCommand::Real && !confirm {
        crate::web::auth::ssr::set_status(http::StatusCode::BAD_REQUEST);
        return Err(ServerFnError::new("switching to REAL must be confirmed"));
    }
    match crate::web::state::engine().apply_flag_command(command, &actor).await {
        Ok(_) => Ok(()),
        Err(crate::engine::OperatorError::Forbidden(e)) => Err(crate::web::auth::ssr::forbidden(e)),
        Err(e) => {
            tracing::error!(error = %e, "flag change failed");
            Err(ServerFnError::new("the database could not be read or written; see the server log"))
        }
    }
}

/// What the enqueue form got back: the action added, or the one that
/// already had the key.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Enqueued {
    pub id: i64,
    pub status: String,
    pub duplicate: bool,
}

/// Enqueues a POST_SOCIAL by hand, through the same checks as every agent:
/// on `channel` if one is named, in the window `scheduled_for` … `not_after`
/// (times as `aol enqueue` takes them; blank: none).
#[server(prefix = "/ui", endpoint = "enqueue", output = crate::web::codec::JsonText)]
pub async fn enqueue_post(
    key: String,
    text: String,
    #[server(default)] channel: Option<String>,
    #[server(default)] scheduled_for: Option<String>,
    #[server(default)] not_after: Option<String>,
) -> Result<Enqueued, ServerFnError> {
    use crate::engine::{NewItem, Window};
    let actor = crate::web::auth::ssr::require(crate::model::Right::Enqueue).await?;
    let bad_request = |message: String| {
        crate::web::auth::ssr::set_status(http::StatusCode::BAD_REQUEST);
        ServerFnError::new(message)
    };
    // "2026-11-28 09:00" is UTC; "2026-03-29 09:00 Europe/Berlin" that place's time.
    let time = |t: Option<String>, what: &str| match t.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => crate::engine::zones::parse_time(t).map(Some).map_err(|e| bad_request(format!("{what}: {e}"))),
        None => Ok(None),
    };
    let (scheduled_for, not_after) = (time(scheduled_for, "not before")?, time(not_after, "not after")?);
    let window = Window {
        scheduled_for: scheduled_for.map(|t| t.0),
        not_after: not_after.map(|t| t.0),
        time_zone: scheduled_for.and_then(|t| t.1).or(not_after.and_then(|t| t.1)),
    };
    let mut payload = serde_json::Map::new();
    if let Some(channel) = channel.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        payload.insert("channel".into(), serde_json::Value::String(channel.to_string()));
    }
    payload.insert("text".into(), serde_json::Value::String(text));
    let item = NewItem { window, ..NewItem::new("POST_SOCIAL", key.trim(), &payload) };
    let engine = crate::web::state::engine();
    match engine.enqueue_one(&actor, &item).await {
        Ok(e) => Ok(Enqueued { id: e.action.id, status: e.action.status, duplicate: e.duplicate }),
        Err(crate::engine::EnqueueError::Store(e)) => Err(crate::web::state::internal_error(e)),
        Err(crate::engine::EnqueueError::Forbidden(e)) => Err(crate::web::auth::ssr::forbidden(e)),
        Err(e) => {
            crate::web::auth::ssr::set_status(http::StatusCode::BAD_REQUEST);
            Err(ServerFnError::new(e.to_string()))
        }
    }
}
