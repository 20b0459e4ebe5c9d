//! A webhook: the whole post as one JSON request (text, languages, images
//! inline as base64 with their alt text, link card, the thread's next
//! posts), with the action's idempotency key as `Idempotency-Key` and
//! `X-AOL-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//! so the receiver can check it came from AOL, recently (SPEC §7).
//!
//! What AOL asks of a receiver: to drop a request whose Idempotency-Key it
//! has seen in the last [`KEY_KEPT`]. A request that may have reached it (an
//! answer of 5xx) is repeated only within [`REPEAT_WINDOW`] of that; later,
//! the action is UNCONFIRMED and an operator decides.

use async_trait::async_trait;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;

use super::limits;
use super::platform::{exchange, kept, web_link, Files, Platform, Remote, Sent};
use super::post::{MediaMap, Outgoing, Part, SocialPost};
use super::request::{fill, placeholder, Body, Prepared, Request};
use crate::model::Channel;

/// How long a receiver keeps an Idempotency-Key (the promise AOL relies on).
pub const KEY_KEPT: TimeDelta = TimeDelta::hours(24);
/// Repeats of a request that may have arrived go out only within this.
pub const REPEAT_WINDOW: TimeDelta = TimeDelta::hours(23);

const MAX_IMAGES: usize = 4;
/// Each image inline: a request of at most a few tens of megabytes.
const MAX_IMAGE_BYTES: i64 = 16 * 1024 * 1024;

pub struct Webhook {
    http: reqwest::Client,
}

#[derive(Serialize)]
struct WebhookBody<'a> {
    idempotency_key: &'a str,
    action_id: i64,
    text: &'a str,
    created_at: String,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    langs: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<WebhookImage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a super::post::Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    thread: Vec<WebhookPart<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spoiler_text: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sensitive: bool,
}

#[derive(Serialize)]
struct WebhookPart<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<WebhookImage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a super::post::Link>,
}

#[derive(Serialize)]
struct WebhookImage<'a> {
    sha256: &'a str,
    mime: &'a str,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt: Option<&'a str>,
    /// The file's bytes in base64 (written `{{aol:base64 SHA}}` in the
    /// approved document, filled in as the request leaves).
    data_base64: String,
}

impl Webhook {
    pub fn new(http: reqwest::Client) -> Webhook {
        Webhook { http }
    }
}

fn images<'a>(out: &'a Outgoing<'a>, part: &'a Part) -> Result<Vec<WebhookImage<'a>>, String> {
    part.images
        .iter()
        .map(|i| {
            let file = out.file(&i.media)?;
            Ok(WebhookImage {
                sha256: &i.media,
                mime: &file.mime,
                size: file.size,
                alt: i.alt.as_deref(),
                data_base64: placeholder(&format!("aol:base64 {}", i.media)),
            })
        })
        .collect()
}

/// The `X-AOL-Signature` value for `body` sent at `t`.
pub fn signature(secret: &[u8], t: DateTime<Utc>, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.timestamp().to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={},v1={}", t.timestamp(), hex::encode(mac.finalize().into_bytes()))
}

#[async_trait]
impl Platform for Webhook {
    fn check(&self, channel: &Channel, post: &SocialPost, media: &MediaMap) -> Result<(), String> {
        for (i, part) in post.parts.iter().enumerate() {
            limits::images(channel, part, media, MAX_IMAGES, MAX_IMAGE_BYTES, "a webhook")
                .map_err(|e| format!("{}{e}", limits::place(post, i)))?;
        }
        Ok(())
    }

    fn prepare(&self, channel: &Channel, out: &Outgoing<'_>) -> Result<Prepared, String> {
        let post = out.post;
        let first = post.parts.first().ok_or("the post is empty")?;
        let thread = post.parts[1..]
            .iter()
            .map(|part| Ok(WebhookPart { text: &part.text, images: images(out, part)?, link: part.link.as_ref() }))
            .collect::<Result<Vec<_>, String>>()?;
        let body = WebhookBody {
            idempotency_key: &out.idempotency_key,
            action_id: out.action_id,
            text: &first.text,
            created_at: out.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            langs: &post.langs,
            images: images(out, first)?,
            link: first.link.as_ref(),
            thread,
            visibility: post.visibility.as_deref(),
            spoiler_text: post.spoiler_text.as_deref(),
            sensitive: post.sensitive,
        };
        let request = Request {
            url: channel.base_url.clone(),
            headers: vec![
                ("Idempotency-Key".into(), out.idempotency_key.to_string()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: Body::Json(serde_json::to_vec(&body).map_err(|e| e.to_string())?),
        };
        Ok(Prepared::new(vec![request], vec![]))
    }

    async fn send(
        &self,
        _channel: &Channel,
        secret: &SecretString,
        out: &Outgoing<'_>,
        prepared: &Prepared,
        files: &dyn Files,
    ) -> Sent {
        let Some(Request { url, headers, body: Body::Json(body) }) = prepared.requests.first() else {
            return Sent::Rejected("a webhook post is one JSON request".into());
        };
        let mut inline = Vec::new();
        for sha in out.post.media() {
            match files.bytes(&sha).await {
                Ok(bytes) => {
                    inline.push((format!("aol:base64 {sha}"), base64::engine::general_purpose::STANDARD.encode(bytes)))
                }
                Err(e) => return Sent::NotSent(e),
            }
        }
        let body = fill(body, &inline);
        let mut request = self
            .http
            .post(url)
            .header("X-AOL-Signature", signature(secret.expose_secret().as_bytes(), Utc::now(), &body));
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let answer = match exchange(request.body(body)).await {
            Ok(a) => a,
            Err(sent) => return sent,
        };
        if !answer.status.is_success() {
            return answer.failure_keyed();
        }
        let id = answer.field("id").map(|id| kept(&id)).unwrap_or_else(|| out.idempotency_key.to_string());
        Sent::Posted(Remote { id, url: web_link(answer.field("url")) })
    }

    fn repeat_window(&self) -> Option<TimeDelta> {
        Some(REPEAT_WINDOW)
    }
}
