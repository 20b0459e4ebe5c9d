//! The daemon's safety limits, already validated (see `config` for where they
//! come from).

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct DaemonSettings {
    /// Stop after this many ticks; `None` = run until killed or shut down.
    pub max_ticks: Option<u64>,
    pub tick_interval: Duration,
    pub max_actions_per_tick: u32,
    /// Attempts in flight at once within a tick.
    pub tick_concurrency: u32,
    pub max_tick: Duration,
    pub max_retries: u32,
    pub lease_ttl: Duration,
    pub heartbeat: Duration,
}

impl Default for DaemonSettings {
    /// The defaults of SPEC §3.
    fn default() -> Self {
        DaemonSettings {
            max_ticks: None,
            tick_interval: Duration::from_secs(5),
            max_actions_per_tick: 3,
            tick_concurrency: 1,
            max_tick: Duration::from_secs(20),
            max_retries: 3,
            lease_ttl: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
        }
    }
}
