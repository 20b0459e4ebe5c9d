//! The engine: everything AOL does, without any web code. The CLI, the daemon
//! task and the dashboard's server functions all go through an [`Engine`].

pub mod adapters;
pub mod artifacts;
mod clock;
pub mod daemon;
mod flags;
pub mod lease;
pub mod queue;
mod settings;

pub use adapters::Registry;
pub use clock::Clock;
pub use daemon::{supervise, DaemonExit};
pub use flags::{FlagOutcome, FLAG_POLL_INTERVAL};
pub use queue::{EnqueueError, Enqueued, OperatorError};
pub use settings::DaemonSettings;

use tokio::sync::watch;

use crate::model::{ControlFlags, Overview};
use crate::storage::{Db, StoreError};

/// How many ledger rows and actions the overview carries.
const RECENT_TICKS: i64 = 10;
const RECENT_ACTIONS: i64 = 10;

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
}

impl Engine {
    /// Builds an engine over a migrated database.
    pub async fn new(db: Db, clock: Clock, adapters: Registry) -> Result<Engine, StoreError> {
        let flags = db.flags_get().await?;
        Ok(Engine { db, clock, flags: watch::Sender::new(flags), identity: process_identity(), adapters })
    }

    pub fn adapters(&self) -> &Registry {
        &self.adapters
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
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

    /// Records flags read from the database, waking subscribers if they changed.
    pub(crate) fn observe_flags(&self, latest: ControlFlags) {
        self.flags.send_if_modified(|current| {
            if *current == latest {
                false
            } else {
                *current = latest;
                true
            }
        });
    }

    /// What the Autonomy page shows, read from the database.
    pub async fn overview(&self) -> Result<Overview, StoreError> {
        let flags = self.db.flags_get().await?;
        let recent_ticks = self.db.ticks_recent(RECENT_TICKS).await?;
        let ledger_rows = self.db.ticks_count().await?;
        let lease = self.lease_get().await?;
        let counts = self.db.action_counts().await?;
        let recent_actions = self.db.actions_recent(None, RECENT_ACTIONS).await?;
        self.observe_flags(flags.clone());
        Ok(Overview {
            flags,
            lease,
            counts,
            recent_actions,
            ledger_rows,
            last_tick: recent_ticks.first().cloned(),
            recent_ticks,
            read_at_utc: self.clock.now(),
        })
    }
}

fn process_identity() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let instance: u32 = rand::random();
    format!("{host}:{}:{instance:08x}", std::process::id())
}
