//! One attempt at one claimed action: record it, run the adapter under the
//! tick's deadline, the kill flag and the lease, then write how it ended.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde_json::Value;

use crate::engine::adapters::{AdapterError, Done, Job};
use crate::engine::lease::Term;
use crate::engine::queue::backoff;
use crate::engine::Engine;
use crate::model::{Action, LogLevel};
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
    let started = NewLog::new(LogLevel::Info, format!("attempt {} started ({mode})", action.attempts));
    if !writer.started(action.id, started).await? {
        return Ok(AttemptEnd::LeaseLost);
    }
    tracing::info!(
        action_id = action.id,
        key = %action.idempotency_key,
        attempt = action.attempts,
        epoch = term.epoch,
        mode,
        "attempt started"
    );

    let outcome = match (engine.adapters().get(&action.action_type), serde_json::from_str(&action.payload_json)) {
        (None, _) => Ok(Err(AdapterError::Permanent(format!("no adapter handles {:?}", action.action_type)))),
        (Some(adapter), Ok(Value::Object(payload))) => {
            let job = Job { action, payload: &payload, proof_mode };
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
    let (finish, log) = match outcome {
        Ok(Ok(Done { message, artifact })) => {
            let mut log = NewLog::new(LogLevel::Info, message);
            if let Some(a) = artifact {
                log.artifact_ref = Some(a.path);
                log.artifact_sha256 = Some(a.sha256);
            }
            (Finish::Success, log)
        }
        Ok(Err(AdapterError::Permanent(e))) => {
            let log = NewLog::new(LogLevel::Error, format!("failed permanently: {e}"));
            (Finish::Failed { error: e }, log)
        }
        Ok(Err(AdapterError::Transient(e))) => retry(e, max_attempts),
        Err(Interrupted::CutOff) => {
            retry(format!("cut off: the tick ran past MAX_TICK_SECONDS ({:?})", settings.max_tick), max_attempts)
        }
        // Not the action's fault: these never send it to the DLQ.
        Err(Interrupted::Killed) => retry("cancelled: the kill flag was set during the attempt".into(), i64::MAX),
        Err(Interrupted::ShuttingDown) => retry("cancelled: AOL was shutting down".into(), i64::MAX),
        Err(Interrupted::LeaseLost) => return Ok(AttemptEnd::LeaseLost),
    };

    let end = match finish {
        Finish::Success => AttemptEnd::Succeeded,
        Finish::Failed { .. } => AttemptEnd::Failed,
        Finish::Retry { .. } | Finish::Unclaim => AttemptEnd::Retrying,
    };
    let written = writer.finished(action.id, finish, log).await?;
    match written {
        Some(after) => {
            engine.metrics().attempt_ended(&after.status);
            tracing::info!(
                action_id = action.id,
                key = %action.idempotency_key,
                epoch = term.epoch,
                status = %after.status,
                "attempt ended"
            );
            Ok(end)
        }
        None => Ok(AttemptEnd::LeaseLost),
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
        format!("attempt {} failed, no attempts left, moved to the dead-letter queue: {error}", action.attempts)
    } else {
        format!("attempt {} failed, will retry after {}: {error}", action.attempts, not_before.to_rfc3339())
    };
    (Finish::Retry { error, not_before, max_attempts }, NewLog::new(LogLevel::Warning, message))
}

/// The message of a caught panic, when it has one.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}
