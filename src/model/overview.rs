//! The Autonomy page's pulse: the flags, the lease, the queue's depths and
//! the ticks, and the daemon's state read from them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ActionStatus, ControlFlags};

/// Result of a tick, as written to `aol_tick_ledger.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TickStatus {
    Success,
    Partial,
    Fail,
    Skipped,
}

impl TickStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TickStatus::Success => "SUCCESS",
            TickStatus::Partial => "PARTIAL",
            TickStatus::Fail => "FAIL",
            TickStatus::Skipped => "SKIPPED",
        }
    }
}

/// One row of `aol_tick_ledger`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct TickRow {
    pub id: i64,
    pub started_at_utc: DateTime<Utc>,
    pub finished_at_utc: DateTime<Utc>,
    pub status: String,
    pub actions_attempted: i64,
    pub actions_succeeded: i64,
    pub notes: String,
    pub daemon_owner: String,
    pub lease_epoch: Option<i64>,
}

/// One row of `aol_lease`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Lease {
    pub name: String,
    pub owner: String,
    pub acquired_at_utc: DateTime<Utc>,
    pub renewed_at_utc: DateTime<Utc>,
    pub expires_at_utc: DateTime<Utc>,
    pub epoch: i64,
}

/// How many actions are in one status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

/// Actions attempted and succeeded in one minute of ticks, for the chart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickBucket {
    pub minute_utc: DateTime<Utc>,
    pub ticks: i64,
    pub attempted: i64,
    pub succeeded: i64,
}

/// What the Autonomy page shows at the top: the flags and the daemon's pulse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub flags: ControlFlags,
    /// The daemon lease row, if a daemon ever took it.
    pub lease: Option<Lease>,
    /// Queue depth per status.
    pub counts: Vec<StatusCount>,
    pub ledger_rows: i64,
    pub last_tick: Option<TickRow>,
    pub recent_ticks: Vec<TickRow>,
    /// When the server read this, so the page can say how old the last tick is.
    pub read_at_utc: DateTime<Utc>,
    /// The daemon identity of the process that read this (`host:pid:instance`).
    pub observer: String,
    /// Why the daemon in the process that read this cannot work, while that
    /// lasts (none: it works, or this process runs no daemon).
    pub daemon_trouble: Option<DaemonTrouble>,
}

/// The daemon keeps failing to use the database: since when, and the latest error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonTrouble {
    pub since_utc: DateTime<Utc>,
    pub message: String,
}

/// What the daemon is doing, as the operator needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DaemonState {
    /// Holding the lease and running ticks.
    Running,
    /// Holding the lease; ticks are SKIPPED.
    Paused,
    /// Stopped by the kill flag.
    Killed,
    /// Another daemon holds the lease; this server's daemon waits to take over.
    Standby,
    /// Nobody holds the lease: no daemon is running.
    Stopped,
}

impl DaemonState {
    pub fn as_str(self) -> &'static str {
        match self {
            DaemonState::Running => "running",
            DaemonState::Paused => "paused",
            DaemonState::Killed => "killed",
            DaemonState::Standby => "standby",
            DaemonState::Stopped => "stopped",
        }
    }
}

impl Overview {
    /// The daemon's state and why, from the flags and the lease: the
    /// database's truth, whichever process runs the daemon.
    pub fn daemon_state(&self) -> (DaemonState, String) {
        let f = &self.flags;
        let by = match &f.reason {
            Some(reason) => format!("by {} ({reason})", f.updated_by),
            None => format!("by {}", f.updated_by),
        };
        if f.killed {
            return (DaemonState::Killed, format!("the kill flag is set, {by}"));
        }
        match self.lease_holder() {
            None => (DaemonState::Stopped, "no daemon holds the lease".to_string()),
            Some(_) if f.paused => (DaemonState::Paused, format!("the pause flag is set, {by}")),
            Some(l) if l.owner == self.observer => (DaemonState::Running, "this server holds the lease".to_string()),
            Some(l) => (DaemonState::Standby, format!("the lease is held by {}; this server's daemon waits", l.owner)),
        }
    }

    /// The lease while a daemon held it at the reading.
    pub fn lease_holder(&self) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.expires_at_utc > self.read_at_utc)
    }

    /// How many actions were in `status` at the reading.
    pub fn count_of(&self, status: ActionStatus) -> i64 {
        self.counts.iter().find(|c| c.status == status.as_str()).map_or(0, |c| c.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn overview(paused: bool, killed: bool, holder: Option<(&str, i64)>) -> Overview {
        let now = Utc::now();
        Overview {
            flags: ControlFlags {
                paused,
                killed,
                proof_mode: true,
                updated_at_utc: now,
                updated_by: "ops".into(),
                reason: Some("drill".into()),
                version: 3,
            },
            lease: holder.map(|(owner, secs_left)| Lease {
                name: "aol_daemon".into(),
                owner: owner.into(),
                acquired_at_utc: now,
                renewed_at_utc: now,
                expires_at_utc: now + TimeDelta::seconds(secs_left),
                epoch: 1,
            }),
            counts: vec![],
            ledger_rows: 0,
            last_tick: None,
            recent_ticks: vec![],
            read_at_utc: now,
            observer: "me".into(),
            daemon_trouble: None,
        }
    }

    #[test]
    fn daemon_state_follows_flags_and_lease() {
        let state = |o: Overview| o.daemon_state().0;
        assert_eq!(state(overview(false, false, Some(("me", 20)))), DaemonState::Running);
        assert_eq!(state(overview(true, false, Some(("me", 20)))), DaemonState::Paused);
        assert_eq!(state(overview(false, true, Some(("me", 20)))), DaemonState::Killed);
        assert_eq!(state(overview(true, true, None)), DaemonState::Killed, "kill outranks everything");
        assert_eq!(state(overview(false, false, Some(("other", 20)))), DaemonState::Standby);
        assert_eq!(state(overview(false, false, Some(("me", -1)))), DaemonState::Stopped, "an expired lease");
        assert_eq!(state(overview(false, false, None)), DaemonState::Stopped);
        let (_, why) = overview(false, true, None).daemon_state();
        assert_eq!(why, "the kill flag is set, by ops (drill)");
        let (_, why) = overview(false, false, Some(("host:1:ab", 20))).daemon_state();
        assert!(why.contains("host:1:ab"), "{why}");
    }
}
