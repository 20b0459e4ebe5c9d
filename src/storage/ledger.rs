//! `aol_tick_ledger`: one row per daemon tick.

use chrono::{DateTime, Utc};

use super::{on_pool, Db, StoreError};
use crate::model::{TickRow, TickStatus};

const INSERT_TICK: &str = "INSERT INTO aol_tick_ledger \
     (started_at_utc, finished_at_utc, status, actions_attempted, actions_succeeded, notes, daemon_owner, lease_epoch) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

const SELECT_RECENT: &str = "SELECT id, started_at_utc, finished_at_utc, status, actions_attempted, \
     actions_succeeded, notes, daemon_owner, lease_epoch FROM aol_tick_ledger ORDER BY id DESC LIMIT $1";

const COUNT: &str = "SELECT COUNT(*) FROM aol_tick_ledger";

/// A tick's summary, as the daemon writes it.
#[derive(Clone, Debug)]
pub struct NewTick<'a> {
    pub started_at_utc: DateTime<Utc>,
    pub finished_at_utc: DateTime<Utc>,
    pub status: TickStatus,
    pub actions_attempted: i64,
    pub actions_succeeded: i64,
    pub notes: &'a str,
    pub daemon_owner: &'a str,
    pub lease_epoch: Option<i64>,
}

impl Db {
    /// Appends a ledger row and returns its id.
    pub async fn tick_insert(&self, tick: &NewTick<'_>) -> Result<i64, StoreError> {
        on_pool!(self, |pool| {
            let id: i64 = sqlx::query_scalar(INSERT_TICK)
                .bind(tick.started_at_utc)
                .bind(tick.finished_at_utc)
                .bind(tick.status.as_str())
                .bind(tick.actions_attempted)
                .bind(tick.actions_succeeded)
                .bind(tick.notes)
                .bind(tick.daemon_owner)
                .bind(tick.lease_epoch)
                .fetch_one(pool)
                .await?;
            Ok(id)
        })
    }

    /// The newest ticks first.
    pub async fn ticks_recent(&self, limit: i64) -> Result<Vec<TickRow>, StoreError> {
        on_pool!(self, |pool| Ok(sqlx::query_as(SELECT_RECENT).bind(limit).fetch_all(pool).await?))
    }

    pub async fn ticks_count(&self) -> Result<i64, StoreError> {
        on_pool!(self, |pool| Ok(sqlx::query_scalar(COUNT).fetch_one(pool).await?))
    }
}
