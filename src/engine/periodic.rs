//! Background work that repeats (the flag watcher, the change feed,
//! retention, counter folding) waits between rounds here, so that each ends
//! the same way, at once, when the process shuts down.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Waits `period`; false if `shutdown` came first (time to stop).
pub(crate) async fn pause(period: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(period) => true,
    }
}
