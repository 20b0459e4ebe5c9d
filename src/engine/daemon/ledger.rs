//! What a tick leaves in the ledger: its counts, its status and notes, and
//! the fenced row itself.

use super::TickOutcome;
use crate::engine::lease::Term;
use crate::engine::Engine;
use crate::model::TickStatus;
use crate::storage::{NewTick, StoreError};

/// Counts of one tick, for the ledger.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) attempted: i64,
    pub(super) succeeded: i64,
    pub(super) retried: i64,
    pub(super) failed: i64,
    pub(super) returned: i64,
    pub(super) rescued: usize,
    pub(super) expired: usize,
    pub(super) stop_reason: Option<&'static str>,
}

impl Tally {
    pub(super) fn status(&self) -> TickStatus {
        if self.succeeded == self.attempted {
            TickStatus::Success
        } else if self.succeeded == 0 {
            TickStatus::Fail
        } else {
            TickStatus::Partial
        }
    }

    pub(super) fn notes(&self) -> String {
        let mut parts = Vec::new();
        if self.attempted == 0 && self.returned == 0 {
            parts.push("no due actions".to_string());
        } else {
            parts.push(format!("{} attempted, {} succeeded", self.attempted, self.succeeded));
            if self.retried > 0 {
                parts.push(format!("{} to retry", self.retried));
            }
            if self.failed > 0 {
                parts.push(format!("{} failed", self.failed));
            }
        }
        if self.returned > 0 {
            parts.push(format!("{} returned unstarted", self.returned));
        }
        if let Some(reason) = self.stop_reason {
            parts.push(format!("stopped early: {reason}"));
        }
        if self.rescued > 0 {
            parts.push(format!("{} rescued from an earlier daemon", self.rescued));
        }
        if self.expired > 0 {
            parts.push(format!("{} expired", self.expired));
        }
        parts.join("; ")
    }
}

pub(super) async fn write_ledger(
    engine: &Engine,
    term: &Term,
    started_at_utc: chrono::DateTime<chrono::Utc>,
    status: TickStatus,
    tally: &Tally,
    notes: &str,
) -> Result<TickOutcome, StoreError> {
    let finished_at_utc = engine.clock().now();
    let tick = NewTick {
        started_at_utc,
        finished_at_utc,
        status,
        actions_attempted: tally.attempted,
        actions_succeeded: tally.succeeded,
        notes,
    };
    Ok(match engine.db().tick_insert(&engine.fence(term.epoch), &tick).await? {
        Some(_) => {
            let seconds = (finished_at_utc - started_at_utc).as_seconds_f64();
            engine.metrics().tick_written(status.as_str(), seconds);
            TickOutcome::Written(status)
        }
        None => TickOutcome::LeaseLost,
    })
}
