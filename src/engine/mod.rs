//! The engine: everything AOL does, without any web code. The CLI, the daemon
//! task and the dashboard's server functions all go through an [`Engine`].

pub mod access;
pub mod adapters;
mod agents;
pub mod approval;
pub mod artifacts;
pub mod audit;
mod changes;
pub mod channels;
pub mod checks;
mod clock;
pub mod daemon;
mod decide;
mod flags;
mod gate;
pub mod governor;
pub mod lease;
pub mod media;
mod metrics;
pub mod notify;
pub mod operator;
mod periodic;
pub mod preview;
pub mod queue;
pub mod retention;
mod settings;
pub mod unconfirmed;
pub mod zones;

pub use access::{Actor, Forbidden};
pub use adapters::Registry;
pub use approval::{EditError, APPROVAL_TTL, APPROVAL_WARNING};
pub use changes::{ChangeFeed, CHANGE_POLL_INTERVAL};
pub use checks::EnqueueError;
pub use clock::Clock;
pub use daemon::{supervise, DaemonExit};
pub use flags::{FlagOutcome, FLAG_POLL_INTERVAL};
pub use metrics::Metrics;
pub use operator::OperatorError;
pub use queue::{Enqueued, NewItem, Window};
pub use retention::{Pruned, RetentionSettings};
pub use settings::DaemonSettings;

use std::sync::Arc;

use tokio::sync::watch;

use crate::model::{ControlFlags, DaemonTrouble, Overview, TickBucket};
use crate::storage::{Db, StoreError};

/// How many ledger rows the overview carries.
const RECENT_TICKS: i64 = 10;

/// A handle on the engine; cheap to clone, shared by every task of a process.
#[derive(Clone)]
pub struct Engine {
    db: Db,
    clock: Clock,
    /// The latest known flags. Written by every flag change made in this
    /// process (at once) and by the flag watcher (changes made elsewhere).
    flags: watch::Sender<ControlFlags>,
    identity: String,
    adapters: Registry,
    metrics: Arc<Metrics>,
    /// Set while this process's daemon cannot use the database.
    trouble: Arc<std::sync::Mutex<Option<DaemonTrouble>>>,
    /// Held while a REAL request passes the gate (see `gate`).
    gate_lock: Arc<tokio::sync::Mutex<()>>,
    /// Counts changes the pages show that no growing table's row id marks
    /// (a notification delivered): the change feed watches it too.
    unmarked_changes: Arc<std::sync::atomic::AtomicU64>,
}

impl Engine {
    /// Builds an engine over a migrated database.
    pub async fn new(db: Db, clock: Clock, adapters: Registry) -> Result<Engine, StoreError> {
        let flags = db.flags_get().await?;
        Ok(Engine {
            db,
            clock,
            flags: watch::Sender::new(flags),
            identity: process_identity(),
            adapters,
            metrics: Arc::new(Metrics::new()),
            trouble: Arc::default(),
            gate_lock: Arc::default(),
            unmarked_changes: Arc::default(),
        })
    }

    pub fn adapters(&self) -> &Registry {
        &self.adapters
    }

    /// The platforms REAL posts go to.
    pub fn platforms(&self) -> &channels::Platforms {
        self.adapters.platforms()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn gate_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.gate_lock
    }

    /// `host:pid:instance`: names this process as a daemon owner.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The flags as last seen; changes arrive through [`Engine::subscribe_flags`].
    pub fn flags_now(&self) -> ControlFlags {
        self.flags.borrow().clone()
    }

    pub fn subscribe_flags(&self) -> watch::Receiver<ControlFlags> {
        self.flags.subscribe()
    }

    /// Tells open pages that something they show changed without a row id moving.
    pub(crate) fn note_unmarked_change(&self) {
        self.unmarked_changes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn unmarked_changes(&self) -> u64 {
        self.unmarked_changes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Why this process's daemon cannot work, while that lasts.
    pub fn daemon_trouble(&self) -> Option<DaemonTrouble> {
        self.trouble.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The daemon failed to use the database: `message` is the latest error;
    /// the time is that of the first failure in a row.
    pub(crate) fn report_trouble(&self, message: String) {
        let now = self.clock.now();
        let mut trouble = self.trouble.lock().unwrap_or_else(|e| e.into_inner());
        match trouble.as_mut() {
            Some(t) => t.message = message,
            None => *trouble = Some(DaemonTrouble { since_utc: now, message }),
        }
    }

    /// The daemon works again.
    pub(crate) fn clear_trouble(&self) {
        *self.trouble.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Records flags read from the database, waking subscribers if they
    /// changed. Reads run at once (the watcher, each tick, the pages, a
    /// change) and may land out of order: flags older than those held are
    /// not taken ([`ControlFlags::replaces`]), or a read begun before a
    /// switch to PROOF could undo it here until the next read, and an
    /// attempt in between post for real.
    pub(crate) fn observe_flags(&self, latest: ControlFlags) {
        self.flags.send_if_modified(|current| {
            let newer = latest.replaces(current);
            if newer {
                *current = latest;
            }
            newer
        });
    }

    /// What the Autonomy page shows, read from the database.
    pub async fn overview(&self) -> Result<Overview, StoreError> {
        let flags = self.db.flags_get().await?;
        let recent_ticks = self.db.ticks_recent(RECENT_TICKS).await?;
        let ledger_rows = self.db.ticks_count().await?;
        let lease = self.lease_get().await?;
        let counts = self.db.action_counts().await?;
        self.observe_flags(flags.clone());
        Ok(Overview {
            flags,
            lease,
            counts,
            ledger_rows,
            last_tick: recent_ticks.first().cloned(),
            recent_ticks,
            read_at_utc: self.clock.now(),
            observer: self.identity.clone(),
            daemon_trouble: self.daemon_trouble(),
        })
    }
}

impl Engine {
    /// The last hour of ticks in one-minute buckets, oldest first (60 of them).
    pub async fn tick_activity(&self) -> Result<Vec<TickBucket>, StoreError> {
        use chrono::{DurationRound, TimeDelta};
        let now = self.clock.now();
        let minute = TimeDelta::minutes(1);
        let start = now.duration_trunc(minute).unwrap_or(now) - TimeDelta::minutes(59);
        let mut buckets: Vec<TickBucket> =
            (0..60).map(|i| TickBucket { minute_utc: start + minute * i, ..TickBucket::default() }).collect();
        // A tick started later than now (a clock set back) counts in the last minute.
        for (minutes, ticks, attempted, succeeded) in self.db.ticks_per_minute(start).await? {
            let bucket = &mut buckets[minutes.clamp(0, 59) as usize];
            bucket.ticks += ticks;
            bucket.attempted += attempted;
            bucket.succeeded += succeeded;
        }
        Ok(buckets)
    }
}

fn process_identity() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let instance: u32 = rand::random();
    format!("{host}:{}:{instance:08x}", std::process::id())
}
