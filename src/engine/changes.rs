//! The change feed: one task per process watches the database's
//! [`ChangeMarker`] and counts the changes, so that any number of open
//! dashboards learn of a change (made here, by the CLI or by another server)
//! from one cheap query, instead of each re-reading every panel.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::lease::DAEMON_LEASE;
use super::Engine;

/// How often the feed reads the marker: with the browser's fetch this keeps a
/// change on screen well within the 2 s the SPEC allows.
pub const CHANGE_POLL_INTERVAL: Duration = Duration::from_millis(300);

/// Subscribers see a number that grows with every change they should show.
#[derive(Clone)]
pub struct ChangeFeed {
    changes: Arc<watch::Sender<u64>>,
    shutdown: CancellationToken,
}

impl ChangeFeed {
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Cancelled when the process stops: long-lived listeners must end then.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }
}

impl Engine {
    /// Starts the feed; it runs until `shutdown`. A database that cannot be
    /// read is a change too (and so is its coming back).
    pub fn spawn_change_feed(&self, shutdown: CancellationToken) -> (ChangeFeed, JoinHandle<()>) {
        let feed = ChangeFeed { changes: Arc::new(watch::Sender::new(0)), shutdown: shutdown.clone() };
        let engine = self.clone();
        let changes = feed.changes.clone();
        let task = tokio::spawn(async move {
            let mut last = None;
            loop {
                let now = engine.clock.now();
                let seen = match engine.db.change_marker(DAEMON_LEASE).await {
                    Ok(marker) => {
                        Ok((marker.lease_live(now), marker, engine.daemon_trouble(), engine.unmarked_changes()))
                    }
                    Err(e) => Err(e.to_string()),
                };
                if last.as_ref() != Some(&seen) {
                    if last.is_some() {
                        changes.send_modify(|n| *n += 1);
                    }
                    last = Some(seen);
                }
                if !super::periodic::pause(CHANGE_POLL_INTERVAL, &shutdown).await {
                    return;
                }
            }
        });
        (feed, task)
    }
}
