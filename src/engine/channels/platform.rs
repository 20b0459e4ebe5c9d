//! What every platform does (SPEC §7's adapter contract): `check` a post's
//! limits at enqueue; `prepare` the exact requests REAL sends,
//! deterministically and without secrets; `send` them and say how it went,
//! in terms the engine acts on.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;

use super::post::{Facts, MediaMap, Outgoing, SocialPost};
use super::request::Prepared;
use crate::model::Channel;

/// The post on the platform (a thread's first post).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub id: String,
    pub url: Option<String>,
}

/// How a send went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    Posted(Remote),
    /// The platform has it from an earlier attempt: nothing new was posted.
    AlreadyPosted(Remote),
    /// The platform said "not now" (429, 503 with Retry-After): try at `at`,
    /// the attempt not counted.
    RetryAt {
        at: DateTime<Utc>,
        why: String,
    },
    /// It failed before the request could have reached the platform, or the
    /// platform cannot post it twice (a record key): safe to retry.
    NotSent(String),
    /// The platform answered with an error after it may have acted on the
    /// request (a 502 from a proxy can follow a post that was made): a repeat
    /// is safe only while the platform keeps its Idempotency-Key (see
    /// [`Platform::repeat_window`]).
    Reached(String),
    /// The platform refused it; sending it again cannot help.
    Rejected(String),
    /// The request may have reached the platform and the answer was lost
    /// (timeout, dropped connection): never sent again automatically.
    Unknown(String),
}

/// What reading a post back found (platforms that can).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Posted(Remote),
    /// Nothing is there: sending it (again) posts it once.
    Absent,
    /// Some posts of a thread are there, not all: sending it again writes
    /// only the missing ones.
    Incomplete {
        present: usize,
        total: usize,
    },
    /// The platform could not be asked: try later.
    Unknown(String),
}

/// The bytes of stored files, for the requests that upload them.
#[async_trait]
pub trait Files: Send + Sync {
    async fn bytes(&self, sha256: &str) -> Result<Vec<u8>, String>;
}

#[async_trait]
pub trait Platform: Send + Sync {
    /// Why `post` cannot go to `channel`, checked at enqueue (text length,
    /// images, cards, options); `media` holds what is known of its files.
    fn check(&self, channel: &Channel, post: &SocialPost, media: &MediaMap) -> Result<(), String>;

    /// Whether `post`'s request needs something looked up first (kept with
    /// the action, see [`Facts`]).
    fn needs_lookup(&self, _post: &SocialPost) -> bool {
        false
    }

    /// Looks up what `post`'s request needs; `Err` when the server cannot
    /// be asked now (try later), not when a name is unknown.
    async fn look_up(&self, _channel: &Channel, _post: &SocialPost) -> Result<Facts, String> {
        Ok(Facts::default())
    }

    /// Every request of the post, deterministically and without secrets, or
    /// why there can be none.
    fn prepare(&self, channel: &Channel, out: &Outgoing<'_>) -> Result<Prepared, String>;

    /// Sends `prepared` with `secret`, in order, reading files from `files`.
    async fn send(
        &self,
        channel: &Channel,
        secret: &SecretString,
        out: &Outgoing<'_>,
        prepared: &Prepared,
        files: &dyn Files,
    ) -> Sent;

    /// Reads the post back, if the platform allows it (Bluesky: by record key).
    async fn find(&self, _channel: &Channel, _prepared: &Prepared) -> Option<Found> {
        None
    }

    /// How long after a request may have reached the platform a repeat of it
    /// still cannot post twice: the time the platform keeps its
    /// Idempotency-Key. `None`: always (Bluesky's record keys).
    fn repeat_window(&self) -> Option<TimeDelta> {
        None
    }
}

/// When a "slow down" answer says to come back: `Retry-After` (seconds or an
/// HTTP date), else a rate-limit reset (Unix seconds), else in a minute.
pub fn retry_at(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> DateTime<Utc> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = text("retry-after") {
        if let Ok(secs) = v.parse::<i64>() {
            return now + chrono::TimeDelta::seconds(secs.clamp(0, 86_400));
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(v) {
            return at.with_timezone(&Utc).max(now);
        }
    }
    for name in ["ratelimit-reset", "x-ratelimit-reset"] {
        if let Some(v) = text(name) {
            if let Ok(secs) = v.parse::<i64>() {
                if let Some(at) = DateTime::from_timestamp(secs, 0) {
                    return at.max(now);
                }
            }
            // Mastodon sends an ISO 8601 time.
            if let Ok(at) = DateTime::parse_from_rfc3339(v) {
                return at.with_timezone(&Utc).max(now);
            }
        }
    }
    now + chrono::TimeDelta::seconds(60)
}

/// The platform's error, shortened for a log line and `last_error`.
pub fn error_text(status: reqwest::StatusCode, body: &str) -> String {
    let detail = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .map(|v| {
            let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
            [field("error"), field("message"), field("error_description")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| body.to_string());
    format!("HTTP {}: {}", status.as_u16(), kept(&detail))
}

/// A failed request, for a log line: what happened and its causes (our
/// URLs carry no secret).
pub fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// A request that failed: not sent if no connection was made, else the
/// outcome is unknown (it may have arrived).
pub fn lost(e: &reqwest::Error) -> Sent {
    if e.is_connect() || e.is_builder() {
        Sent::NotSent(format!("cannot reach the server: {}", describe(e)))
    } else {
        Sent::Unknown(format!("no answer: {}", describe(e)))
    }
}

/// A platform's whole answer.
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    /// The answer's JSON field `key`, when it is a string.
    pub fn field(&self, key: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(&self.text).ok()?;
        v.get(key).and_then(|x| x.as_str()).map(str::to_string)
    }

    /// What an unsuccessful answer means on a platform that keeps a
    /// request's Idempotency-Key for a while: as [`Answer::failure`], but a
    /// server error may have come after the post was made.
    pub fn failure_keyed(&self) -> Sent {
        match self.failure() {
            Sent::NotSent(why) => Sent::Reached(why),
            other => other,
        }
    }

    /// What an unsuccessful answer means on a platform where a repeat cannot
    /// post twice: "slow down" (429, or 503 with Retry-After) waits for the
    /// time given; a server error may be retried; anything else is a refusal.
    pub fn failure(&self) -> Sent {
        let why = error_text(self.status, &self.text);
        let slow_down = self.status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || (self.status == reqwest::StatusCode::SERVICE_UNAVAILABLE
                && self.headers.contains_key(reqwest::header::RETRY_AFTER));
        if slow_down {
            Sent::RetryAt { at: retry_at(&self.headers, Utc::now()), why }
        } else if self.status.is_server_error() {
            Sent::NotSent(why)
        } else {
            Sent::Rejected(why)
        }
    }
}

/// Sends `request` and reads the answer (its first [`MAX_ANSWER_BYTES`]). A
/// request that failed is NotSent or Unknown (see [`lost`]); an answer lost
/// after its status line leaves the outcome unknown too.
pub async fn exchange(request: reqwest::RequestBuilder) -> Result<Answer, Sent> {
    let answer = request.send().await.map_err(|e| lost(&e))?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let text =
        read_capped(answer).await.map_err(|e| Sent::Unknown(format!("the answer was lost: {}", describe(&e))))?;
    Ok(Answer { status, headers, text })
}

/// The most of a platform's answer AOL reads: its answers are small JSON
/// documents, and an error page of 50 MB must not fill memory or the log.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The longest text of a platform's that AOL keeps (in an error, a log line).
pub const MAX_KEPT_CHARS: usize = 500;

/// An answer's body as text, at most [`MAX_ANSWER_BYTES`] of it (the rest is
/// not read).
pub async fn read_capped(mut answer: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        let room = MAX_ANSWER_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// `text` cut to [`MAX_KEPT_CHARS`] characters, saying so.
pub fn kept(text: &str) -> String {
    match text.char_indices().nth(MAX_KEPT_CHARS) {
        Some((at, _)) => format!("{}… (cut)", &text[..at]),
        None => text.to_string(),
    }
}

/// A link a platform gave for a post, if it is one people can follow
/// (http or https): anything else (`javascript:`, `data:`) is dropped.
pub fn web_link(url: Option<String>) -> Option<String> {
    url.filter(|u| crate::model::is_web_link(u))
}
