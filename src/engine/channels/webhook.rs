//! A webhook: the post as JSON, with the action's idempotency key as
//! `Idempotency-Key` and `X-AOL-Signature: t=<unix time>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>` so the receiver can check it came from
//! AOL, recently (SPEC §7).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;

use super::platform::{exchange, Platform, Post, Prepared, Remote, Sent};
use crate::model::Channel;

pub struct Webhook {
    http: reqwest::Client,
}

#[derive(Serialize)]
struct Body<'a> {
    idempotency_key: &'a str,
    action_id: i64,
    text: &'a str,
    created_at: String,
}

impl Webhook {
    pub fn new(http: reqwest::Client) -> Webhook {
        Webhook { http }
    }
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
    fn prepare(&self, channel: &Channel, post: &Post<'_>) -> Result<Prepared, String> {
        let body = Body {
            idempotency_key: post.idempotency_key,
            action_id: post.action_id,
            text: post.text,
            created_at: post.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        };
        Ok(Prepared::new(channel.base_url.clone(), serde_json::to_vec(&body).map_err(|e| e.to_string())?, None))
    }

    async fn send(&self, _channel: &Channel, secret: &SecretString, post: &Post<'_>, prepared: &Prepared) -> Sent {
        let request = self
            .http
            .post(&prepared.url)
            .header("Idempotency-Key", post.idempotency_key)
            .header("X-AOL-Signature", signature(secret.expose_secret().as_bytes(), Utc::now(), &prepared.body))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(prepared.body.clone());
        let answer = match exchange(request).await {
            Ok(a) => a,
            Err(sent) => return sent,
        };
        if !answer.status.is_success() {
            // The receiver drops a repeated Idempotency-Key.
            return answer.failure();
        }
        let id = answer.field("id").unwrap_or_else(|| post.idempotency_key.to_string());
        Sent::Posted(Remote { id, url: answer.field("url") })
    }
}
