//! One attempt at one claimed action: record it, run the adapter under the
//! tick's deadline, the kill flag and the lease, then hand how it ended to
//! the tick's writer. A REAL attempt's "started" line is written before the
//! adapter runs (its request may leave). A PROOF attempt has one line, its
//! result's, which names the attempt: nothing leaves the machine, and a crash
//! before the result leaves the action RUNNING, which the next daemon rescues
//! and says so.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::FutureExt;
use serde_json::{Map, Value};

use crate::engine::adapters::{AdapterError, ChannelLookup, Done, Job, SendGate, Verdict};
use crate::engine::lease::Term;
use crate::engine::queue::backoff;
use crate::engine::Engine;
use crate::model::{Action, Channel, LogLevel};
use crate::storage::{Finish, NewLog, StoreError};

use super::TickScope;

/// How an attempt ended, as far as the tick is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AttemptEnd {
    Succeeded,
    /// RETRY or, attempts used up, DLQ.
    Retrying,
    Failed,
    /// The term is over: nothing was (or could be) written.
    LeaseLost,
}

/// What stopped the adapter, if it did not finish.
enum Interrupted {
    CutOff,
    Killed,
    ShuttingDown,
    LeaseLost,
}

pub(super) async fn attempt(scope: &TickScope<'_>, action: &Action) -> Result<AttemptEnd, StoreError> {
    let TickScope { engine, settings, term, shutdown, deadline, proof_at_tick_start, writer } = scope;
    let deadline = *deadline;
    // A switch to PROOF made during the tick applies at once; to REAL, next tick.
    let proof_mode = *proof_at_tick_start || engine.flags_now().proof_mode;
    let mode = if proof_mode { "PROOF" } else { "REAL" };
    if !proof_mode {
        let started = NewLog::new(LogLevel::Info, format!("attempt {} started (REAL)", action.attempts))
            .event("attempt_started", None)
            .with("attempt", action.attempts);
        if !writer.started(action.id, started).await? {
            return Ok(AttemptEnd::LeaseLost);
        }
    }
    tracing::info!(
        action_id = action.id,
        key = %action.key(),
        attempt = action.attempts,
        epoch = term.epoch,
        mode,
        "attempt started"
    );

    let gate = Gate { engine, epoch: term.epoch, action, opened: AtomicBool::new(false) };
    let outcome = match (engine.adapters().get(&action.action_type), serde_json::from_str(&action.payload_json)) {
        (None, _) => Ok(Err(AdapterError::Permanent(format!("no adapter handles {:?}", action.action_type)))),
        (Some(adapter), Ok(Value::Object(payload))) => {
            let channel = channel_of(engine, &payload).await?;
            let resources = engine.resources();
            let job = Job {
                action,
                payload: &payload,
                proof_mode,
                channel,
                now: engine.clock().now(),
                gate: &gate,
                resources: &resources,
            };
            let mut flags = engine.subscribe_flags();
            let run = AssertUnwindSafe(adapter.execute(&job)).catch_unwind();
            tokio::select! {
                result = while_term_lasts(term, run) => match result {
                    Some(result) => Ok(result.unwrap_or_else(|panic| {
                        Err(AdapterError::Transient(format!("the adapter crashed: {}", panic_text(&*panic))))
                    })),
                    None => Err(Interrupted::LeaseLost),
                },
                _ = tokio::time::sleep_until(deadline) => Err(Interrupted::CutOff),
                _ = flags.wait_for(|f| f.killed) => Err(Interrupted::Killed),
                _ = shutdown.cancelled() => Err(Interrupted::ShuttingDown),
                _ = term.lost.cancelled() => Err(Interrupted::LeaseLost),
                _ = term.run_out() => Err(Interrupted::LeaseLost),
            }
        }
        (Some(_), _) => Ok(Err(AdapterError::Permanent("the stored payload is not a JSON object".into()))),
    };

    let max_attempts = i64::from(settings.max_retries);
    let retry = |error: String, max_attempts: i64| retry(engine, action, error, max_attempts);
    // Once a REAL request may have left, an interrupted attempt's outcome is unknown.
    let interrupted = |why: &str, max_attempts: i64| {
        if gate.opened.load(Ordering::SeqCst) {
            let error = format!("{why} while the REAL request was in flight: it may have been posted");
            (
                Finish::Unconfirmed { error: error.clone() },
                NewLog::new(LogLevel::Error, format!("unconfirmed: {error}")).event("unconfirmed", None),
            )
        } else {
            retry(why.to_string(), max_attempts)
        }
    };
    let (finish, log) = match outcome {
        Ok(Ok(Done { message, artifact, remote })) => {
            let remote_seen = remote.as_ref().map(|r| r.id.clone());
            if let Some(r) = remote {
                let fence = engine.fence(term.epoch);
                if !engine.db().action_set_remote(&fence, action.id, &r.id, r.url.as_deref()).await? {
                    return Ok(AttemptEnd::LeaseLost);
                }
            }
            let mut log = NewLog::new(LogLevel::Info, message).event("succeeded", None);
            if let Some(r) = &remote_seen {
                log = log.with("remote_id", r.clone());
            }
            if let Some(a) = artifact {
                log = log.with_artifact(a.sha256, a.bytes);
            }
            (Finish::Success, log)
        }
        Ok(Err(AdapterError::Permanent(e))) => {
            let log = NewLog::new(LogLevel::Error, format!("failed permanently: {e}")).event("failed", None);
            (Finish::Failed { error: e }, log)
        }
        Ok(Err(AdapterError::Transient(e))) => retry(e, max_attempts),
        Ok(Err(AdapterError::Reached(e))) => {
            // Remembered, so that no repeat goes out once the platform may have forgotten its key.
            if !engine.db().action_set_reached(&engine.fence(term.epoch), action.id).await? {
                return Ok(AttemptEnd::LeaseLost);
            }
            retry(e, max_attempts)
        }
        Ok(Err(AdapterError::Deferred { at, reason })) => {
            let log = NewLog::new(LogLevel::Warning, format!("deferred, the attempt not counted: {reason}"))
                .event("deferred", None);
            (Finish::Defer { reason, not_before: at }, log)
        }
        Ok(Err(AdapterError::Unconfirmed(e))) => {
            let log = NewLog::new(LogLevel::Error, format!("unconfirmed: {e}")).event("unconfirmed", None);
            (Finish::Unconfirmed { error: e }, log)
        }
        Ok(Err(AdapterError::ChannelWait { channel, at, reason })) => {
            // The channel's other posts wait too, keeping their order.
            engine.db().channel_wait_until(&channel, at).await?;
            engine.db().channel_queue_wait(&channel, at).await?;
            let log = NewLog::new(LogLevel::Warning, format!("deferred, the attempt not counted: {reason}"))
                .event("deferred", None);
            (Finish::Defer { reason, not_before: at }, log)
        }
        Ok(Err(AdapterError::AwaitApproval(sha256))) => {
            if !engine.db().action_set_prepared(&engine.fence(term.epoch), action.id, &sha256).await? {
                return Ok(AttemptEnd::LeaseLost);
            }
            let message = format!(
                "waiting for an operator's approval of this request (SHA-256 {sha256}) on channel {}; nothing was sent",
                action.channel.as_deref().unwrap_or("?")
            );
            let log = NewLog::new(LogLevel::Info, message).event("awaiting_approval", None).with("sha256", sha256);
            (Finish::AwaitApproval, log)
        }
        Ok(Err(AdapterError::Expired(reason))) => {
            let log = NewLog::new(LogLevel::Warning, reason.clone()).event("expired", None);
            (Finish::Expired { reason }, log)
        }
        Err(Interrupted::CutOff) => {
            interrupted(&format!("cut off: the tick ran past MAX_TICK_SECONDS ({:?})", settings.max_tick), max_attempts)
        }
        // Not the action's fault: these never send it to the DLQ.
        Err(Interrupted::Killed) => interrupted("cancelled: the kill flag was set during the attempt", i64::MAX),
        Err(Interrupted::ShuttingDown) => interrupted("cancelled: AOL was shutting down", i64::MAX),
        Err(Interrupted::LeaseLost) => return Ok(AttemptEnd::LeaseLost),
    };

    let end = match finish {
        Finish::Success => AttemptEnd::Succeeded,
        Finish::Failed { .. } | Finish::Unconfirmed { .. } => AttemptEnd::Failed,
        Finish::Retry { .. } | Finish::Unclaim | Finish::Defer { .. } | Finish::AwaitApproval => AttemptEnd::Retrying,
        Finish::Expired { .. } => AttemptEnd::Failed,
    };
    // PROOF's one line says which attempt it was.
    let log = match proof_mode {
        true => NewLog { message: format!("attempt {} (PROOF): {}", action.attempts, log.message), ..log }
            .with("attempt", action.attempts)
            .with("mode", "PROOF"),
        false => log,
    };
    writer.finished(action.id, finish, log);
    Ok(end)
}

/// The channel `payload` names, as stored now.
async fn channel_of(engine: &Engine, payload: &Map<String, Value>) -> Result<ChannelLookup, StoreError> {
    Ok(match payload.get("channel") {
        Some(Value::String(name)) => match engine.db().channel_get(name).await? {
            Some(channel) => ChannelLookup::Found(Box::new(channel)),
            None => ChannelLookup::Missing(name.clone()),
        },
        _ => ChannelLookup::NotNamed,
    })
}

/// The engine's gate for this attempt, under this term (see [`SendGate`]);
/// remembers whether it let the request go.
struct Gate<'a> {
    engine: &'a Engine,
    epoch: i64,
    action: &'a Action,
    opened: AtomicBool,
}

#[async_trait]
impl SendGate for Gate<'_> {
    async fn open(&self, channel: &Channel, prepared_sha256: &str) -> Verdict {
        let verdict = self.engine.open_gate(self.epoch, self.action, channel, prepared_sha256).await;
        self.opened.store(verdict == Verdict::Go, Ordering::SeqCst);
        verdict
    }
}

/// Polls `work` only while `term` lasts by this process's clock (`None` once it
/// has run out). Checked at every poll, not by a timer: a process woken after
/// a freeze must not take one more step of an adapter before it notices.
async fn while_term_lasts<F: std::future::Future>(term: &Term, work: F) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(
        |cx| {
            if term.expired() {
                std::task::Poll::Ready(None)
            } else {
                work.as_mut().poll(cx).map(Some)
            }
        },
    )
    .await
}

/// A retry after the backoff, or the dead-letter queue when this was the last
/// allowed attempt (the same rule the RETRY statement applies).
fn retry(engine: &Engine, action: &Action, error: String, max_attempts: i64) -> (Finish, NewLog) {
    let wait = chrono::TimeDelta::from_std(backoff(action.attempts)).unwrap_or_default();
    let not_before = engine.clock().now() + wait;
    let message = if action.attempts >= max_attempts {
        format!("failed, no attempts left, moved to the dead-letter queue: {error}")
    } else {
        format!("failed, will retry after {}: {error}", not_before.to_rfc3339())
    };
    let event = if action.attempts >= max_attempts { "dead_lettered" } else { "retry" };
    (Finish::Retry { error, not_before, max_attempts }, NewLog::new(LogLevel::Warning, message).event(event, None))
}

/// The message of a caught panic, when it has one.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}
