//! Retention: the ledger grows by 17,000 rows a day at the default interval,
//! logs and finished actions with the work. A maintenance task prunes what is
//! older than the configured ages, in small batches with pauses between them
//! so the daemon's writes never queue behind it.
//!
//! Media files are removed once no action refers to them and they are older
//! than a week. Never pruned: actions still to run or waiting for someone (PENDING, RETRY,
//! RUNNING, AWAITING_APPROVAL, UNCONFIRMED), and DLQ actions unless a DLQ age
//! is set. A pruned action's key is retired, never accepted again.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::storage::{StoreError, FINISHED_STATUSES};

/// How often PostgreSQL's counter deltas are folded (see `storage::counters`)
/// and SQLite's write-ahead log is checkpointed (see `Db::checkpoint`).
pub const FOLD_EVERY: Duration = Duration::from_secs(1);

/// Rows deleted per statement.
pub const BATCH: i64 = 500;
/// Pause between batches: room for the daemon's own writes.
const BREATHER: Duration = Duration::from_millis(20);

/// How long each kind of row is kept; `None` = forever.
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionSettings {
    pub ticks: Option<Duration>,
    /// SKIPPED ticks only say the daemon was paused: they can go sooner.
    pub skipped_ticks: Option<Duration>,
    pub logs: Option<Duration>,
    pub actions: Option<Duration>,
    pub dlq: Option<Duration>,
    /// The audit trail: kept forever unless set (a pruned chain still
    /// verifies from the checkpoint it leaves).
    pub audit: Option<Duration>,
    /// How often the task runs.
    pub every: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        let days = |n: u64| Some(Duration::from_secs(n * 86_400));
        RetentionSettings {
            ticks: days(30),
            skipped_ticks: days(1),
            logs: days(30),
            actions: days(30),
            dlq: None,
            audit: None,
            every: Duration::from_secs(600),
        }
    }
}

/// What one pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub ticks: u64,
    pub logs: u64,
    pub actions: u64,
    /// Media files no action refers to any more (see `engine::media`).
    pub media: u64,
    /// Rows of the audit trail.
    pub audit: u64,
    /// Notifications delivered or dropped (they go with the log lines).
    pub notifications: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.ticks + self.logs + self.actions + self.media + self.audit + self.notifications
    }
}

fn cutoff(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    now - TimeDelta::from_std(age).unwrap_or(TimeDelta::MAX)
}

/// Runs `batch` until it deletes less than a full batch; returns the total.
async fn drain<F, Fut>(mut batch: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let n = batch().await?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
        tokio::time::sleep(BREATHER).await;
    }
}

impl Engine {
    /// One full pass of retention, now.
    pub async fn prune(&self, settings: &RetentionSettings) -> Result<Pruned, StoreError> {
        let now = self.clock().now();
        let db = self.db();
        let mut pruned = Pruned::default();
        if let Some(age) = settings.skipped_ticks {
            pruned.ticks += drain(|| db.ticks_prune(cutoff(now, age), Some("SKIPPED"), BATCH)).await?;
        }
        if let Some(age) = settings.ticks {
            pruned.ticks += drain(|| db.ticks_prune(cutoff(now, age), None, BATCH)).await?;
        }
        if let Some(age) = settings.actions {
            for status in FINISHED_STATUSES {
                pruned.actions += drain(|| db.actions_prune(status, cutoff(now, age), BATCH, now)).await?;
            }
        }
        if let Some(age) = settings.dlq {
            pruned.actions += drain(|| db.actions_prune("DLQ", cutoff(now, age), BATCH, now)).await?;
        }
        if let Some(age) = settings.logs {
            pruned.logs += drain(|| db.logs_prune(cutoff(now, age), BATCH)).await?;
            pruned.notifications += drain(|| db.outbox_prune(cutoff(now, age), BATCH)).await?;
        }
        // Stored files (media, artifacts) go once no action's media and no
        // log line name them, and not before an agent that uploaded one has
        // had time to enqueue the post naming it.
        let unused_before = now - super::media::UNUSED_MEDIA_KEPT;
        pruned.media += drain(|| db.blobs_prune(unused_before, BATCH)).await?;
        if let Some(age) = settings.audit {
            // Many rows a statement: each batch leaves a checkpoint row.
            pruned.audit += drain(|| db.audit_prune(cutoff(now, age), BATCH * 20, now)).await?;
        }
        Ok(pruned)
    }

    /// Keeps the tables small until `shutdown`: retention every
    /// `settings.every` (the first pass at once), housekeeping (counter
    /// folds, checkpoints) every second.
    pub fn spawn_maintenance(&self, settings: RetentionSettings, shutdown: CancellationToken) -> JoinHandle<()> {
        let retention = self.spawn_retention(settings, shutdown.clone());
        let housekeeping = self.spawn_housekeeping(shutdown);
        tokio::spawn(async move {
            let _ = tokio::join!(retention, housekeeping);
        })
    }

    /// Prunes every `settings.every` until `shutdown`; the first pass runs at once.
    fn spawn_retention(&self, settings: RetentionSettings, shutdown: CancellationToken) -> JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                match engine.prune(&settings).await {
                    Ok(p) if p.total() > 0 => {
                        tracing::info!(
                            ticks = p.ticks,
                            logs = p.logs,
                            actions = p.actions,
                            "retention: pruned old rows"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "retention: could not prune; trying again later"),
                }
                if !super::periodic::pause(settings.every, &shutdown).await {
                    return;
                }
            }
        })
    }

    /// Folds counter deltas and checkpoints every [`FOLD_EVERY`] until `shutdown`.
    fn spawn_housekeeping(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            while super::periodic::pause(FOLD_EVERY, &shutdown).await {
                if let Err(e) = engine.db().counters_fold().await {
                    tracing::debug!(error = %e, "could not fold counters; trying again");
                }
                if let Err(e) = engine.db().checkpoint().await {
                    tracing::debug!(error = %e, "could not checkpoint; trying again");
                }
            }
        })
    }
}
