//! Mastodon: `POST /api/v1/statuses` with the action's idempotency key as
//! `Idempotency-Key`, so a repeated request returns the status the first one
//! made instead of posting again (SPEC §7).

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::platform::{exchange, Platform, Post, Prepared, Remote, Sent};
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
        let request = self
            .http
            .post(&prepared.url)
            .bearer_auth(secret.expose_secret())
            .header("Idempotency-Key", post.idempotency_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(prepared.body.clone());
        let answer = match exchange(request).await {
            Ok(a) => a,
            Err(sent) => return sent,
        };
        if !answer.status.is_success() {
            // A repeat with the same Idempotency-Key cannot post twice.
            return answer.failure();
        }
        match answer.field("id") {
            Some(id) => Sent::Posted(Remote { id, url: answer.field("url") }),
            None => Sent::Unknown(format!("HTTP {}, but the answer names no status", answer.status.as_u16())),
        }
    }
}
