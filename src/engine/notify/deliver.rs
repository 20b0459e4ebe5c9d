//! The delivery task: four times a second, the outbox's due rows, each
//! notifier's on a task of its own (a slow or dead receiver holds up only
//! itself), oldest first and one at a time per notifier, so an action's
//! notifications arrive in order. A failure is retried with backoff; a row
//! older than the setting is dropped, with a log line and a metric.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::model::{Notifier, OutboxRow};

pub use crate::engine::channels::webhook::signature;

/// How notifications are delivered.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// How often the outbox is read.
    pub every: Duration,
    /// Undelivered past this age: dropped (AOL_NOTIFY_MAX_AGE_HOURS).
    pub max_age: Duration,
    /// The dashboard's address for links in messages (AOL_PUBLIC_URL).
    pub public_url: Option<String>,
    /// The daemon's tick interval: no tick for three of them (and AOL not
    /// killed) is `daemon_down`. `None`: not watched.
    pub daemon_interval: Option<Duration>,
}

impl Default for DeliverySettings {
    fn default() -> DeliverySettings {
        DeliverySettings {
            every: Duration::from_millis(250),
            max_age: Duration::from_secs(24 * 3600),
            public_url: None,
            daemon_interval: None,
        }
    }
}

/// Rows read per round.
const BATCH: i64 = 200;

/// The wait before retry `attempts + 1`: 1 s, doubling, at most 10 minutes.
fn backoff(attempts: i64) -> TimeDelta {
    TimeDelta::seconds((1_i64 << attempts.clamp(0, 10)).min(600))
}

impl Engine {
    /// Delivers the outbox until `shutdown`.
    pub fn spawn_notifications(&self, settings: DeliverySettings, shutdown: CancellationToken) -> JoinHandle<()> {
        let engine = self.clone();
        let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
        tokio::spawn(async move {
            let mut down = false;
            // The daemon is looked at once a tick interval, not every round.
            let mut looked: Option<std::time::Instant> = None;
            loop {
                if let Some(interval) = settings.daemon_interval.filter(|i| looked.is_none_or(|t| t.elapsed() >= *i)) {
                    looked = Some(std::time::Instant::now());
                    match engine.daemon_down(interval, down).await {
                        Ok(now_down) => down = now_down,
                        Err(e) => tracing::warn!(error = %e, "notifications: cannot read the daemon's ticks"),
                    }
                }
                if let Err(e) = engine.deliver_round(&settings, &busy).await {
                    tracing::warn!(error = %e, "notifications: cannot read the outbox; trying again");
                }
                if !crate::engine::periodic::pause(settings.every, &shutdown).await {
                    return;
                }
            }
        })
    }

    /// Whether the daemon is down now (no tick for three intervals, AOL not
    /// killed); records `daemon_down` when it goes down (`was`: it was).
    async fn daemon_down(&self, interval: Duration, was: bool) -> Result<bool, crate::storage::StoreError> {
        let now = self.clock().now();
        let last = self.db().ticks_recent(1).await?.pop().map(|t| t.finished_at_utc);
        let silent = TimeDelta::from_std(interval * 3).unwrap_or(TimeDelta::minutes(1));
        let killed = self.db().flags_get().await?.killed;
        let down = !killed && last.is_some_and(|t| now - t > silent);
        if down && !was {
            let since = last.map(|t| t.to_rfc3339());
            tracing::warn!(?since, "the daemon wrote no tick for three intervals");
            let data = json!({"last_tick_at": since, "interval_seconds": interval.as_secs_f64()});
            self.audit("aol:server", None, "daemon_down", data).await;
        }
        Ok(down)
    }

    async fn deliver_round(
        &self,
        settings: &DeliverySettings,
        busy: &Arc<Mutex<HashSet<String>>>,
    ) -> Result<(), crate::storage::StoreError> {
        let now = self.clock().now();
        let cutoff = now - TimeDelta::from_std(settings.max_age).unwrap_or(TimeDelta::days(1));
        let dropped = self.db().outbox_drop_older(cutoff, now).await?;
        if dropped > 0 {
            tracing::warn!(dropped, "notifications: dropped undelivered ones older than AOL_NOTIFY_MAX_AGE_HOURS");
            self.metrics().notifications("dropped", dropped);
            self.note_unmarked_change();
        }
        let due = self.db().outbox_due(now, BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        let notifiers = self.db().notifiers().await?;
        for notifier in notifiers {
            let rows: Vec<OutboxRow> = due.iter().filter(|r| r.notifier == notifier.name).cloned().collect();
            if rows.is_empty() || !busy.lock().expect("not poisoned").insert(notifier.name.clone()) {
                continue; // nothing for it, or its earlier rows are still on their way
            }
            let (engine, busy, public_url) = (self.clone(), busy.clone(), settings.public_url.clone());
            tokio::spawn(async move {
                for row in rows {
                    if !engine.deliver_one(&notifier, &row, public_url.as_deref()).await {
                        break; // keep its order: the rest wait for this one
                    }
                }
                busy.lock().expect("not poisoned").remove(&notifier.name);
            });
        }
        Ok(())
    }

    /// Sends `row` to `notifier`; true when it was delivered.
    async fn deliver_one(&self, notifier: &Notifier, row: &OutboxRow, public_url: Option<&str>) -> bool {
        let body = match self.message(notifier, row, public_url).await {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(error = %e, "notifications: cannot build a message; trying again");
                return false;
            }
        };
        let body = serde_json::to_vec(&body).expect("JSON serialises");
        // Checked again at each delivery, as for channels: the setting may have changed.
        if let Some(why) = self.platforms().refuses(&notifier.url) {
            let _ = self.db().outbox_retry(row.id, self.clock().now() + backoff(row.attempts), &why).await;
            return false;
        }
        let mut request = self
            .platforms()
            .http()
            .post(&notifier.url)
            .timeout(Duration::from_secs(10))
            .header("content-type", "application/json")
            .header("X-AOL-Event", &row.event)
            .header("X-AOL-Event-Id", row.id.to_string());
        if let Some(var) = &notifier.secret_env {
            match std::env::var(var) {
                Ok(secret) => {
                    request = request.header("X-AOL-Signature", signature(secret.trim().as_bytes(), Utc::now(), &body))
                }
                Err(_) => {
                    tracing::warn!(notifier = %notifier.name, var, "notifications: the signing secret is not set")
                }
            }
        }
        let outcome = match request.body(body).send().await {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) => Err(format!("the receiver answered {}", answer.status())),
            Err(e) => Err(format!("cannot reach the receiver: {}", e.without_url())),
        };
        let now = self.clock().now();
        let written = match &outcome {
            Ok(()) => self.db().outbox_delivered(row.id, now).await,
            Err(why) => self.db().outbox_retry(row.id, now + backoff(row.attempts), why).await,
        };
        match written {
            Ok(()) => self.note_unmarked_change(),
            Err(e) => tracing::warn!(error = %e, id = row.id, "notifications: cannot record a delivery"),
        }
        match outcome {
            Ok(()) => {
                self.metrics().notifications("delivered", 1);
                true
            }
            Err(why) => {
                tracing::info!(notifier = %notifier.name, id = row.id, attempts = row.attempts + 1, %why, "notification not delivered; will retry");
                self.metrics().notifications("failed", 1);
                false
            }
        }
    }

    /// The body for `row` in `notifier`'s format.
    async fn message(
        &self,
        notifier: &Notifier,
        row: &OutboxRow,
        public_url: Option<&str>,
    ) -> Result<Value, crate::storage::StoreError> {
        let data: Value = serde_json::from_str(&row.data_json).unwrap_or(Value::Null);
        let link = match (public_url, row.action_id) {
            (Some(base), Some(id)) => Some(format!("{}/actions/{id}", base.trim_end_matches('/'))),
            _ => None,
        };
        if notifier.format != "slack" {
            return Ok(json!({
                "id": row.id,
                "event": row.event,
                "action_id": row.action_id,
                "at": rfc3339(row.created_at_utc),
                "data": data,
                "link": link,
            }));
        }
        // Slack's incoming webhooks take `{"text"}` (mrkdwn; `<url|label>` links).
        let action = match row.action_id {
            Some(id) => self.db().action_get(id).await?,
            None => None,
        };
        let post_text = action
            .as_ref()
            .and_then(|a| serde_json::from_str::<Value>(&a.payload_json).ok())
            .and_then(|p| p["text"].as_str().map(str::to_string));
        let what = match row.action_id {
            Some(id) => format!("Post #{id}"),
            None => "AOL".to_string(),
        };
        let mut text = match row.event.as_str() {
            "awaiting_approval" => format!("{what} is waiting for approval"),
            "approval_expiring" => {
                format!("{what} has waited 22 hours for approval (approval_expiring): it expires in 2")
            }
            "daemon_down" => {
                "AOL's daemon has written no tick for three intervals (daemon_down): nothing is being sent".to_string()
            }
            "posted" => format!("{what} was posted"),
            "failed" => format!("{what} failed"),
            "unconfirmed" => format!("{what} may or may not have been posted (UNCONFIRMED): please check"),
            "expired" => format!("{what} expired without being sent"),
            "killed" => "AOL was killed: nothing will be sent".to_string(),
            "paused" => "AOL was paused".to_string(),
            other => format!("{what}: {other}"),
        };
        if let Some(post) = post_text {
            text.push_str(&format!("\n> {}", post.replace('\n', "\n> ")));
        }
        if let Some(link) = link {
            text.push_str(&format!("\n<{link}|Open it on the dashboard>"));
        }
        Ok(json!({ "text": text }))
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
