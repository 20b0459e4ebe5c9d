//! Mastodon: `POST /api/v1/statuses` with the action's idempotency key as
//! `Idempotency-Key`, so a repeated request returns the status the first one
//! made instead of posting again (SPEC §7).

use async_trait::async_trait;
use chrono::Utc;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::platform::{describe, error_text, lost, retry_at, Platform, Post, Prepared, Remote, Sent};
use crate::model::Channel;

pub struct Mastodon {
    http: reqwest::Client,
}

#[derive(Serialize)]
struct Status<'a> {
    status: &'a str,
    visibility: &'a str,
}

impl Mastodon {
    pub fn new(http: reqwest::Client) -> Mastodon {
        Mastodon { http }
    }
}

#[async_trait]
impl Platform for Mastodon {
    fn prepare(&self, channel: &Channel, post: &Post<'_>) -> Result<Prepared, String> {
        let body =
            serde_json::to_vec(&Status { status: post.text, visibility: "public" }).map_err(|e| e.to_string())?;
        Ok(Prepared::new(format!("{}/api/v1/statuses", channel.base_url), body, None))
    }

    async fn send(&self, _channel: &Channel, secret: &SecretString, post: &Post<'_>, prepared: &Prepared) -> Sent {
        let answer = self
            .http
            .post(&prepared.url)
            .bearer_auth(secret.expose_secret())
            .header("Idempotency-Key", post.idempotency_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(prepared.body.clone())
            .send()
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => return lost(&e),
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        let text = match answer.text().await {
            Ok(t) => t,
            Err(e) => return Sent::Unknown(format!("the answer was lost: {}", describe(&e))),
        };
        match status {
            s if s.is_success() => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
                match field("id") {
                    Some(id) => Sent::Posted(Remote { id, url: field("url") }),
                    None => Sent::Unknown(format!("HTTP {}, but the answer names no status", s.as_u16())),
                }
            }
            StatusCode::TOO_MANY_REQUESTS => {
                Sent::RetryAt { at: retry_at(&headers, Utc::now()), why: error_text(status, &text) }
            }
            StatusCode::SERVICE_UNAVAILABLE if headers.contains_key(reqwest::header::RETRY_AFTER) => {
                Sent::RetryAt { at: retry_at(&headers, Utc::now()), why: error_text(status, &text) }
            }
            // A repeat with the same Idempotency-Key cannot post twice.
            s if s.is_server_error() => Sent::NotSent(error_text(status, &text)),
            _ => Sent::Rejected(error_text(status, &text)),
        }
    }
}
