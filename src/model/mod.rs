//! Plain data shared by the server and the browser: what crosses the wire
//! between server functions and the dashboard. No database or engine code here,
//! so this module compiles to wasm.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod access;
mod audit;
mod channel;
mod flags;
mod notify;
mod post;
pub use access::{Me, Principal, Right, Role};
pub use audit::{audit_time, AuditCheck, AuditFind, AuditRow};
pub use channel::*;
pub use flags::*;
pub use notify::{Notifier, OutboxRow, NOTICES};
pub use post::*;

/// Result of a tick, as written to `aol_tick_ledger.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TickStatus {
    Success,
    Partial,
    Fail,
    Skipped,
}

impl TickStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TickStatus::Success => "SUCCESS",
            TickStatus::Partial => "PARTIAL",
            TickStatus::Fail => "FAIL",
            TickStatus::Skipped => "SKIPPED",
        }
    }
}

/// One row of `aol_tick_ledger`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct TickRow {
    pub id: i64,
    pub started_at_utc: DateTime<Utc>,
    pub finished_at_utc: DateTime<Utc>,
    pub status: String,
    pub actions_attempted: i64,
    pub actions_succeeded: i64,
    pub notes: String,
    pub daemon_owner: String,
    pub lease_epoch: Option<i64>,
}

/// Where an action is in its life (SPEC §3, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionStatus {
    Pending,
    Running,
    Success,
    Retry,
    Failed,
    Dlq,
    Cancelled,
    AwaitingApproval,
    Unconfirmed,
    Expired,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 10] = [
        ActionStatus::Pending,
        ActionStatus::Running,
        ActionStatus::Success,
        ActionStatus::Retry,
        ActionStatus::Failed,
        ActionStatus::Dlq,
        ActionStatus::Cancelled,
        ActionStatus::AwaitingApproval,
        ActionStatus::Unconfirmed,
        ActionStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Pending => "PENDING",
            ActionStatus::Running => "RUNNING",
            ActionStatus::Success => "SUCCESS",
            ActionStatus::Retry => "RETRY",
            ActionStatus::Failed => "FAILED",
            ActionStatus::Dlq => "DLQ",
            ActionStatus::Cancelled => "CANCELLED",
            ActionStatus::AwaitingApproval => "AWAITING_APPROVAL",
            ActionStatus::Unconfirmed => "UNCONFIRMED",
            ActionStatus::Expired => "EXPIRED",
        }
    }
}

impl std::str::FromStr for ActionStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        ActionStatus::ALL.into_iter().find(|st| st.as_str() == upper).ok_or_else(|| {
            let known: Vec<&str> = ActionStatus::ALL.iter().map(|st| st.as_str()).collect();
            format!("unknown status {s:?}: expected one of {}", known.join(", "))
        })
    }
}

/// One row of `aol_actions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Action {
    pub id: i64,
    pub idempotency_key: String,
    pub action_type: String,
    pub payload_json: String,
    pub status: String,
    pub attempts: i64,
    pub not_before_utc: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at_utc: DateTime<Utc>,
    pub updated_at_utc: DateTime<Utc>,
    /// The lease epoch of the daemon that last claimed it.
    pub lease_epoch: Option<i64>,
    /// SHA-256 of the request prepared for it: the bytes REAL sends, and
    /// PROOF's artifact (set at its first attempt on a channel).
    pub prepared_sha256: Option<String>,
    /// What the platform calls the post (a Bluesky `at://` URI, a Mastodon
    /// status id), once posted.
    pub remote_id: Option<String>,
    /// Where the post can be seen, once posted.
    pub remote_url: Option<String>,
    /// The channel its payload names (kept in a column to find a channel's posts).
    pub channel: Option<String>,
    /// Not to be sent before this time (asked at enqueue).
    pub scheduled_for_utc: Option<DateTime<Utc>>,
    /// Never sent after this time: it ends EXPIRED.
    pub not_after_utc: Option<DateTime<Utc>>,
    /// The policy it was admitted under: `auto` or `require_approval`.
    pub policy: Option<String>,
    /// What was looked up once to build its request (Bluesky: the DIDs of
    /// the handles it mentions), kept so its bytes never change.
    pub facts_json: Option<String>,
    /// When a REAL request of it first left: its payload is fixed from then on.
    pub first_sent_at_utc: Option<DateTime<Utc>>,
    /// When a REAL request of it first may have reached the platform while
    /// its outcome stayed unknown (a 5xx answer): a repeat relies on the
    /// platform still keeping its Idempotency-Key.
    pub reached_at_utc: Option<DateTime<Utc>>,
    /// Who enqueued it (`None`: before AOL recorded it).
    pub enqueued_by: Option<String>,
    /// Who last changed its payload, if anyone did.
    pub edited_by: Option<String>,
    /// The time zone its schedule was given in (IANA name), to show it there.
    pub time_zone: Option<String>,
}

/// Separates an agent's name from its key in a stored idempotency key (the
/// agent's namespace): a control character, which no key may hold, so no one
/// can write a key into another's namespace.
pub const KEY_SCOPE: char = '\u{1f}';

/// A stored idempotency key as its sender wrote it (without its namespace).
pub fn shown_key(stored: &str) -> &str {
    stored.rsplit(KEY_SCOPE).next().unwrap_or(stored)
}

/// The stored idempotency key of `key` sent by `agent` (none: the team's
/// shared namespace).
pub fn scoped_key(agent: Option<&str>, key: &str) -> String {
    match agent {
        Some(agent) => format!("{agent}{KEY_SCOPE}{key}"),
        None => key.to_string(),
    }
}

impl Action {
    /// The idempotency key as its sender wrote it.
    pub fn key(&self) -> &str {
        shown_key(&self.idempotency_key)
    }

    /// The status as an enum; the database's CHECK constraint keeps it valid.
    pub fn status(&self) -> Option<ActionStatus> {
        self.status.parse().ok()
    }
}

/// Which actions to list: every field narrows; pages go back from `before_id`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionFilter {
    pub status: Option<String>,
    pub action_type: Option<String>,
    /// An exact idempotency key.
    pub key: Option<String>,
    /// Only actions older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// Only actions this actor enqueued: set by the engine for an agent,
    /// never taken from a request.
    #[serde(skip)]
    pub enqueued_by: Option<String>,
}

/// One row of `aol_execution_logs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ExecutionLog {
    pub id: i64,
    pub action_id: i64,
    pub ts_utc: DateTime<Utc>,
    pub level: String,
    pub message: String,
    pub artifact_ref: Option<String>,
    pub artifact_sha256: Option<String>,
    /// The daemon term (lease epoch) that wrote the line; none for an
    /// operator's line.
    pub lease_epoch: Option<i64>,
}

/// Severity of an execution log row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

/// One row of `aol_lease`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Lease {
    pub name: String,
    pub owner: String,
    pub acquired_at_utc: DateTime<Utc>,
    pub renewed_at_utc: DateTime<Utc>,
    pub expires_at_utc: DateTime<Utc>,
    pub epoch: i64,
}

/// How many actions are in one status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

/// Actions attempted and succeeded in one minute of ticks, for the chart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickBucket {
    pub minute_utc: DateTime<Utc>,
    pub ticks: i64,
    pub attempted: i64,
    pub succeeded: i64,
}

/// A PROOF artifact checked against the SHA-256 its log recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactCheck {
    /// Where the log line says it is: `sha256:<hex>` in the content store,
    /// or the path of a file written before artifacts moved there.
    pub reference: String,
    pub logged_sha256: String,
    pub state: ArtifactState,
    /// The start of its bytes, for display.
    pub preview: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactState {
    /// The stored bytes' SHA-256 is the logged one.
    Verified,
    /// The stored bytes are not the ones logged.
    Changed { actual_sha256: String },
    /// Not in the content store.
    Missing,
    /// A file written before artifacts moved into the database; not read.
    Elsewhere,
}

/// Everything the action page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDetail {
    pub action: Action,
    pub logs: Vec<ExecutionLog>,
    /// The newest artifact the action's logs name, checked now.
    pub artifact: Option<ArtifactCheck>,
    /// Every approval or rejection of it, oldest first.
    pub approvals: Vec<Approval>,
    /// What a REAL attempt would send now, for an action still to be sent
    /// on a channel: exactly the bytes an approval binds to.
    pub request: Option<RequestPreview>,
    /// Why there is no request to show, for an action still to be sent on a
    /// channel (its channel is gone, a lookup cannot be made yet, …).
    pub request_problem: Option<String>,
    /// The post as people will see it (POST_SOCIAL).
    pub post: Option<PostView>,
}

/// A channel as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    pub channel: Channel,
    /// Its policy for POST_SOCIAL (`require_approval` until one is set).
    pub policy: String,
    /// REAL posts sent today (UTC).
    pub sent_today: i64,
    /// When its next REAL post may go out, if not now, and why.
    pub next_post_utc: Option<DateTime<Utc>>,
    pub waiting_why: Option<String>,
}

/// An action awaiting approval, with the request an approval would bind to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub action: Action,
    pub request: Option<RequestPreview>,
    /// The post as people will see it.
    pub post: Option<PostView>,
    /// Why there is no request to approve (e.g. its channel is gone).
    pub problem: Option<String>,
}

/// A REAL post's requests as they would leave (no secret is in them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPreview {
    /// Where the post goes (its last request's URL).
    pub url: String,
    /// The document listing every request, as text (PROOF's artifact).
    pub body: String,
    pub sha256: String,
    /// How many requests.
    pub requests: usize,
}

/// What the Autonomy page shows at the top: the flags and the daemon's pulse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub flags: ControlFlags,
    /// The daemon lease row, if a daemon ever took it.
    pub lease: Option<Lease>,
    /// Queue depth per status.
    pub counts: Vec<StatusCount>,
    pub ledger_rows: i64,
    pub last_tick: Option<TickRow>,
    pub recent_ticks: Vec<TickRow>,
    /// When the server read this, so the page can say how old the last tick is.
    pub read_at_utc: DateTime<Utc>,
    /// The daemon identity of the process that read this (`host:pid:instance`).
    pub observer: String,
    /// Why the daemon in the process that read this cannot work, while that
    /// lasts (none: it works, or this process runs no daemon).
    pub daemon_trouble: Option<DaemonTrouble>,
}

/// The daemon keeps failing to use the database: since when, and the latest error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonTrouble {
    pub since_utc: DateTime<Utc>,
    pub message: String,
}

/// What the daemon is doing, as the operator needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DaemonState {
    /// Holding the lease and running ticks.
    Running,
    /// Holding the lease; ticks are SKIPPED.
    Paused,
    /// Stopped by the kill flag.
    Killed,
    /// Another daemon holds the lease; this server's daemon waits to take over.
    Standby,
    /// Nobody holds the lease: no daemon is running.
    Stopped,
}

impl DaemonState {
    pub fn as_str(self) -> &'static str {
        match self {
            DaemonState::Running => "running",
            DaemonState::Paused => "paused",
            DaemonState::Killed => "killed",
            DaemonState::Standby => "standby",
            DaemonState::Stopped => "stopped",
        }
    }
}

impl Overview {
    /// The daemon's state and why, from the flags and the lease: the
    /// database's truth, whichever process runs the daemon.
    pub fn daemon_state(&self) -> (DaemonState, String) {
        let f = &self.flags;
        let by = match &f.reason {
            Some(reason) => format!("by {} ({reason})", f.updated_by),
            None => format!("by {}", f.updated_by),
        };
        if f.killed {
            return (DaemonState::Killed, format!("the kill flag is set, {by}"));
        }
        match self.lease_holder() {
            None => (DaemonState::Stopped, "no daemon holds the lease".to_string()),
            Some(_) if f.paused => (DaemonState::Paused, format!("the pause flag is set, {by}")),
            Some(l) if l.owner == self.observer => (DaemonState::Running, "this server holds the lease".to_string()),
            Some(l) => (DaemonState::Standby, format!("the lease is held by {}; this server's daemon waits", l.owner)),
        }
    }

    /// The lease while a daemon held it at the reading.
    pub fn lease_holder(&self) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.expires_at_utc > self.read_at_utc)
    }

    /// How many actions were in `status` at the reading.
    pub fn count_of(&self, status: ActionStatus) -> i64 {
        self.counts.iter().find(|c| c.status == status.as_str()).map_or(0, |c| c.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn overview(paused: bool, killed: bool, holder: Option<(&str, i64)>) -> Overview {
        let now = Utc::now();
        Overview {
            flags: ControlFlags {
                paused,
                killed,
                proof_mode: true,
                updated_at_utc: now,
                updated_by: "ops".into(),
                reason: Some("drill".into()),
                version: 3,
            },
            lease: holder.map(|(owner, secs_left)| Lease {
                name: "aol_daemon".into(),
                owner: owner.into(),
                acquired_at_utc: now,
                renewed_at_utc: now,
                expires_at_utc: now + TimeDelta::seconds(secs_left),
                epoch: 1,
            }),
            counts: vec![],
            ledger_rows: 0,
            last_tick: None,
            recent_ticks: vec![],
            read_at_utc: now,
            observer: "me".into(),
            daemon_trouble: None,
        }
    }

    #[test]
    fn daemon_state_follows_flags_and_lease() {
        let state = |o: Overview| o.daemon_state().0;
        assert_eq!(state(overview(false, false, Some(("me", 20)))), DaemonState::Running);
        assert_eq!(state(overview(true, false, Some(("me", 20)))), DaemonState::Paused);
        assert_eq!(state(overview(false, true, Some(("me", 20)))), DaemonState::Killed);
        assert_eq!(state(overview(true, true, None)), DaemonState::Killed, "kill outranks everything");
        assert_eq!(state(overview(false, false, Some(("other", 20)))), DaemonState::Standby);
        assert_eq!(state(overview(false, false, Some(("me", -1)))), DaemonState::Stopped, "an expired lease");
        assert_eq!(state(overview(false, false, None)), DaemonState::Stopped);
        let (_, why) = overview(false, true, None).daemon_state();
        assert_eq!(why, "the kill flag is set, by ops (drill)");
        let (_, why) = overview(false, false, Some(("host:1:ab", 20))).daemon_state();
        assert!(why.contains("host:1:ab"), "{why}");
    }
}
