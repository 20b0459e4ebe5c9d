//! Running a tick's claimed actions: up to `tick_concurrency` attempts in
//! flight, each started only once nothing says stop.

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ahead;
use super::attempt::{attempt, AttemptEnd};
use super::ledger::Tally;
use super::TickScope;
use crate::engine::lease::Term;
use crate::engine::Engine;
use crate::model::Action;
use crate::storage::StoreError;

/// Runs the claimed actions, up to `tick_concurrency` attempts in flight (one
/// by default), each started only after the stop check; the rest go back to
/// the queue unstarted once there is a reason to stop. False if the term was
/// lost. Once the writer is troubled nothing more starts (what it could not
/// write stays RUNNING, for a later term's rescue). Ends by dropping `scope`,
/// which ends its writer's loop.
pub(super) async fn run_claimed(
    scope: TickScope<'_>,
    claimed: Vec<Action>,
    tally: &mut Tally,
) -> Result<bool, StoreError> {
    let TickScope { engine, settings, term, shutdown, deadline, .. } = scope;
    let mut claimed = claimed.into_iter();
    let mut running = FuturesUnordered::new();
    let scope = &scope;
    loop {
        while running.len() < settings.tick_concurrency as usize && !scope.writer.troubled() {
            let Some(action) = claimed.next() else { break };
            if let Some(reason) = reason_to_stop(engine, term, shutdown, deadline) {
                tally.stop_reason = Some(reason);
                let unstarted: Vec<Action> = std::iter::once(action).chain(claimed.by_ref()).collect();
                if !ahead::unclaim(engine, term, &unstarted, reason).await? {
                    return Ok(false);
                }
                tally.returned += unstarted.len() as i64;
                break;
            }
            tally.attempted += 1;
            running.push(async move { attempt(scope, &action).await });
        }
        let Some(end) = running.next().await else { break };
        match end? {
            AttemptEnd::Succeeded => tally.succeeded += 1,
            AttemptEnd::Retrying => tally.retried += 1,
            AttemptEnd::Failed => tally.failed += 1,
            AttemptEnd::LeaseLost => return Ok(false),
        }
    }
    Ok(true)
}

/// Why no further action may start in this tick, if there is a reason.
fn reason_to_stop(
    engine: &Engine,
    term: &Term,
    shutdown: &CancellationToken,
    deadline: Instant,
) -> Option<&'static str> {
    let flags = engine.flags_now();
    if flags.killed {
        Some("the kill flag is set")
    } else if flags.paused {
        Some("paused")
    } else if term.lost.is_cancelled() || term.expired() {
        Some("the lease was lost")
    } else if shutdown.is_cancelled() {
        Some("shutting down")
    } else if Instant::now() >= deadline {
        Some("the tick reached MAX_TICK_SECONDS")
    } else {
        None
    }
}
