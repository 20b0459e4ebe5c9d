//! Mastodon: each image uploaded with `POST /api/v2/media` (its alt text as
//! `description`, waiting while the server processes it), then one
//! `POST /api/v1/statuses` per post of the thread, each replying to the one
//! before (`in_reply_to_id`) and carrying its own Idempotency-Key (the
//! action's key for the first post), so a repeat returns the status the
//! first request made instead of posting again (SPEC §7). Mastodon keeps a
//! key for one hour: a request that may have reached it is repeated only
//! within [`REPEAT_WINDOW`] (see [`Platform::repeat_window`]).

use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeDelta;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::limits;
use super::platform::{describe, exchange, kept, read_capped, web_link, Files, Platform, Remote, Sent};
use super::post::{MediaMap, Outgoing, Part, SocialPost};
use super::request::{fill, placeholder, Body, FileRef, Prepared, Request};
use crate::model::Channel;
use crate::storage::ServerLimits;

/// Mastodon's defaults, for a server that does not say (`/api/v2/instance`).
pub const DEFAULT_MAX_CHARACTERS: i64 = 500;
pub const DEFAULT_CHARS_PER_URL: i64 = 23;
pub const DEFAULT_MAX_MEDIA: i64 = 4;
pub const DEFAULT_MAX_IMAGE_BYTES: i64 = 16 * 1024 * 1024;
const MAX_ALT_CHARS: usize = 1500;

/// Mastodon keeps an Idempotency-Key for an hour after the status is made;
/// a repeat goes out only well inside that, whatever the clocks and the
/// request's own time on the way.
pub const REPEAT_WINDOW: TimeDelta = TimeDelta::minutes(45);

/// How long an uploaded image may take to be processed before the attempt
/// gives up (and is retried: an unused upload posts nothing).
const PROCESSING_WAIT: Duration = Duration::from_secs(30);

pub struct Mastodon {
    http: reqwest::Client,
}

/// The body of `POST /api/v1/statuses`.
#[derive(Serialize)]
struct Status<'a> {
    status: String,
    visibility: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    media_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_reply_to_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spoiler_text: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sensitive: bool,
}

impl Mastodon {
    pub fn new(http: reqwest::Client) -> Mastodon {
        Mastodon { http }
    }

    /// The limits `base_url` states at `/api/v2/instance`, or why they could not be read.
    pub async fn server_limits(&self, base_url: &str) -> Result<ServerLimits, String> {
        let answer = self.http.get(format!("{base_url}/api/v2/instance")).send().await.map_err(|e| describe(&e))?;
        if !answer.status().is_success() {
            return Err(format!("HTTP {}", answer.status().as_u16()));
        }
        let text = read_capped(answer).await.map_err(|e| describe(&e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let number = |path: &[&str]| {
            let mut at = &v["configuration"];
            for key in path {
                at = &at[*key];
            }
            at.as_i64().filter(|n| *n >= 0)
        };
        Ok(ServerLimits {
            max_characters: number(&["statuses", "max_characters"]).filter(|n| *n > 0),
            chars_per_url: number(&["statuses", "characters_reserved_per_url"]),
            max_media: number(&["statuses", "max_media_attachments"]).filter(|n| *n > 0),
            max_image_bytes: number(&["media_attachments", "image_size_limit"]).filter(|n| *n > 0),
        })
    }

    /// Uploads one image and waits until the server has processed it; its id.
    async fn upload(
        &self,
        request: &Request,
        secret: &SecretString,
        fields: &[(String, String)],
        file: &FileRef,
        files: &dyn Files,
    ) -> Result<String, Sent> {
        let bytes = files.bytes(&file.sha256).await.map_err(Sent::NotSent)?;
        let extension = file.mime.rsplit('/').next().unwrap_or("bin");
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(format!("{}.{extension}", &file.sha256[..16]))
            .mime_str(&file.mime)
            .map_err(|e| Sent::Rejected(e.to_string()))?;
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.clone(), v.clone());
        }
        let answer = exchange(
            self.http.post(&request.url).bearer_auth(secret.expose_secret()).multipart(form.part("file", part)),
        )
        .await
        // An upload that may have arrived makes at most an unused attachment, which the server drops.
        .map_err(|sent| match sent {
            Sent::Unknown(why) => Sent::NotSent(why),
            other => other,
        })?;
        if !answer.status.is_success() {
            return Err(answer.failure());
        }
        let id = answer.field("id").ok_or_else(|| Sent::NotSent("the media upload's answer has no id".into()))?;
        if answer.status == reqwest::StatusCode::OK && answer.field("url").is_some() {
            return Ok(id);
        }
        // 202: still processing; the attachment is ready once it has a URL.
        let base = request.url.trim_end_matches("/api/v2/media");
        let started = std::time::Instant::now();
        while started.elapsed() < PROCESSING_WAIT {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let check =
                exchange(self.http.get(format!("{base}/api/v1/media/{id}")).bearer_auth(secret.expose_secret())).await;
            if let Ok(a) = check {
                if a.status == reqwest::StatusCode::OK && a.field("url").is_some() {
                    return Ok(id);
                }
            }
        }
        Err(Sent::NotSent(format!("the server was still processing image {} after {PROCESSING_WAIT:?}", file.sha256)))
    }
}

/// The Idempotency-Key of post `index` (from 0) of the thread.
fn status_key(idempotency_key: &str, index: usize) -> String {
    if index == 0 {
        idempotency_key.to_string()
    } else {
        format!("{idempotency_key}#{}", index + 1)
    }
}

/// The text a part is posted with: a link card's URL is added when the text
/// does not hold it (Mastodon makes the card from a link in the text).
fn status_text(part: &Part) -> String {
    match &part.link {
        Some(link) if !part.text.contains(&link.url) => {
            if part.text.is_empty() {
                link.url.clone()
            } else {
                format!("{}\n\n{}", part.text, link.url)
            }
        }
        _ => part.text.clone(),
    }
}

fn limit(value: Option<i64>, default: i64) -> i64 {
    value.unwrap_or(default)
}

#[async_trait]
impl Platform for Mastodon {
    fn check(&self, channel: &Channel, post: &SocialPost, media: &MediaMap) -> Result<(), String> {
        let max = limit(channel.max_characters, DEFAULT_MAX_CHARACTERS) as usize;
        let per_url = limit(channel.chars_per_url, DEFAULT_CHARS_PER_URL) as usize;
        let spoiler = post.spoiler_text.as_deref().map_or(0, |s| s.chars().count());
        for (i, part) in post.parts.iter().enumerate() {
            let at = limits::place(post, i);
            let length = limits::mastodon_length(&status_text(part), per_url) + spoiler;
            if length > max {
                let with = if spoiler > 0 { " with its spoiler_text" } else { "" };
                return Err(format!(
                    "{at}\"text\"{with} counts {length} characters as Mastodon counts them (a link as {per_url}); \
                     this server takes at most {max}"
                ));
            }
            let max_media = limit(channel.max_media, DEFAULT_MAX_MEDIA) as usize;
            let max_bytes = limit(channel.max_image_bytes, DEFAULT_MAX_IMAGE_BYTES);
            limits::images(channel, part, media, max_media, max_bytes, "mastodon").map_err(|e| format!("{at}{e}"))?;
            if let Some(n) =
                part.images.iter().position(|i| i.alt.as_deref().is_some_and(|a| a.chars().count() > MAX_ALT_CHARS))
            {
                return Err(format!(
                    "{at}image {}'s \"alt\" is longer than mastodon's {MAX_ALT_CHARS} characters",
                    n + 1
                ));
            }
        }
        Ok(())
    }

    fn prepare(&self, channel: &Channel, out: &Outgoing<'_>) -> Result<Prepared, String> {
        let post = out.post;
        let mut requests = Vec::new();
        for (p, part) in post.parts.iter().enumerate() {
            let mut media_ids = Vec::new();
            for (i, image) in part.images.iter().enumerate() {
                let file = out.file(&image.media)?;
                let fields: Vec<(String, String)> =
                    image.alt.iter().map(|a| ("description".to_string(), a.clone())).collect();
                requests.push(Request {
                    url: format!("{}/api/v2/media", channel.base_url),
                    headers: vec![],
                    body: Body::Form {
                        fields,
                        file: FileRef { sha256: image.media.clone(), mime: file.mime.clone(), size: file.size },
                    },
                });
                media_ids.push(placeholder(&format!("aol:media {}.{}", p + 1, i + 1)));
            }
            let status = Status {
                status: status_text(part),
                visibility: post.visibility.as_deref().unwrap_or("public"),
                media_ids,
                in_reply_to_id: (p > 0).then(|| placeholder(&format!("aol:status {p}"))),
                language: post.langs.first().map(String::as_str),
                spoiler_text: post.spoiler_text.as_deref(),
                sensitive: post.sensitive,
            };
            requests.push(Request {
                url: format!("{}/api/v1/statuses", channel.base_url),
                headers: vec![
                    ("Idempotency-Key".into(), status_key(&out.idempotency_key, p)),
                    ("Content-Type".into(), "application/json".into()),
                ],
                body: Body::Json(serde_json::to_vec(&status).map_err(|e| e.to_string())?),
            });
        }
        Ok(Prepared::new(requests, vec![]))
    }

    async fn send(
        &self,
        _channel: &Channel,
        secret: &SecretString,
        _out: &Outgoing<'_>,
        prepared: &Prepared,
        files: &dyn Files,
    ) -> Sent {
        // The ids the server gave, by placeholder name.
        let mut known: Vec<(String, String)> = Vec::new();
        let (mut post, mut image) = (1, 0);
        let mut first: Option<Remote> = None;
        for request in &prepared.requests {
            match &request.body {
                Body::Form { fields, file } => {
                    image += 1;
                    match self.upload(request, secret, fields, file, files).await {
                        Ok(id) => known.push((format!("aol:media {post}.{image}"), id)),
                        Err(sent) => return sent,
                    }
                }
                Body::Json(body) => {
                    let mut http = self.http.post(&request.url).bearer_auth(secret.expose_secret());
                    for (k, v) in &request.headers {
                        http = http.header(k, v);
                    }
                    let answer = match exchange(http.body(fill(body, &known))).await {
                        Ok(a) => a,
                        Err(sent) => return sent,
                    };
                    if !answer.status.is_success() {
                        return answer.failure_keyed();
                    }
                    let Some(id) = answer.field("id") else {
                        return Sent::Unknown(format!(
                            "HTTP {}, but the answer names no status",
                            answer.status.as_u16()
                        ));
                    };
                    first.get_or_insert(Remote { id: kept(&id), url: web_link(answer.field("url")) });
                    known.push((format!("aol:status {post}"), id));
                    (post, image) = (post + 1, 0);
                }
                Body::File(_) => return Sent::Rejected("mastodon uploads files as forms".into()),
            }
        }
        match first {
            Some(remote) => Sent::Posted(remote),
            None => Sent::Rejected("the post has no status to make".into()),
        }
    }

    fn repeat_window(&self) -> Option<TimeDelta> {
        Some(REPEAT_WINDOW)
    }
}
