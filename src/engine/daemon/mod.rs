//! The daemon: the tick loop under the lease, and the supervisor that keeps it
//! running inside `aol serve` (stopped by kill, started again by revive).
//!
//! One tick (SPEC §3): hold the lease → read the flags → claim up to
//! MAX_ACTIONS_PER_TICK due actions → run each through its adapter (one at a
//! time unless AOL_TICK_CONCURRENCY says more) → write each
//! result → write the ledger row → wait TICK_INTERVAL. Kill, a lost lease and
//! shutdown end the wait and any attempt in flight at once; pause stops new
//! attempts from starting.

mod attempt;
mod claimed;
mod ledger;
mod writer;

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::lease::Term;
use super::{DaemonSettings, Engine};
use crate::model::TickStatus;
use crate::storage::{first_part, StoreError};
use claimed::run_claimed;
use ledger::{write_ledger, Tally};
use writer::{Writer, Written};

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
#[derive(Debug)]
enum TickOutcome {
    Written(TickStatus),
    Killed,
    LeaseLost,
    /// Claimed actions may be left RUNNING under this term (their results
    /// or their hand-back could not be written): only a later term's rescue
    /// takes them, so this term ends.
    LeftRunning(StoreError),
}

/// Runs until killed, the tick limit, or shutdown. Without the lease it stands
/// by and tries again; database errors are logged and retried, never fatal.
pub async fn run(engine: &Engine, settings: &DaemonSettings, shutdown: &CancellationToken) -> DaemonExit {
    let mut flags = engine.subscribe_flags();
    let mut written: u64 = 0;
    let mut standing_by = false;
    tracing::info!(owner = engine.identity(), "daemon started");
    loop {
        if shutdown.is_cancelled() {
            return DaemonExit::Shutdown;
        }
        if flags.borrow().killed {
            return stopped_by_kill();
        }
        // Who held it before: a new term over another's is a takeover.
        let before = engine.lease_get().await.ok().flatten();
        let asked = Instant::now();
        let wait = match engine.lease_acquire(settings.lease_ttl).await {
            Ok(Some(lease)) => {
                standing_by = false;
                tracing::info!(epoch = lease.epoch, "holding the daemon lease");
                let data = serde_json::json!({"epoch": lease.epoch, "owner": engine.identity()});
                match before.filter(|b| b.owner != engine.identity() && b.epoch < lease.epoch) {
                    Some(b) => {
                        let data = serde_json::json!({"epoch": lease.epoch, "owner": engine.identity(),
                            "from_owner": b.owner, "from_epoch": b.epoch});
                        engine.audit("aol:daemon", None, "lease_taken_over", data).await;
                    }
                    None => engine.audit("aol:daemon", None, "lease_acquired", data).await,
                }
                let (term, extend) = Term::new(lease.epoch, asked, settings.lease_ttl);
                let stop_heartbeat = CancellationToken::new();
                let heartbeat = engine.spawn_heartbeat(
                    term.clone(),
                    extend,
                    lease.expires_at_utc,
                    settings.heartbeat,
                    settings.lease_ttl,
                    stop_heartbeat.clone(),
                );
                let exit = lead(engine, settings, &term, shutdown, &mut written).await;
                stop_heartbeat.cancel();
                let _ = heartbeat.await;
                match exit {
                    Some(exit) => {
                        end_term(engine, term.epoch, None).await;
                        return exit;
                    }
                    None => Duration::ZERO, // lost the term: try again (standing by if taken)
                }
            }
            Ok(None) => {
                if !standing_by {
                    let holder = engine.lease_get().await.ok().flatten();
                    tracing::info!(
                        holder = holder.as_ref().map(|l| l.owner.as_str()),
                        until = holder.as_ref().map(|l| l.expires_at_utc.to_rfc3339()),
                        "standing by: another daemon holds the lease"
                    );
                    standing_by = true;
                }
                settings.heartbeat
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot reach the lease; trying again");
                engine.report_trouble(format!("cannot take the daemon lease: {e}"));
                settings.heartbeat
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = flags.wait_for(|f| f.killed) => return stopped_by_kill(),
            _ = shutdown.cancelled() => return DaemonExit::Shutdown,
        }
    }
}

/// Ticks while the term lasts; `None` when it was lost.
async fn lead(
    engine: &Engine,
    settings: &DaemonSettings,
    term: &Term,
    shutdown: &CancellationToken,
    written: &mut u64,
) -> Option<DaemonExit> {
    let mut flags = engine.subscribe_flags();
    loop {
        if term.lost.is_cancelled() {
            return None;
        }
        match tick(engine, settings, term, shutdown).await {
            Ok(TickOutcome::Killed) => return Some(stopped_by_kill()),
            Ok(TickOutcome::LeaseLost) => {
                tracing::warn!(epoch = term.epoch, "lost the lease during a tick; nothing more was written");
                return None;
            }
            Ok(TickOutcome::LeftRunning(e)) => {
                tracing::error!(error = %e, epoch = term.epoch, "a tick's results could not be written; \
                    ending the term so that the next one takes back what this one left running");
                engine.report_trouble(format!("a tick's results could not be written: {e}"));
                end_term(engine, term.epoch, Some("a tick's results could not be written")).await;
                return None;
            }
            Ok(TickOutcome::Written(status)) => {
                engine.clear_trouble();
                *written += 1;
                tracing::debug!(tick = *written, status = status.as_str(), "tick written");
                if settings.max_ticks.is_some_and(|max| *written >= max) {
                    tracing::info!(ticks = *written, "daemon reached its tick limit");
                    return Some(DaemonExit::TickLimit);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "tick failed; trying again after the interval");
                engine.report_trouble(format!("a tick failed: {e}"));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.tick_interval) => {}
            _ = flags.wait_for(|f| f.killed) => return Some(stopped_by_kill()),
            _ = shutdown.cancelled() => return Some(DaemonExit::Shutdown),
            _ = term.lost.cancelled() => return None,
            _ = term.run_out() => return None,
        }
    }
}

/// Gives up term `epoch` (the next acquire starts a new one), saying `why`
/// when it ends before the daemon does.
async fn end_term(engine: &Engine, epoch: i64, why: Option<&str>) {
    match engine.lease_release(epoch).await {
        Ok(_) => {
            let mut data = serde_json::json!({"epoch": epoch, "owner": engine.identity()});
            if let Some(why) = why {
                data["why"] = why.into();
            }
            engine.audit("aol:daemon", None, "lease_released", data).await;
        }
        Err(e) => tracing::warn!(error = %e, "could not release the lease; it expires by itself"),
    }
}

fn stopped_by_kill() -> DaemonExit {
    tracing::warn!("daemon stopped: the kill flag is set");
    DaemonExit::Killed
}

/// Posts awaiting approval whose lookups are made per tick at most (each asks a platform).
const LOOKUPS_PER_TICK: i64 = 20;

async fn tick(
    engine: &Engine,
    settings: &DaemonSettings,
    term: &Term,
    shutdown: &CancellationToken,
) -> Result<TickOutcome, StoreError> {
    let db = engine.db();
    let started_at_utc = engine.clock().now();
    let deadline = Instant::now() + settings.max_tick;
    // Which of the chores before the claim have anything to do, read beside
    // the flags: each chore is a fenced write, a durable commit on PostgreSQL
    // even when it changes nothing.
    let warn_before = started_at_utc - (super::APPROVAL_TTL - super::APPROVAL_WARNING);
    let asked_before = started_at_utc - super::APPROVAL_TTL;
    let (flags, chores) =
        tokio::join!(db.flags_get(), db.chores_due(term.epoch, started_at_utc, warn_before, asked_before));
    let (flags, chores) = (flags?, chores?);
    engine.observe_flags(flags.clone());
    if flags.killed {
        return Ok(TickOutcome::Killed);
    }
    let mut tally = Tally::default();
    if flags.paused {
        return write_ledger(engine, term, started_at_utc, TickStatus::Skipped, &tally, "paused").await;
    }
    if chores.rescue {
        let max_attempts = i64::from(settings.max_retries);
        tally.rescued = db.actions_rescue(&engine.fence(term.epoch), max_attempts).await?.len();
    }
    if tally.rescued > 0 {
        tracing::warn!(count = tally.rescued, "rescued actions left RUNNING by an earlier daemon");
    }
    // Posts whose approval runs out within the warning time: said so, once.
    if chores.warn {
        db.actions_warn_expiring(&engine.fence(term.epoch), warn_before, super::APPROVAL_TTL).await?;
    }
    // What can no longer be sent ends EXPIRED before anything is claimed (the
    // claim never takes what is past its deadline).
    if chores.expire {
        tally.expired = db.actions_expire(&engine.fence(term.epoch), asked_before).await?.len();
    }
    if tally.expired > 0 {
        tracing::info!(count = tally.expired, "actions expired: past their deadline or never approved");
    }
    // Reading posts back is a request to a platform: REAL mode only, and
    // within the tick's time (what is not read back now is next tick).
    if !flags.proof_mode {
        match tokio::time::timeout_at(deadline, engine.reconcile_unconfirmed()).await {
            Ok(done) => {
                done?;
            }
            Err(_) => tracing::warn!("reading UNCONFIRMED posts back took the whole tick; the rest waits"),
        }
    }
    // Posts waiting for approval that need something looked up (a mention's
    // DID) get it now, so the inbox can show and approve their requests.
    match tokio::time::timeout_at(deadline, engine.look_up_awaiting(LOOKUPS_PER_TICK)).await {
        Ok(done) => {
            done?;
        }
        Err(_) => tracing::warn!("looking up what posts awaiting approval need took the whole tick; the rest waits"),
    }
    // The attempts start on the claim's first statement to return; its
    // other statements' actions join them as they come (see `ClaimParts`).
    let fence = engine.fence(term.epoch);
    let mut parts = db.actions_claim_parts(&fence, i64::from(settings.max_actions_per_tick));
    let claimed = first_part(&mut parts).await?;
    let (writer, writing) = Writer::open(engine, term);
    let scope = TickScope { engine, settings, term, shutdown, deadline, proof_at_tick_start: flags.proof_mode, writer };
    let (held, written) = tokio::join!(run_claimed(scope, claimed, parts, &mut tally), writing);
    let held = match (written, held) {
        (Written::TermOver, _) => return Ok(TickOutcome::LeaseLost),
        (Written::Failed(e), _) | (Written::All, Err(e)) => return Ok(TickOutcome::LeftRunning(e)),
        (Written::All, Ok(held)) => held,
    };
    if !held {
        return Ok(TickOutcome::LeaseLost);
    }
    let status = tally.status();
    write_ledger(engine, term, started_at_utc, status, &tally, &tally.notes()).await
}

/// What every attempt of one tick shares.
pub(super) struct TickScope<'a> {
    engine: &'a Engine,
    settings: &'a DaemonSettings,
    term: &'a Term,
    shutdown: &'a CancellationToken,
    /// MAX_TICK_SECONDS from the tick's start.
    deadline: Instant,
    proof_at_tick_start: bool,
    /// Writes the attempts' lines and results, many at once (group commit).
    writer: Writer,
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
