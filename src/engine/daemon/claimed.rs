//! A tick's claimed actions, run: up to AOL_TICK_CONCURRENCY attempts in
//! flight, the claim's later parts joining as they come, and what is left
//! unstarted handed back once there is a reason to stop.

use std::collections::VecDeque;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::attempt::{attempt, AttemptEnd};
use super::ledger::Tally;
use super::TickScope;
use crate::engine::lease::Term;
use crate::engine::Engine;
use crate::model::Action;
use crate::storage::{part_failed, rest_of, ClaimParts, Finish, NewLog, StoreError};

/// Runs the claimed actions, up to `tick_concurrency` attempts in flight (one
/// by default), each started only after the stop check; the rest go back to
/// the queue unstarted once there is a reason to stop. `claimed` are the
/// claim's first actions, `parts` its statements still on their way. False
/// if the term was lost. Once the writer is troubled nothing more starts
/// (what it could not write stays RUNNING, for a later term's rescue). Ends
/// by dropping `scope`, which ends its writer's loop.
pub(super) async fn run_claimed(
    scope: TickScope<'_>,
    claimed: Vec<Action>,
    mut parts: ClaimParts<'_>,
    tally: &mut Tally,
) -> Result<bool, StoreError> {
    let TickScope { engine, settings, term, shutdown, deadline, .. } = scope;
    let mut claimed: VecDeque<Action> = claimed.into();
    let mut running = FuturesUnordered::new();
    let scope = &scope;
    loop {
        while running.len() < settings.tick_concurrency as usize && !scope.writer.troubled() {
            let Some(action) = claimed.pop_front() else { break };
            if let Some(reason) = reason_to_stop(engine, term, shutdown, deadline) {
                tally.stop_reason = Some(reason);
                let mut unstarted: Vec<Action> = std::iter::once(action).chain(claimed.drain(..)).collect();
                unstarted.extend(rest_of(&mut parts).await);
                if !unclaim(engine, term, &unstarted, reason).await? {
                    return Ok(false);
                }
                tally.returned += unstarted.len() as i64;
                break;
            }
            tally.attempted += 1;
            running.push(async move { attempt(scope, &action).await });
        }
        let end = tokio::select! {
            part = parts.next(), if !parts.is_empty() => {
                match part {
                    Some(Ok(more)) => claimed.extend(more),
                    Some(Err(e)) => part_failed(&e),
                    None => {}
                }
                continue;
            }
            Some(end) = running.next(), if !running.is_empty() => end,
            else => break,
        };
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

/// Returns claimed, unstarted actions to the queue; false if the term is over.
async fn unclaim(engine: &Engine, term: &Term, actions: &[Action], reason: &str) -> Result<bool, StoreError> {
    let log = NewLog::new(crate::model::LogLevel::Info, format!("returned to the queue unstarted: {reason}"))
        .event("returned", None);
    let results: Vec<(i64, &Finish, &NewLog)> = actions.iter().map(|a| (a.id, &Finish::Unclaim, &log)).collect();
    let done = engine.db().actions_finish(&engine.fence(term.epoch), &results).await?;
    Ok(done.len() == actions.len())
}
