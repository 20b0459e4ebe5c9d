//! An action as stored and as its page shows it: its status, its row, its
//! key's namespace, its log lines and its checked artifact.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Approval, PostView, RequestPreview};

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
