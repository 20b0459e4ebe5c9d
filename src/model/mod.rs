//! Plain data shared by the server and the browser: what crosses the wire
//! between server functions and the dashboard. No database or engine code here,
//! so this module compiles to wasm.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod access;
mod action;
mod audit;
mod channel;
mod flags;
mod notify;
mod overview;
mod post;
pub use access::{Me, Principal, Right, Role};
pub use action::*;
pub use audit::{audit_time, AuditCheck, AuditFind, AuditRow};
pub use channel::*;
pub use flags::*;
pub use notify::{Notifier, OutboxRow, NOTICES};
pub use overview::*;
pub use post::*;

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
