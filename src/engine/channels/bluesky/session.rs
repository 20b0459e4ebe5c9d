//! Logging in to a Bluesky server with the channel's app password: one
//! session per channel, made once and refreshed when it expires (making one
//! per post would meet the server's login rate limit), and each request
//! retried once with a fresh session if the server refuses the old one.

use std::collections::HashMap;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::{handle, xrpc, Bluesky};
use crate::engine::channels::platform::{describe, error_text, exchange, read_capped, Answer, Sent};
use crate::model::Channel;

/// The kept sessions, by channel.
pub(super) type Sessions = Mutex<HashMap<SessionKey, Session>>;

#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct SessionKey {
    base_url: String,
    handle: String,
}

#[derive(Clone)]
pub(super) struct Session {
    access: SecretString,
    refresh: SecretString,
}

impl Bluesky {
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
            .post(xrpc(channel, "com.atproto.server.createSession"))
            .json(&body)
            .send()
            .await
            .map_err(|e| Sent::NotSent(format!("cannot log in to {}: {}", channel.base_url, describe(&e))))?;
        let status = answer.status();
        let text = read_capped(answer).await.unwrap_or_default();
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
            .post(xrpc(channel, "com.atproto.server.refreshSession"))
            .bearer_auth(kept.refresh.expose_secret())
            .send()
            .await
            .map_err(|_| ())?;
        if !answer.status().is_success() {
            return Err(());
        }
        parse_session(&read_capped(answer).await.map_err(|_| ())?).ok_or(())
    }

    /// POSTs `body` (of `content_type`) to `url` in a session, logging in
    /// again once if the session is refused (then nothing was written).
    pub(super) async fn call(
        &self,
        channel: &Channel,
        secret: &SecretString,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Answer, Sent> {
        let mut renewed = false;
        loop {
            let session = self.session(channel, secret, renewed).await?;
            let request = self
                .http
                .post(url)
                .bearer_auth(session.access.expose_secret())
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone());
            let answer = exchange(request).await?;
            let error = answer.field("error").unwrap_or_default();
            let refused = matches!(answer.status, StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST)
                && matches!(error.as_str(), "ExpiredToken" | "InvalidToken" | "AuthMissing" | "AuthenticationRequired");
            if refused && !renewed {
                renewed = true;
                continue;
            }
            return Ok(answer);
        }
    }
}

fn parse_session(text: &str) -> Option<Session> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let token = |k: &str| v.get(k).and_then(|t| t.as_str()).map(|t| SecretString::from(t.to_string()));
    Some(Session { access: token("accessJwt")?, refresh: token("refreshJwt")? })
}
