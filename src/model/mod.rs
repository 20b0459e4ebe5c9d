//! Plain data shared by the server and the browser: what crosses the wire
//! between server functions and the dashboard. No database or engine code here,
//! so this module compiles to wasm.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod access;
mod audit;
mod notify;
mod post;
pub use access::{Me, Principal, Right, Role};
pub use audit::{audit_time, AuditCheck, AuditFind, AuditRow};
pub use notify::{Notifier, OutboxRow, NOTICES};
pub use post::*;

/// The operator's switches: the single row of `aol_control_flags`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ControlFlags {
    pub paused: bool,
    pub killed: bool,
    /// true = PROOF (dry run), false = REAL.
    pub proof_mode: bool,
    pub updated_at_utc: DateTime<Utc>,
    pub updated_by: String,
    pub reason: Option<String>,
}

/// One of the three switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Paused,
    Killed,
    ProofMode,
}

impl Flag {
    /// The column in `aol_control_flags` (and the `flag` value in `aol_flag_changes`).
    pub fn column(self) -> &'static str {
        match self {
            Flag::Paused => "paused",
            Flag::Killed => "killed",
            Flag::ProofMode => "proof_mode",
        }
    }

    pub fn value_in(self, flags: &ControlFlags) -> bool {
        match self {
            Flag::Paused => flags.paused,
            Flag::Killed => flags.killed,
            Flag::ProofMode => flags.proof_mode,
        }
    }
}

/// What an operator asks for: the verbs of `aol flags …` and the dashboard buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagCommand {
    Pause,
    Resume,
    Kill,
    Revive,
    Proof,
    Real,
}

impl FlagCommand {
    pub const ALL: [FlagCommand; 6] = [
        FlagCommand::Pause,
        FlagCommand::Resume,
        FlagCommand::Kill,
        FlagCommand::Revive,
        FlagCommand::Proof,
        FlagCommand::Real,
    ];

    /// The flag this command sets, and the value it sets it to.
    pub fn target(self) -> (Flag, bool) {
        match self {
            FlagCommand::Pause => (Flag::Paused, true),
            FlagCommand::Resume => (Flag::Paused, false),
            FlagCommand::Kill => (Flag::Killed, true),
            FlagCommand::Revive => (Flag::Killed, false),
            FlagCommand::Proof => (Flag::ProofMode, true),
            FlagCommand::Real => (Flag::ProofMode, false),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FlagCommand::Pause => "pause",
            FlagCommand::Resume => "resume",
            FlagCommand::Kill => "kill",
            FlagCommand::Revive => "revive",
            FlagCommand::Proof => "proof",
            FlagCommand::Real => "real",
        }
    }
}

impl std::str::FromStr for FlagCommand {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FlagCommand::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!("unknown flag command {s:?}: expected one of pause, resume, kill, revive, proof, real")
        })
    }
}

/// One row of `aol_flag_changes`: who changed which switch, when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct FlagChange {
    pub id: i64,
    pub changed_at_utc: DateTime<Utc>,
    pub changed_by: String,
    pub flag: String,
    pub old_value: bool,
    pub new_value: bool,
    pub reason: Option<String>,
}

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

/// A platform AOL can post to (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Bluesky,
    Mastodon,
    Webhook,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] = [ChannelKind::Bluesky, ChannelKind::Mastodon, ChannelKind::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Bluesky => "bluesky",
            ChannelKind::Mastodon => "mastodon",
            ChannelKind::Webhook => "webhook",
        }
    }
}

impl std::str::FromStr for ChannelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<ChannelKind, String> {
        ChannelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown channel kind {s:?}: expected bluesky, mastodon or webhook"))
    }
}

/// One row of `aol_channels`: where REAL posts go. It names where the secret
/// is (an env var or a file), never the secret itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Channel {
    pub name: String,
    /// `bluesky`, `mastodon` or `webhook` (see [`ChannelKind`]).
    pub kind: String,
    pub base_url: String,
    /// The account: a Bluesky handle; optional elsewhere.
    pub handle: Option<String>,
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
    /// REAL posts go out only on an armed channel.
    pub armed: bool,
    pub created_at_utc: DateTime<Utc>,
    pub updated_at_utc: DateTime<Utc>,
    /// Rate limits: at most this many REAL posts in any hour…
    pub max_per_hour: Option<i64>,
    /// …and per day (UTC)…
    pub max_per_day: Option<i64>,
    /// …and at least this long between two.
    pub min_spacing_seconds: Option<i64>,
    /// The platform asked to wait until then (a 429 or a rate-limit reset).
    pub wait_until_utc: Option<DateTime<Utc>>,
    /// Every image posted here needs alt text (on unless turned off).
    pub require_alt: bool,
    /// The server's own limits, where it states them (Mastodon's
    /// `/api/v2/instance`); `None`: the platform's usual ones.
    pub max_characters: Option<i64>,
    pub chars_per_url: Option<i64>,
    pub max_media: Option<i64>,
    pub max_image_bytes: Option<i64>,
    /// When REAL posts may go out ("mon-fri 08:00-20:00 Europe/Berlin");
    /// `None`: any time.
    pub posting_window: Option<String>,
}

impl Channel {
    /// The kind as an enum; the database's CHECK constraint keeps it valid.
    pub fn kind(&self) -> Option<ChannelKind> {
        self.kind.parse().ok()
    }

    /// Its rate limits and window, for people: "10/hour, 50/day, 60 s apart,
    /// only mon,tue 08:00-20:00 Europe/Berlin" or "no limits".
    pub fn limits_text(&self) -> String {
        let parts: Vec<String> = [
            self.max_per_hour.map(|n| format!("{n}/hour")),
            self.max_per_day.map(|n| format!("{n}/day")),
            self.min_spacing_seconds.map(|s| format!("{s} s apart")),
            self.posting_window.as_ref().map(|w| format!("only {w}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "no limits".into()
        } else {
            parts.join(", ")
        }
    }

    /// Where the secret is read from, for people: "env AOL_BSKY" or "file /run/…".
    pub fn secret_source(&self) -> String {
        match (&self.secret_env, &self.secret_file) {
            (Some(var), _) => format!("env {var}"),
            (None, Some(path)) => format!("file {path}"),
            (None, None) => "none".into(),
        }
    }
}

/// Whether `url` is a link people can follow from a page: http or https,
/// and of a sane length (never `javascript:` or `data:`).
pub fn is_web_link(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() <= 2000
        && !url.contains(char::is_whitespace)
}

/// A time as people and agents write it: RFC 3339 (`2026-11-28T09:00:00Z`,
/// any offset), or `2026-11-28 09:00` / `2026-11-28T09:00[:ss]` taken as UTC.
pub fn parse_utc(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    Err(format!("invalid time {text:?}: expected RFC 3339 like 2026-11-28T09:00:00Z, or 2026-11-28 09:00 (UTC)"))
}

/// What a channel's policy says of an action type (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// REAL posts go out without asking.
    Auto,
    /// A REAL post waits in AWAITING_APPROVAL for an operator's yes.
    RequireApproval,
    /// Refused at enqueue.
    Deny,
}

impl Policy {
    pub const ALL: [Policy; 3] = [Policy::Auto, Policy::RequireApproval, Policy::Deny];
    /// Where no policy was set: REAL posts need approval (PROOF runs never do).
    pub const DEFAULT: Policy = Policy::RequireApproval;

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Auto => "auto",
            Policy::RequireApproval => "require_approval",
            Policy::Deny => "deny",
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Policy, String> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| format!("unknown policy {s:?}: expected auto, require_approval or deny"))
    }
}

/// One row of `aol_policies`: a policy as set, by whom and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PolicyRow {
    pub id: i64,
    pub channel: String,
    pub action_type: String,
    pub mode: String,
    pub set_at_utc: DateTime<Utc>,
    pub set_by: String,
    pub reason: Option<String>,
    /// How many approvals, by different people, a post needs (1 or 2).
    pub approvals: i64,
}

/// One row of `aol_approvals`: an operator's decision on an action awaiting one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Approval {
    pub id: i64,
    pub action_id: i64,
    /// `approved` or `rejected`.
    pub decision: String,
    /// The request the operator saw: the approval holds only for these bytes…
    pub prepared_sha256: String,
    /// …on this channel.
    pub channel: String,
    pub decided_by: String,
    pub reason: Option<String>,
    pub decided_at_utc: DateTime<Utc>,
    pub expires_at_utc: DateTime<Utc>,
    /// When a REAL send used it (once).
    pub used_at_utc: Option<DateTime<Utc>>,
    /// When an edit of the action voided it.
    pub voided_at_utc: Option<DateTime<Utc>>,
}

/// An optional reason as it follows what was done in a message (": off
/// brand"), or nothing.
pub fn reason_suffix(reason: Option<&str>) -> String {
    reason.map(|r| format!(": {r}")).unwrap_or_default()
}

impl Approval {
    /// Whether this is a yes to the request with `sha256` that has been
    /// neither used nor voided (whether it has expired is the caller's question).
    pub fn stands_for(&self, sha256: &str) -> bool {
        self.decision == "approved"
            && self.used_at_utc.is_none()
            && self.voided_at_utc.is_none()
            && self.prepared_sha256 == sha256
    }

    /// The decision as one line, for people: who, when, why, the request it
    /// holds for, and (an approval) whether it was used, voided or is valid.
    pub fn summary(&self) -> String {
        let time = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let state = match (self.used_at_utc, self.voided_at_utc) {
            (Some(t), _) => format!("used {}", time(t)),
            (_, Some(t)) => format!("voided by an edit {}", time(t)),
            _ if self.decision == "approved" => format!("valid until {}", time(self.expires_at_utc)),
            _ => String::new(),
        };
        let why = reason_suffix(self.reason.as_deref());
        format!(
            "{} by {} {}{why} · SHA-256 {} {state}",
            self.decision,
            self.decided_by,
            time(self.decided_at_utc),
            self.prepared_sha256
        )
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
