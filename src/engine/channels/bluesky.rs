//! Bluesky (AT Protocol), with an app password. At most once per action: the
//! record key (a TID) is made from the action's creation time and id, which
//! never change, so every attempt writes the same record at the same key, and
//! `putRecord` with `"swapRecord": null` refuses to write a second one
//! (SPEC §7; `reference/bluesky-local-pds.md` has the server's answers).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::sync::Mutex;

use super::platform::{describe, error_text, exchange, Found, Platform, Post, Prepared, Remote, Sent};
use crate::model::Channel;

const COLLECTION: &str = "app.bsky.feed.post";

pub struct Bluesky {
    http: reqwest::Client,
    /// Sessions by channel: made once, refreshed when they expire (making one
    /// per post would meet the server's login rate limit).
    sessions: Mutex<HashMap<SessionKey, Session>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct SessionKey {
    base_url: String,
    handle: String,
}

#[derive(Clone)]
struct Session {
    access: SecretString,
    refresh: SecretString,
}

/// The body of `com.atproto.repo.putRecord`, fields in a fixed order.
#[derive(Serialize)]
struct PutRecord<'a> {
    repo: &'a str,
    collection: &'a str,
    rkey: &'a str,
    record: PostRecord<'a>,
    /// `null`: "there must be no record at this key yet".
    #[serde(rename = "swapRecord")]
    swap_record: Option<()>,
}

#[derive(Serialize)]
struct PostRecord<'a> {
    #[serde(rename = "$type")]
    kind: &'a str,
    text: &'a str,
    #[serde(rename = "createdAt")]
    created_at: String,
}

impl Bluesky {
    pub fn new(http: reqwest::Client) -> Bluesky {
        Bluesky { http, sessions: Mutex::new(HashMap::new()) }
    }

    fn xrpc(channel: &Channel, method: &str) -> String {
        format!("{}/xrpc/{method}", channel.base_url)
    }

    /// A session for `channel`: the kept one, or a new one.
    async fn session(&self, channel: &Channel, secret: &SecretString, renew: bool) -> Result<Session, Sent> {
        let key = SessionKey { base_url: channel.base_url.clone(), handle: handle(channel).to_string() };
        let mut sessions = self.sessions.lock().await;
        if let Some(kept) = sessions.get(&key).cloned() {
            if !renew {
                return Ok(kept);
            }
            sessions.remove(&key);
            if let Ok(fresh) = self.refresh(channel, &kept).await {
                sessions.insert(key, fresh.clone());
                return Ok(fresh);
            }
        }
        let body = serde_json::json!({ "identifier": handle(channel), "password": secret.expose_secret() });
        let answer = self
            .http
            .post(Bluesky::xrpc(channel, "com.atproto.server.createSession"))
            .json(&body)
            .send()
            .await
            .map_err(|e| Sent::NotSent(format!("cannot log in to {}: {}", channel.base_url, describe(&e))))?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(Sent::NotSent(format!(
                "logging in as {} was refused: {}",
                handle(channel),
                error_text(status, &text)
            )));
        }
        let fresh =
            parse_session(&text).ok_or_else(|| Sent::NotSent("the server's login answer has no tokens".into()))?;
        sessions.insert(key, fresh.clone());
        Ok(fresh)
    }

    async fn refresh(&self, channel: &Channel, kept: &Session) -> Result<Session, ()> {
        let answer = self
            .http
            .post(Bluesky::xrpc(channel, "com.atproto.server.refreshSession"))
            .bearer_auth(kept.refresh.expose_secret())
            .send()
            .await
            .map_err(|_| ())?;
        if !answer.status().is_success() {
            return Err(());
        }
        parse_session(&answer.text().await.map_err(|_| ())?).ok_or(())
    }
}

#[async_trait]
impl Platform for Bluesky {
    fn prepare(&self, channel: &Channel, post: &Post<'_>) -> Result<Prepared, String> {
        let rkey = record_key(post.created_at, post.action_id);
        let body = PutRecord {
            repo: handle(channel),
            collection: COLLECTION,
            rkey: &rkey,
            record: PostRecord {
                kind: COLLECTION,
                text: post.text,
                created_at: post.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            },
            swap_record: None,
        };
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        Ok(Prepared::new(Bluesky::xrpc(channel, "com.atproto.repo.putRecord"), body, Some(rkey)))
    }

    async fn send(&self, channel: &Channel, secret: &SecretString, _post: &Post<'_>, prepared: &Prepared) -> Sent {
        let mut renewed = false;
        loop {
            let session = match self.session(channel, secret, renewed).await {
                Ok(s) => s,
                Err(sent) => return sent,
            };
            let request = self
                .http
                .post(&prepared.url)
                .bearer_auth(session.access.expose_secret())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(prepared.body.clone());
            let answer = match exchange(request).await {
                Ok(a) => a,
                Err(sent) => return sent,
            };
            let error = answer.field("error").unwrap_or_default();
            let remote = || remote(channel, prepared, &answer.text);
            return match answer.status {
                StatusCode::OK if answer.text.contains("\"commit\"") => Sent::Posted(remote()),
                StatusCode::OK => Sent::AlreadyPosted(remote()),
                StatusCode::BAD_REQUEST if error == "InvalidSwap" => Sent::AlreadyPosted(remote()),
                // Refused for the session, so not written: log in again, once.
                StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST
                    if !renewed
                        && matches!(
                            error.as_str(),
                            "ExpiredToken" | "InvalidToken" | "AuthMissing" | "AuthenticationRequired"
                        ) =>
                {
                    renewed = true;
                    continue;
                }
                // The same record at the same key: writing it again cannot post twice.
                _ => answer.failure(),
            };
        }
    }

    async fn find(&self, channel: &Channel, prepared: &Prepared) -> Option<Found> {
        let rkey = prepared.record_key.as_deref()?;
        let answer = self
            .http
            .get(Bluesky::xrpc(channel, "com.atproto.repo.getRecord"))
            .query(&[("repo", handle(channel)), ("collection", COLLECTION), ("rkey", rkey)])
            .send()
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => return Some(Found::Unknown(describe(&e))),
        };
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        Some(match status {
            StatusCode::OK => Found::Posted(remote(channel, prepared, &text)),
            StatusCode::BAD_REQUEST if text.contains("RecordNotFound") => Found::Absent,
            _ => Found::Unknown(error_text(status, &text)),
        })
    }
}

fn handle(channel: &Channel) -> &str {
    channel.handle.as_deref().unwrap_or_default()
}

fn parse_session(text: &str) -> Option<Session> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let token = |k: &str| v.get(k).and_then(|t| t.as_str()).map(|t| SecretString::from(t.to_string()));
    Some(Session { access: token("accessJwt")?, refresh: token("refreshJwt")? })
}

/// The post's `at://` URI (from the answer, else built from the key) and its
/// page on bsky.app.
fn remote(channel: &Channel, prepared: &Prepared, answer: &str) -> Remote {
    let rkey = prepared.record_key.clone().unwrap_or_default();
    let uri = serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|v| v.get("uri").and_then(|u| u.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("at://{}/{COLLECTION}/{rkey}", handle(channel)));
    Remote { id: uri, url: Some(format!("https://bsky.app/profile/{}/post/{rkey}", handle(channel))) }
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
    }
}
