//! The next tick's claim, made while this tick's results are being written.
//!
//! With a full queue and short ticks, a tick was three phases one after the
//! other: claim, run and write, ledger. On PostgreSQL the claim of 1,000
//! (13-22 ms) ran while the writes' backends idled, and the writes (30-45 ms)
//! while no claim ran. Claiming the next tick's actions beside this tick's
//! writes took a tick of 1,000 no-op actions from ~50 to ~38 ms
//! (docs/scaling.md).
//!
//! Only on PostgreSQL (see [`wanted`]). Actions claimed ahead are RUNNING under this term but not started, exactly
//! like the unstarted rest of any tick's claim: the next tick reads the flags
//! and checks every action before starting it, so a pause or a kill still
//! starts nothing; whatever is not started goes back to the queue unstarted
//! (`returned`, attempt not counted), and a crash leaves them to the next
//! term's rescue. They wait at most the ledger's write and the tick interval,
//! so only short intervals claim ahead.

use std::time::Duration;

use super::{DaemonExit, DaemonSettings};
use crate::engine::lease::Term;
use crate::engine::Engine;
use crate::model::Action;
use crate::storage::{Finish, NewLog, StoreError};

/// The longest tick interval at which a tick claims the next one's actions:
/// longer, and they would sit RUNNING while nothing runs them.
pub(super) const AHEAD_UP_TO: Duration = Duration::from_millis(100);

/// Whether a tick that claimed `claimed` actions claims the next tick's now:
/// only when its claim was full (more are likely due), the next tick comes
/// soon, and the database writes side by side. SQLite has one writer: the
/// claim would only wait for the results' writes, or they for it (its drain
/// measured 15,000 against 17,700 posts/s without).
pub(super) fn wanted(engine: &Engine, settings: &DaemonSettings, claimed: usize) -> bool {
    engine.db().concurrent_writes() > 1
        && settings.tick_interval <= AHEAD_UP_TO
        && settings.max_actions_per_tick > 0
        && claimed >= settings.max_actions_per_tick as usize
}

/// Claims the next tick's actions; a claim that fails claimed nothing
/// (the next tick claims again).
pub(super) async fn claim(engine: &Engine, settings: &DaemonSettings, term: &Term) -> Vec<Action> {
    let limit = i64::from(settings.max_actions_per_tick);
    match engine.db().actions_claim(&engine.fence(term.epoch), limit).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim the next tick's actions ahead; the next tick claims them");
            Vec::new()
        }
    }
}

/// Why actions claimed ahead go back when the daemon's run under a term ends.
pub(super) fn reason_at_exit(exit: Option<DaemonExit>) -> &'static str {
    match exit {
        Some(DaemonExit::Killed) => "the kill flag is set",
        Some(DaemonExit::TickLimit) => "the daemon reached its tick limit",
        Some(DaemonExit::Shutdown) => "shutting down",
        None => "the lease was lost",
    }
}

/// Returns claimed, unstarted actions to the queue; false if the term is over.
pub(super) async fn unclaim(
    engine: &Engine,
    term: &Term,
    actions: &[Action],
    reason: &str,
) -> Result<bool, StoreError> {
    if actions.is_empty() {
        return Ok(true);
    }
    let log = NewLog::new(crate::model::LogLevel::Info, format!("returned to the queue unstarted: {reason}"))
        .event("returned", None);
    let results: Vec<(i64, &Finish, &NewLog)> = actions.iter().map(|a| (a.id, &Finish::Unclaim, &log)).collect();
    let done = engine.db().actions_finish(&engine.fence(term.epoch), &results).await?;
    Ok(done.len() == actions.len())
}

/// Gives back what was claimed ahead when the run under a term ends. A term
/// that is over cannot write: its actions wait for the next term's rescue.
pub(super) async fn give_back(engine: &Engine, term: &Term, ahead: Vec<Action>, reason: &str) {
    if ahead.is_empty() {
        return;
    }
    match unclaim(engine, term, &ahead, reason).await {
        Ok(true) => tracing::info!(count = ahead.len(), reason, "returned the actions claimed ahead to the queue"),
        Ok(false) => tracing::warn!(
            count = ahead.len(),
            "the term ended before the actions claimed ahead went back; \
            the next term rescues them"
        ),
        Err(e) => tracing::warn!(error = %e, count = ahead.len(), "could not return the actions claimed ahead; \
            the next term rescues them"),
    }
}
