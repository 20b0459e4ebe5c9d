//! Channels: where REAL posts go (SPEC §7). This module checks what an
//! operator asks to add, resolves a channel's secret at the moment it is
//! needed, and records every change with who made it.

mod bluesky;
pub mod limits;
pub mod mastodon;
pub mod network;
mod platform;
mod platforms;
pub mod post;
pub mod request;
mod secret;
pub mod webhook;

pub use bluesky::facets::{detect, Feature};
pub use bluesky::{is_handle, part_key, record_key};
pub use platform::{Files, Found, Platform, Remote, Sent};
pub use platforms::{HttpTimeouts, PlatformSettings, Platforms};
pub use post::{Facts, Image, Link, MediaMap, Outgoing, Part, SocialPost};
pub use request::{Body, FileRef, Prepared, Request};
pub use secret::{check_secret_env, check_secret_file, resolve_secret, SecretError, SECRET_ENV_PREFIX};

use thiserror::Error;

use super::Actor;
use super::Engine;
use crate::model::Right;
use crate::model::{Channel, ChannelKind};
use crate::storage::{ArmOutcome, NewChannel, RateLimits, StoreError};

/// A channel as an operator describes it, before any check.
#[derive(Clone, Debug, Default)]
pub struct ChannelRequest {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub handle: Option<String>,
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
}

#[derive(Debug, Error)]
pub enum ChannelError {
    /// Bad input: the reason, for the operator.
    #[error("{0}")]
    Invalid(String),
    #[error("a channel named {0:?} exists already (remove it first to change it)")]
    Exists(String),
    #[error("no channel named {0:?}")]
    NotFound(String),
    /// The actor's role does not allow this.
    #[error(transparent)]
    Forbidden(#[from] crate::engine::Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ChannelRequest {
    /// The channel to store, or why not: every field is checked, nothing is
    /// fetched (the secret may only be readable by the server).
    pub fn check(&self) -> Result<NewChannel, ChannelError> {
        let invalid = |m: String| ChannelError::Invalid(m);
        let name = self.name.trim();
        check_channel_name(name)?;
        let kind: ChannelKind = self.kind.trim().parse().map_err(invalid)?;
        let base_url = check_url(self.url.trim()).map_err(invalid)?;
        let handle = self.handle.as_deref().map(str::trim).filter(|h| !h.is_empty()).map(str::to_string);
        if let Some(h) = &handle {
            if h.len() > 253 || h.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid(format!("invalid handle {h:?}: no spaces, at most 253 characters")));
            }
        }
        if kind == ChannelKind::Bluesky && handle.is_none() {
            return Err(invalid(
                "a bluesky channel needs --handle (the account's handle, e.g. brand.bsky.social)".into(),
            ));
        }
        let secret_env = self.secret_env.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let secret_file = self.secret_file.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        match (&secret_env, &secret_file) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(invalid(
                    "give the secret's place, exactly one of --secret-env VAR or --secret-file PATH (never the secret itself)"
                        .into(),
                ))
            }
            (Some(var), None) => check_secret_env(var).map_err(invalid)?,
            (None, Some(file)) => check_secret_file(file).map_err(invalid)?,
        }
        Ok(NewChannel {
            name: name.to_string(),
            kind,
            base_url,
            handle,
            secret_env,
            secret_file,
            limits: Default::default(),
        })
    }
}

/// A channel's name, as payloads and policies name it: 1-64 lowercase
/// letters, digits, '-' or '_'.
pub fn check_channel_name(name: &str) -> Result<(), ChannelError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ChannelError::Invalid(format!("invalid channel name {name:?}: 1-64 lowercase letters, digits, '-' or '_'")))
    }
}

/// The base URL, normalised (no trailing '/'), or why it cannot be used: https,
/// or http to this machine only (a test server); no user, query or fragment.
fn check_url(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("invalid URL {raw:?}: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("invalid URL {raw:?}: it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(format!("{raw:?} is plain http: use https (http only to this machine, for tests)")),
        other => return Err(format!("invalid URL {raw:?}: the scheme is {other}, expected https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL must not carry a user or password: give the secret with --secret-env or --secret-file".to_string()
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("invalid URL {raw:?}: no query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl Engine {
    /// Adds a channel, disarmed. A Mastodon server is asked for its limits
    /// (`/api/v2/instance`); if it cannot be asked, Mastodon's usual ones hold.
    pub async fn channel_add(&self, request: &ChannelRequest, actor: &Actor) -> Result<Channel, ChannelError> {
        actor.require(Right::Configure)?;
        let mut new = request.check()?;
        if let Some(why) = self.platforms().refuses(&new.base_url) {
            return Err(ChannelError::Invalid(why));
        }
        if new.kind == ChannelKind::Mastodon {
            match self.platforms().mastodon.server_limits(&new.base_url).await {
                Ok(limits) => new.limits = limits,
                Err(e) => tracing::warn!(
                    channel = %new.name,
                    error = %e,
                    "cannot read the server's limits from /api/v2/instance; using Mastodon's usual ones (500 characters)"
                ),
            }
        }
        let added = self.db().channel_add(&new, self.clock().now(), &actor.recorded()).await?;
        let channel = added.ok_or_else(|| ChannelError::Exists(new.name.clone()))?;
        tracing::info!(channel = %channel.name, kind = %channel.kind, by = actor.who(), "channel added (disarmed)");
        Ok(channel)
    }

    /// Whether every image posted on channel `name` needs alt text.
    pub async fn channel_alt_text(&self, name: &str, required: bool, actor: &Actor) -> Result<Channel, ChannelError> {
        actor.require(Right::Configure)?;
        let channel = self
            .db()
            .channel_set_require_alt(name, required, self.clock().now(), &actor.recorded())
            .await?
            .ok_or_else(|| ChannelError::NotFound(name.to_string()))?;
        tracing::info!(channel = name, required, by = actor.who(), "channel alt-text setting changed");
        Ok(channel)
    }

    /// When REAL posts may go out on channel `name` (`None`: any time).
    pub async fn channel_window(
        &self,
        name: &str,
        window: Option<&crate::engine::zones::PostingWindow>,
        actor: &Actor,
    ) -> Result<Channel, ChannelError> {
        actor.require(Right::Configure)?;
        let spec = window.map(|w| w.spec());
        let channel = self
            .db()
            .channel_set_window(name, spec.as_deref(), self.clock().now(), &actor.recorded())
            .await?
            .ok_or_else(|| ChannelError::NotFound(name.to_string()))?;
        tracing::info!(
            channel = name,
            window = spec.as_deref().unwrap_or("any time"),
            by = actor.who(),
            "posting window set"
        );
        Ok(channel)
    }

    pub async fn channel_remove(&self, name: &str, actor: &Actor) -> Result<(), ChannelError> {
        actor.require(Right::Configure)?;
        if !self.db().channel_remove(name, self.clock().now(), &actor.recorded()).await? {
            return Err(ChannelError::NotFound(name.to_string()));
        }
        tracing::info!(channel = name, by = actor.who(), "channel removed");
        Ok(())
    }

    /// Arms or disarms; `Ok((channel, changed))`.
    pub async fn channel_arm(&self, name: &str, armed: bool, actor: &Actor) -> Result<(Channel, bool), ChannelError> {
        actor.require(Right::Configure)?;
        match self.db().channel_set_armed(name, armed, self.clock().now(), &actor.recorded()).await? {
            ArmOutcome::Changed(channel) => {
                tracing::info!(
                    channel = name,
                    armed,
                    by = actor.who(),
                    reason = actor.reason(),
                    "channel arming changed"
                );
                Ok((channel, true))
            }
            ArmOutcome::AlreadySo(channel) => Ok((channel, false)),
            ArmOutcome::NoSuchChannel => Err(ChannelError::NotFound(name.to_string())),
        }
    }

    /// Sets a channel's rate limits (`None`: no such limit); each at least 1.
    pub async fn channel_limits(
        &self,
        name: &str,
        limits: &RateLimits,
        actor: &Actor,
    ) -> Result<Channel, ChannelError> {
        actor.require(Right::Configure)?;
        let checks = [
            ("per hour", limits.max_per_hour, 10_000),
            ("per day", limits.max_per_day, 100_000),
            ("minimum spacing (seconds)", limits.min_spacing_seconds, 7 * 86_400),
        ];
        for (what, value, most) in checks {
            if let Some(v) = value.filter(|v| !(1..=most).contains(v)) {
                return Err(ChannelError::Invalid(format!("invalid limit {what} {v}: from 1 to {most}")));
            }
        }
        let channel = self
            .db()
            .channel_set_limits(name, limits, self.clock().now(), &actor.recorded())
            .await?
            .ok_or_else(|| ChannelError::NotFound(name.to_string()))?;
        tracing::info!(channel = name, ?limits, by = actor.who(), "channel rate limits set");
        Ok(channel)
    }
}
