//! Bluesky (AT Protocol), with an app password. At most once per action:
//! every post of it has a record key made from the action's creation time,
//! id and place in the thread, which never change, so every attempt writes
//! the same records at the same keys, and `putRecord` with
//! `"swapRecord": null` refuses to write a second one (SPEC §7;
//! `reference/bluesky-local-pds.md` has the server's answers). Links, #tags
//! and @mentions are made live by facets (`facets`), images and link cards
//! are uploaded blobs, threads are replies (`record`).

mod cid;
pub(super) mod facets;
mod record;
mod session;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use secrecy::SecretString;

use super::limits;
use super::platform::{describe, error_text, read_capped, Files, Found, Platform, Remote, Sent};
use super::post::{Facts, MediaMap, Outgoing, SocialPost};
use super::request::{Body, Prepared};
use crate::model::Channel;

pub use facets::is_handle;
pub use record::part_key;

const COLLECTION: &str = "app.bsky.feed.post";

/// Bluesky's limits (its app's, and the lexicon's).
const MAX_GRAPHEMES: usize = 300;
const MAX_TEXT_BYTES: usize = 3000;
const MAX_IMAGES: usize = 4;
const MAX_IMAGE_BYTES: i64 = 1_000_000;
const MAX_LANGS: usize = 3;

pub struct Bluesky {
    http: reqwest::Client,
    /// Sessions by channel: made once, refreshed when they expire (making one
    /// per post would meet the server's login rate limit).
    sessions: session::Sessions,
}

impl Bluesky {
    pub fn new(http: reqwest::Client) -> Bluesky {
        Bluesky { http, sessions: session::Sessions::default() }
    }

    /// Who `handle` is on `channel`'s server: `Ok(None)` if no account has it.
    async fn resolve(&self, channel: &Channel, handle: &str) -> Result<Option<String>, String> {
        let answer = self
            .http
            .get(xrpc(channel, "com.atproto.identity.resolveHandle"))
            .query(&[("handle", handle)])
            .send()
            .await
            .map_err(|e| format!("cannot ask {} who @{handle} is: {}", channel.base_url, describe(&e)))?;
        let status = answer.status();
        let text = read_capped(answer).await.unwrap_or_default();
        match status {
            StatusCode::OK => {
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                match v.get("did").and_then(|d| d.as_str()) {
                    Some(did) if did.starts_with("did:") => Ok(Some(did.to_string())),
                    _ => Err(format!("{} answered for @{handle} without a DID", channel.base_url)),
                }
            }
            // "Unable to resolve handle": no such account.
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => Ok(None),
            _ => Err(format!("cannot ask who @{handle} is: {}", error_text(status, &text))),
        }
    }

    /// Writes one record; whether this call made it, and its URI as the
    /// server gave it. `expected`: the CID a thread's post must get (the
    /// next posts reply to it by that CID).
    async fn put(
        &self,
        channel: &Channel,
        secret: &SecretString,
        url: &str,
        body: &[u8],
        expected: Option<&str>,
    ) -> Result<(bool, Option<String>), Sent> {
        let answer = self.call(channel, secret, url, "application/json", body.to_vec()).await?;
        match answer.status {
            StatusCode::OK => {
                let made = answer.text.contains("\"commit\"");
                match (answer.field("cid"), expected) {
                    (Some(cid), Some(expected)) if cid != expected => Err(Sent::Rejected(format!(
                        "the server stored this post as {cid}, not {expected} as AOL computed; the next posts of \
                         the thread would reply to the wrong one, so the thread stops here"
                    ))),
                    _ => Ok((made, answer.field("uri"))),
                }
            }
            // Something is at that key already: the same post from an earlier attempt, or (in a thread) another.
            StatusCode::BAD_REQUEST if answer.field("error").as_deref() == Some("InvalidSwap") => {
                if expected.is_some_and(|expected| !answer.text.contains(expected)) {
                    Err(Sent::Rejected(format!(
                        "a different record is already at this post's key ({}); the thread stops here",
                        error_text(answer.status, &answer.text)
                    )))
                } else {
                    Ok((false, None))
                }
            }
            _ => Err(answer.failure()),
        }
    }

    /// Uploads a stored file as a blob, checking the server names it as AOL did.
    async fn upload(
        &self,
        channel: &Channel,
        secret: &SecretString,
        url: &str,
        file: &super::request::FileRef,
        files: &dyn Files,
    ) -> Result<(), Sent> {
        let bytes = files.bytes(&file.sha256).await.map_err(Sent::NotSent)?;
        // An upload whose answer was lost made no post: it is simply done again.
        let answer = self.call(channel, secret, url, &file.mime, bytes).await.map_err(|sent| match sent {
            Sent::Unknown(why) => Sent::NotSent(format!("the image upload's answer was lost ({why})")),
            other => other,
        })?;
        if !answer.status.is_success() {
            return Err(answer.failure());
        }
        let expected = cid::blob(&file.sha256).map_err(Sent::Rejected)?;
        let v: serde_json::Value = serde_json::from_str(&answer.text).unwrap_or_default();
        let got = v["blob"]["ref"]["$link"].as_str().unwrap_or_default();
        let mime = v["blob"]["mimeType"].as_str().unwrap_or_default();
        if got != expected || mime != file.mime {
            return Err(Sent::Rejected(format!(
                "the server stored the image {} as {got} ({mime}), not {expected} ({}) as the post names it",
                file.sha256, file.mime
            )));
        }
        Ok(())
    }

    /// Reads the record at `rkey`.
    async fn get(&self, channel: &Channel, rkey: &str) -> Result<Option<String>, String> {
        let answer = self
            .http
            .get(xrpc(channel, "com.atproto.repo.getRecord"))
            .query(&[("repo", handle(channel)), ("collection", COLLECTION), ("rkey", rkey)])
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = answer.status();
        let text = read_capped(answer).await.unwrap_or_default();
        match status {
            StatusCode::OK => Ok(Some(text)),
            StatusCode::BAD_REQUEST if text.contains("RecordNotFound") => Ok(None),
            _ => Err(error_text(status, &text)),
        }
    }
}

#[async_trait]
impl Platform for Bluesky {
    fn check(&self, channel: &Channel, post: &SocialPost, media: &MediaMap) -> Result<(), String> {
        if post.langs.len() > MAX_LANGS {
            return Err(format!("\"langs\" has {} languages; bluesky takes at most {MAX_LANGS}", post.langs.len()));
        }
        if post.visibility.as_deref().is_some_and(|v| v != "public") || post.spoiler_text.is_some() || post.sensitive {
            return Err("\"visibility\", \"spoiler_text\" and \"sensitive\" are Mastodon's; a bluesky post is public \
                        and has none of them"
                .into());
        }
        for (i, part) in post.parts.iter().enumerate() {
            let at = limits::place(post, i);
            limits::graphemes(&part.text, MAX_GRAPHEMES, "bluesky").map_err(|e| format!("{at}{e}"))?;
            if part.text.len() > MAX_TEXT_BYTES {
                return Err(format!(
                    "{at}\"text\" is {} bytes of UTF-8; bluesky takes at most {MAX_TEXT_BYTES}",
                    part.text.len()
                ));
            }
            if !part.images.is_empty() && part.link.is_some() {
                return Err(format!(
                    "{at}a bluesky post carries images or a link card, not both: remove \"images\" or \"link\""
                ));
            }
            limits::images(channel, part, media, MAX_IMAGES, MAX_IMAGE_BYTES, "bluesky")
                .map_err(|e| format!("{at}{e}"))?;
        }
        Ok(())
    }

    fn needs_lookup(&self, post: &SocialPost) -> bool {
        post.is_thread() || post.parts.iter().any(|p| !facets::mentions(&p.text).is_empty())
    }

    async fn look_up(&self, channel: &Channel, post: &SocialPost) -> Result<Facts, String> {
        let mut facts = Facts::default();
        if post.is_thread() {
            let did = self.resolve(channel, handle(channel)).await?;
            facts.did = Some(did.ok_or_else(|| {
                format!("the channel's own handle @{} is not an account on {}", handle(channel), channel.base_url)
            })?);
        }
        for part in &post.parts {
            for mentioned in facets::mentions(&part.text) {
                if let std::collections::btree_map::Entry::Vacant(slot) = facts.mentions.entry(mentioned) {
                    let did = self.resolve(channel, slot.key()).await?;
                    slot.insert(did);
                }
            }
        }
        Ok(facts)
    }

    fn prepare(&self, channel: &Channel, out: &Outgoing<'_>) -> Result<Prepared, String> {
        record::prepare(channel, handle(channel), out)
    }

    async fn send(
        &self,
        channel: &Channel,
        secret: &SecretString,
        out: &Outgoing<'_>,
        prepared: &Prepared,
        files: &dyn Files,
    ) -> Sent {
        let mut made = 0;
        let mut first: Option<Remote> = None;
        // The records' CIDs, in order (a thread's; a single post's is not checked).
        let mut expected = prepared.record_cids.iter();
        for request in &prepared.requests {
            let done = match &request.body {
                Body::File(file) => self.upload(channel, secret, &request.url, file, files).await.map(|_| None),
                Body::Json(body) => {
                    let cid = expected.next().map(String::as_str);
                    self.put(channel, secret, &request.url, body, cid).await.map(Some)
                }
                Body::Form { .. } => Err(Sent::Rejected("bluesky takes no form uploads".into())),
            };
            match done {
                Ok(None) => {}
                Ok(Some((new, uri))) => {
                    made += usize::from(new);
                    if first.is_none() {
                        let rkey = prepared.record_keys.first().map(String::as_str).unwrap_or_default();
                        let id = uri.unwrap_or_else(|| at_uri(channel, rkey, out.facts.did.as_deref()));
                        first = Some(Remote { id, url: Some(web_url(channel, rkey)) });
                    }
                }
                Err(sent) => return sent,
            }
        }
        let Some(first) = first else { return Sent::Rejected("the post has no record to write".into()) };
        if made > 0 {
            Sent::Posted(first)
        } else {
            Sent::AlreadyPosted(first)
        }
    }

    async fn find(&self, channel: &Channel, prepared: &Prepared) -> Option<Found> {
        let mut present = 0;
        let mut first = None;
        for rkey in &prepared.record_keys {
            match self.get(channel, rkey).await {
                Ok(Some(text)) => {
                    present += 1;
                    if first.is_none() {
                        let uri = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| v.get("uri").and_then(|u| u.as_str()).map(str::to_string));
                        let id = uri.unwrap_or_else(|| at_uri(channel, rkey, None));
                        first = Some(Remote { id, url: Some(web_url(channel, rkey)) });
                    }
                }
                Ok(None) => {}
                Err(e) => return Some(Found::Unknown(e)),
            }
        }
        let total = prepared.record_keys.len();
        Some(match (present, first) {
            (p, Some(first)) if p == total => Found::Posted(first),
            (0, _) => Found::Absent,
            (present, _) => Found::Incomplete { present, total },
        })
    }
}

fn xrpc(channel: &Channel, method: &str) -> String {
    format!("{}/xrpc/{method}", channel.base_url)
}

fn handle(channel: &Channel) -> &str {
    channel.handle.as_deref().unwrap_or_default()
}

/// The `at://` URI of the post at `rkey` (by DID when known).
fn at_uri(channel: &Channel, rkey: &str, did: Option<&str>) -> String {
    format!("at://{}/{COLLECTION}/{rkey}", did.unwrap_or(handle(channel)))
}

fn web_url(channel: &Channel, rkey: &str) -> String {
    format!("https://bsky.app/profile/{}/post/{rkey}", handle(channel))
}

/// A TID: microseconds since 1970 (53 bits) and a 10-bit clock id, in the
/// sortable base-32 alphabet, 13 characters.
pub fn record_key(created_at: DateTime<Utc>, action_id: i64) -> String {
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    let micros = created_at.timestamp_micros().max(0) as u64 & ((1 << 53) - 1);
    let mut value = (micros << 10) | (action_id as u64 & 0x3ff);
    let mut out = [0u8; 13];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_are_tids_that_sort_by_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-27T05:00:00.123456Z").unwrap().with_timezone(&Utc);
        let key = record_key(t, 7);
        assert_eq!(key.len(), 13);
        assert!(key.as_bytes()[0] <= b'j', "the top bit is zero: {key}");
        assert_eq!(key, record_key(t, 7), "the same action always gets the same key");
        assert_ne!(key, record_key(t, 8));
        assert!(record_key(t + chrono::TimeDelta::microseconds(1), 0) > record_key(t, 1023));
        assert_eq!(part_key(t, 7, 0), key, "a thread's first post keeps the action's key");
        assert!(part_key(t, 7, 1) > part_key(t, 7, 0) && part_key(t, 7, 2) > part_key(t, 7, 1));
    }
}
