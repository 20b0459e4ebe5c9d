//! `aol_tick_ledger`: one row per daemon tick, written under the daemon's lease.

use chrono::{DateTime, Utc};

use super::fence::{bind_fence, fenced, Fence, PerDialect};
use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::{TickRow, TickStatus};

/// Owner and epoch come from the fence (`$2`, `$3`): a row names the term that wrote it.
const INSERT_TICK: PerDialect = fenced!(
    "INSERT INTO aol_tick_ledger \
     (started_at_utc, finished_at_utc, status, actions_attempted, actions_succeeded, notes, daemon_owner, lease_epoch) \
     SELECT $5, $6, $7, $8, $9, $10, $2, $3 WHERE 1 = 1",
    "RETURNING id"
);

const SELECT_RECENT: &str = "SELECT id, started_at_utc, finished_at_utc, status, actions_attempted, \
     actions_succeeded, notes, daemon_owner, lease_epoch FROM aol_tick_ledger ORDER BY id DESC LIMIT $1";

const SINCE: &str = "SELECT id, started_at_utc, finished_at_utc, status, actions_attempted, \
     actions_succeeded, notes, daemon_owner, lease_epoch FROM aol_tick_ledger \
     WHERE started_at_utc >= $1 ORDER BY started_at_utc LIMIT $2";

/// A tick's summary, as the daemon writes it.
#[derive(Clone, Debug)]
pub struct NewTick<'a> {
    pub started_at_utc: DateTime<Utc>,
    pub finished_at_utc: DateTime<Utc>,
    pub status: TickStatus,
    pub actions_attempted: i64,
    pub actions_succeeded: i64,
    pub notes: &'a str,
}

impl Db {
    /// Appends a ledger row for the term in `fence`; `None` if the term is over.
    pub async fn tick_insert(&self, fence: &Fence<'_>, tick: &NewTick<'_>) -> Result<Option<i64>, StoreError> {
        on_pool!(self, INSERT_TICK, |conn, sql| {
            Ok(bind_fence!(sqlx::query_scalar(sql), fence)
                .bind(tick.started_at_utc)
                .bind(tick.finished_at_utc)
                .bind(tick.status.as_str())
                .bind(tick.actions_attempted)
                .bind(tick.actions_succeeded)
                .bind(tick.notes)
                .fetch_optional(&mut *conn)
                .await?)
        })
    }

    /// The newest ticks first.
    pub async fn ticks_recent(&self, limit: i64) -> Result<Vec<TickRow>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SELECT_RECENT).bind(limit).fetch_all(&mut *conn).await?))
    }

    /// Ticks started at or after `since`, oldest first, at most `limit`.
    pub async fn ticks_since(&self, since: DateTime<Utc>, limit: i64) -> Result<Vec<TickRow>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SINCE).bind(since).bind(limit).fetch_all(&mut *conn).await?))
    }

    pub async fn ticks_count(&self) -> Result<i64, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_scalar(super::counters::TICKS).fetch_one(&mut *conn).await?))
    }
}
