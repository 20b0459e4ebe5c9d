//! The daemon: the tick loop, and the supervisor that keeps it running inside
//! `aol serve` (stopped by kill, started again by revive).
//!
//! A tick reads the flags from the database (the truth), does its work unless
//! paused, and writes one ledger row. Between ticks the daemon waits for the
//! tick interval, but a kill or a shutdown ends the wait at once.

use tokio_util::sync::CancellationToken;

use super::{DaemonSettings, Engine};
use crate::model::TickStatus;
use crate::storage::{NewTick, StoreError};

/// Why a daemon run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonExit {
    /// The operator set the kill flag.
    Killed,
    /// `max_ticks` ticks were written.
    TickLimit,
    /// The process is shutting down.
    Shutdown,
}

/// What one tick did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TickOutcome {
    Written(TickStatus),
    Killed,
}

/// Runs ticks until killed, the tick limit, or shutdown. Database errors are
/// logged and the tick is tried again after the interval: they never end the run.
pub async fn run(engine: &Engine, settings: &DaemonSettings, shutdown: &CancellationToken) -> DaemonExit {
    let mut flags = engine.subscribe_flags();
    let mut written: u64 = 0;
    tracing::info!(owner = engine.identity(), "daemon started");
    loop {
        if shutdown.is_cancelled() {
            return DaemonExit::Shutdown;
        }
        match tick(engine).await {
            Ok(TickOutcome::Killed) => return stopped_by_kill(),
            Ok(TickOutcome::Written(status)) => {
                written += 1;
                tracing::debug!(tick = written, status = status.as_str(), "tick written");
                if settings.max_ticks.is_some_and(|max| written >= max) {
                    tracing::info!(ticks = written, "daemon reached its tick limit");
                    return DaemonExit::TickLimit;
                }
            }
            Err(e) => tracing::error!(error = %e, "tick failed; trying again after the interval"),
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.tick_interval) => {}
            _ = flags.wait_for(|f| f.killed) => return stopped_by_kill(),
            _ = shutdown.cancelled() => return DaemonExit::Shutdown,
        }
    }
}

fn stopped_by_kill() -> DaemonExit {
    tracing::warn!("daemon stopped: the kill flag is set");
    DaemonExit::Killed
}

async fn tick(engine: &Engine) -> Result<TickOutcome, StoreError> {
    let db = engine.db();
    let started_at_utc = engine.clock().now();
    let flags = db.flags_get().await?;
    engine.observe_flags(flags.clone());
    if flags.killed {
        return Ok(TickOutcome::Killed);
    }
    let (status, notes) = if flags.paused {
        (TickStatus::Skipped, "paused")
    } else {
        (TickStatus::Success, "no due actions")
    };
    db.tick_insert(&NewTick {
        started_at_utc,
        finished_at_utc: engine.clock().now(),
        status,
        actions_attempted: 0,
        actions_succeeded: 0,
        notes,
        daemon_owner: engine.identity(),
        lease_epoch: None,
    })
    .await?;
    Ok(TickOutcome::Written(status))
}

/// Keeps a daemon running in this process until shutdown: while the kill flag
/// is set it waits, and a revive starts a new run.
pub async fn supervise(engine: Engine, settings: DaemonSettings, shutdown: CancellationToken) {
    let mut flags = engine.subscribe_flags();
    loop {
        if flags.borrow().killed {
            tracing::info!("daemon is killed; waiting for revive");
        }
        tokio::select! {
            _ = flags.wait_for(|f| !f.killed) => {}
            _ = shutdown.cancelled() => return,
        }
        match run(&engine, &settings, &shutdown).await {
            DaemonExit::Killed => continue,
            DaemonExit::TickLimit | DaemonExit::Shutdown => return,
        }
    }
}
