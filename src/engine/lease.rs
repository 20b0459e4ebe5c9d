//! The daemon lease: one active daemon across processes and machines.
//!
//! A daemon holds a *term* (an epoch). The heartbeat renews it every
//! HEARTBEAT; when a renewal finds the term gone (expired and taken, or
//! released), the term's `lost` token fires and the daemon stops work at once.
//! Even a daemon that has not noticed yet cannot write: every result is fenced
//! by the epoch in the database (see `storage::fence`).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::model::Lease;
use crate::storage::{Fence, StoreError};

/// The name of the daemon lease row.
pub const DAEMON_LEASE: &str = "aol_daemon";

/// A term of leadership this process holds.
#[derive(Clone, Debug)]
pub struct Term {
    pub epoch: i64,
    /// Fires when the term is known to be over.
    pub lost: CancellationToken,
    /// Until when the term lasts by this process's own clock: the moment the
    /// last successful acquire or renewal was asked for, plus the TTL. A
    /// process frozen past it (SIGSTOP, a suspended VM, a stall) stops its
    /// work the moment it runs again, before its heartbeat can learn that
    /// another daemon took over.
    valid_until: watch::Receiver<Instant>,
}

impl Term {
    /// A term asked for at `asked`; the sender moves its end on with renewals.
    pub fn new(epoch: i64, asked: Instant, ttl: Duration) -> (Term, watch::Sender<Instant>) {
        let (extend, valid_until) = watch::channel(asked + ttl);
        (Term { epoch, lost: CancellationToken::new(), valid_until }, extend)
    }

    /// Whether the term has run out by this process's clock.
    pub fn expired(&self) -> bool {
        Instant::now() >= *self.valid_until.borrow()
    }

    /// Resolves once the term has run out by this process's clock.
    pub async fn run_out(&self) {
        let mut valid_until = self.valid_until.clone();
        loop {
            let until = *valid_until.borrow_and_update();
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {
                    if self.expired() {
                        return;
                    }
                }
                changed = valid_until.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep_until(until).await;
                        return;
                    }
                }
            }
        }
    }
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Engine {
    /// Takes the daemon lease if free or expired: `Ok(None)` while another holds it.
    pub async fn lease_acquire(&self, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let now = self.clock().now();
        self.db().lease_acquire(DAEMON_LEASE, self.identity(), now, after(now, ttl)).await
    }

    /// Extends term `epoch`: `Ok(None)` when it is no longer ours.
    pub async fn lease_renew(&self, epoch: i64, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let now = self.clock().now();
        self.db().lease_renew(DAEMON_LEASE, self.identity(), epoch, now, after(now, ttl)).await
    }

    /// Ends term `epoch` now, so a standby can take over without waiting.
    pub async fn lease_release(&self, epoch: i64) -> Result<bool, StoreError> {
        self.db().lease_release(DAEMON_LEASE, self.identity(), epoch, self.clock().now()).await
    }

    pub async fn lease_get(&self) -> Result<Option<Lease>, StoreError> {
        self.db().lease_get(DAEMON_LEASE).await
    }

    /// The fence for a write made now under term `epoch`.
    pub fn fence(&self, epoch: i64) -> Fence<'_> {
        Fence { lease: DAEMON_LEASE, owner: self.identity(), epoch, now: self.clock().now() }
    }

    /// Renews `term` every `heartbeat` until `stop`, moving its local end on
    /// through `extend`; fires `term.lost` when a renewal is refused, or when
    /// renewals fail until the term has expired.
    pub fn spawn_heartbeat(
        &self,
        term: Term,
        extend: watch::Sender<Instant>,
        expires: DateTime<Utc>,
        heartbeat: Duration,
        ttl: Duration,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut expires = expires;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(heartbeat) => {}
                }
                let asked = Instant::now();
                match engine.lease_renew(term.epoch, ttl).await {
                    Ok(Some(lease)) => {
                        expires = lease.expires_at_utc;
                        extend.send_replace(asked + ttl);
                    }
                    Ok(None) => {
                        tracing::warn!(epoch = term.epoch, "lease lost: the term was taken over or had expired");
                        let data = serde_json::json!({"epoch": term.epoch, "owner": engine.identity()});
                        engine.audit("aol:daemon", None, "lease_lost", data).await;
                        term.lost.cancel();
                        return;
                    }
                    Err(e) if engine.clock().now() >= expires => {
                        tracing::error!(epoch = term.epoch, error = %e, "lease lost: could not renew before it expired");
                        // The database is the trouble, not another daemon: say so now,
                        // not only once taking the lease again fails too.
                        engine.report_trouble(format!("cannot renew the daemon lease: {e}"));
                        term.lost.cancel();
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(epoch = term.epoch, error = %e, "lease renewal failed; retrying");
                        engine.report_trouble(format!("cannot renew the daemon lease: {e}"));
                    }
                }
            }
        })
    }
}
