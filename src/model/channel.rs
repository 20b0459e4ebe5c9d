//! Where REAL posts go: channels, their policies, and the approvals a policy asks for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
