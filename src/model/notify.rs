//! Notifications: where they go (`aol notify add`) and what is still to be
//! delivered (the outbox).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The events a notifier may ask for.
pub const NOTICES: &[&str] = &[
    "awaiting_approval",
    "approval_expiring",
    "posted",
    "failed",
    "unconfirmed",
    "expired",
    "killed",
    "paused",
    "daemon_down",
];

/// A receiver of notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Notifier {
    pub name: String,
    pub url: String,
    /// Comma-separated, from [`NOTICES`].
    pub events: String,
    /// The AOL_SECRET_* variable whose value signs each delivery.
    pub secret_env: Option<String>,
    /// `json` (AOL's own body) or `slack` (an incoming-webhook message).
    pub format: String,
    pub created_at_utc: DateTime<Utc>,
    pub created_by: String,
}

/// One notification for one notifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OutboxRow {
    /// Also the event's id for receivers to deduplicate on.
    pub id: i64,
    pub notifier: String,
    pub event: String,
    pub action_id: Option<i64>,
    pub data_json: String,
    pub created_at_utc: DateTime<Utc>,
    pub attempts: i64,
    pub next_at_utc: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at_utc: Option<DateTime<Utc>>,
    pub dropped_at_utc: Option<DateTime<Utc>>,
}
