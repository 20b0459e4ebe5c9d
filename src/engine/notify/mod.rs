//! The operators' bell: notifiers (`aol notify add`) receive chosen events
//! (a post awaiting approval, posted, failed, …). Each event is written to
//! the outbox in the transaction of the change that caused it (see
//! `storage::outbox`), then delivered by its own task (`deliver`): signed,
//! retried with backoff, at least once, in order per action, never holding
//! up the daemon or a post.

mod deliver;

pub use deliver::{signature, DeliverySettings};

use super::access::Actor;
use super::Engine;
use crate::model::{Notifier, Right, NOTICES};
use crate::storage::StoreError;

/// Why a notifier was not added, changed or tested.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is no notifier named {0:?}")]
    NotFound(String),
    #[error("a notifier named {0:?} exists already")]
    Exists(String),
    #[error(transparent)]
    Forbidden(#[from] super::Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A notifier and what became of its notifications.
#[derive(Clone, Debug)]
pub struct NotifierStatus {
    pub notifier: Notifier,
    pub waiting: i64,
    pub delivered: i64,
    pub dropped: i64,
}

/// A notifier as asked for.
#[derive(Clone, Debug, Default)]
pub struct NotifierRequest {
    pub name: String,
    pub url: String,
    /// Comma-separated, from [`NOTICES`].
    pub events: String,
    pub secret_env: Option<String>,
    /// `json` (the default) or `slack`.
    pub format: Option<String>,
}

impl Engine {
    pub async fn notifier_add(&self, request: &NotifierRequest, actor: &Actor) -> Result<Notifier, NotifyError> {
        actor.require(Right::Configure)?;
        super::channels::check_channel_name(&request.name)
            .map_err(|e| NotifyError::Invalid(e.to_string().replace("channel name", "notifier name")))?;
        let url = url::Url::parse(request.url.trim())
            .map_err(|e| NotifyError::Invalid(format!("invalid URL {:?}: {e}", request.url)))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(NotifyError::Invalid(format!("invalid URL {:?}: http(s) only", request.url)));
        }
        if let Some(why) = self.platforms().refuses(url.as_str()) {
            return Err(NotifyError::Invalid(why));
        }
        let mut events = Vec::new();
        for event in request.events.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if !NOTICES.contains(&event) {
                return Err(NotifyError::Invalid(format!(
                    "unknown event {event:?}: expected some of {}",
                    NOTICES.join(", ")
                )));
            }
            if !events.contains(&event) {
                events.push(event);
            }
        }
        if events.is_empty() {
            return Err(NotifyError::Invalid(format!("no events: give some of {}", NOTICES.join(", "))));
        }
        if let Some(var) = &request.secret_env {
            super::channels::check_secret_env(var).map_err(NotifyError::Invalid)?;
        }
        let format = request.format.clone().unwrap_or_else(|| "json".into());
        if !["json", "slack"].contains(&format.as_str()) {
            return Err(NotifyError::Invalid(format!("unknown format {format:?}: expected json or slack")));
        }
        let notifier = Notifier {
            name: request.name.clone(),
            url: url.to_string(),
            events: events.join(","),
            secret_env: request.secret_env.clone(),
            format,
            created_at_utc: self.clock().now(),
            created_by: actor.who().to_string(),
        };
        if !self.db().notifier_add(&notifier).await? {
            return Err(NotifyError::Exists(notifier.name));
        }
        tracing::info!(notifier = %notifier.name, events = %notifier.events, by = actor.who(), "notifier added");
        Ok(notifier)
    }

    /// Every notifier, with how many notifications it has waiting, delivered
    /// and dropped.
    pub async fn notifiers(&self, actor: &Actor) -> Result<Vec<NotifierStatus>, NotifyError> {
        actor.require(Right::View)?;
        let counts = self.db().outbox_counts().await?;
        Ok(self
            .db()
            .notifiers()
            .await?
            .into_iter()
            .map(|notifier| {
                let (waiting, delivered, dropped) = counts
                    .iter()
                    .find(|(name, ..)| *name == notifier.name)
                    .map(|(_, w, d, x)| (*w, *d, *x))
                    .unwrap_or_default();
                NotifierStatus { notifier, waiting, delivered, dropped }
            })
            .collect())
    }

    /// Removes a notifier, with what it still had to receive.
    pub async fn notifier_remove(&self, name: &str, actor: &Actor) -> Result<(), NotifyError> {
        actor.require(Right::Configure)?;
        if !self.db().notifier_remove(name).await? {
            return Err(NotifyError::NotFound(name.to_string()));
        }
        tracing::info!(notifier = name, by = actor.who(), "notifier removed");
        Ok(())
    }

    /// Puts a `test` notification in the outbox for `name`.
    pub async fn notifier_test(&self, name: &str, actor: &Actor) -> Result<(), NotifyError> {
        actor.require(Right::Configure)?;
        if !self.db().notifiers().await?.iter().any(|n| n.name == name) {
            return Err(NotifyError::NotFound(name.to_string()));
        }
        let data = serde_json::json!({"message": "a test of this notifier", "by": actor.who()});
        self.db().outbox_add(name, "test", &data, self.clock().now()).await?;
        Ok(())
    }
}
