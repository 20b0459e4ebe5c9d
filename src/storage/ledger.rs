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

/// The ticks started at or after `$1` (a whole minute), summed per minute:
/// the minute's place after `$1` (0, 1, …), its ticks, actions attempted and
/// succeeded. Summed where the rows are: read whole, the 2,758 ticks of an
/// hour in the dashboard bench took ~11 ms on SQLite, most of the
/// dashboard's call (docs/scaling.md), and a daemon ticking every 0.3 s
/// writes 12,000.
const PER_MINUTE: PerDialect = PerDialect {
    sqlite: "SELECT (CAST(strftime('%s', started_at_utc) AS INTEGER) - CAST(strftime('%s', $1) AS INTEGER)) / 60 \
         AS m, COUNT(*), SUM(actions_attempted), SUM(actions_succeeded) \
         FROM aol_tick_ledger WHERE started_at_utc >= $1 GROUP BY m",
    postgres: "SELECT floor(extract(epoch FROM started_at_utc - $1) / 60)::bigint AS m, COUNT(*), \
         SUM(actions_attempted)::bigint, SUM(actions_succeeded)::bigint \
         FROM aol_tick_ledger WHERE started_at_utc >= $1 GROUP BY m",
};

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

    /// The ticks started at or after `start` (a whole minute), per minute:
    /// (minutes after `start`, ticks, actions attempted, actions succeeded),
    /// for the minutes that had any.
    pub async fn ticks_per_minute(&self, start: DateTime<Utc>) -> Result<Vec<(i64, i64, i64, i64)>, StoreError> {
        let sql = PER_MINUTE.on(self.dialect());
        on_read_pool!(self, |conn| Ok(sqlx::query_as(sql).bind(start).fetch_all(&mut *conn).await?))
    }

    pub async fn ticks_count(&self) -> Result<i64, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_scalar(super::counters::TICKS).fetch_one(&mut *conn).await?))
    }
}
