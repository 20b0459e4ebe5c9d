//! `aol_notifiers` (where notifications go) and `aol_outbox` (what is still
//! to be told). An outbox row is written by [`append_outbox!`], called from
//! the audit's append: every change that is a notification's event writes it
//! in its own transaction, so a change is never without its notification,
//! even if the process dies before delivering it.

use chrono::{DateTime, Utc};

use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::{Notifier, OutboxRow};

/// The notification an audit event is, if it is one, read from its data.
/// An entry written as text says so itself ([`super::AuditEntry::notice`]):
/// every `enqueued` event is one ([`enqueued_notice`]).
pub(super) fn notice_of(entry: &super::AuditEntry) -> Option<&'static str> {
    let to_true = |flag: &str| entry.data["flag"] == flag && entry.data["to"] == true;
    match entry.event {
        "awaiting_approval" => Some("awaiting_approval"),
        "approval_expiring" => Some("approval_expiring"),
        "daemon_down" => Some("daemon_down"),
        // A post made on its platform (PROOF writes an artifact instead).
        "succeeded" if entry.data.get("remote_id").is_some() => Some("posted"),
        "failed" | "dead_lettered" => Some("failed"),
        "unconfirmed" => Some("unconfirmed"),
        "expired" => Some("expired"),
        "flag" if to_true("killed") => Some("killed"),
        "flag" if to_true("paused") => Some("paused"),
        _ => None,
    }
}

/// The notification an `enqueued` event of an action in `status` makes.
pub(super) fn enqueued_notice(status: &str) -> Option<&'static str> {
    (status == "AWAITING_APPROVAL").then_some("awaiting_approval")
}

/// Appends, for each of `entries` that is a notification's event, one
/// outbox row per notifier that wants it, on `$conn` inside the change's
/// transaction. One statement for all of them.
macro_rules! append_outbox {
    ($conn:expr, $now:expr, $entries:expr) => {
        async {
            let notices: Vec<(&'static str, &$crate::storage::AuditEntry)> =
                $entries.iter().filter_map(|e| e.notice().map(|n| (n, e))).collect();
            if notices.is_empty() {
                return Ok::<(), sqlx::Error>(());
            }
            let sql = format!(
                "INSERT INTO aol_outbox (notifier, event, action_id, data_json, created_at_utc, next_at_utc) \
                 SELECT n.name, v.column1, CAST(v.column2 AS BIGINT), v.column3, v.column4, v.column4 \
                 FROM (VALUES {}) AS v JOIN aol_notifiers n \
                 ON (',' || n.events || ',') LIKE ('%,' || v.column1 || ',%')",
                $crate::storage::Placeholders::values_rows(&*$conn, notices.len(), 4)
            );
            let mut query = sqlx::query(&sql);
            for (notice, entry) in &notices {
                let mut data = entry.data_value().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                if let Some(fields) = data.as_object_mut() {
                    fields.insert("by".into(), serde_json::Value::String(entry.actor.clone()));
                }
                query = query.bind(*notice).bind(entry.action_id).bind(data.to_string()).bind($now);
            }
            query.execute(&mut *$conn).await?;
            Ok(())
        }
    };
}
pub(crate) use append_outbox;

const NOTIFIER_COLS: &str = "name, url, events, secret_env, format, created_at_utc, created_by";
const OUTBOX_COLS: &str = "o.id, o.notifier, o.event, o.action_id, o.data_json, o.created_at_utc, o.attempts, \
     o.next_at_utc, o.last_error, o.delivered_at_utc, o.dropped_at_utc";

impl Db {
    /// Adds a notifier; false if the name is taken.
    pub async fn notifier_add(&self, n: &Notifier) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let done = sqlx::query(
                "INSERT INTO aol_notifiers (name, url, events, secret_env, format, created_at_utc, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&n.name)
            .bind(&n.url)
            .bind(&n.events)
            .bind(&n.secret_env)
            .bind(&n.format)
            .bind(n.created_at_utc)
            .bind(&n.created_by)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn notifiers(&self) -> Result<Vec<Notifier>, StoreError> {
        let sql = format!("SELECT {NOTIFIER_COLS} FROM aol_notifiers ORDER BY name");
        on_read_pool!(self, |conn| Ok(sqlx::query_as(&sql).fetch_all(&mut *conn).await?))
    }

    /// Removes a notifier and what it still had to deliver; false if none.
    pub async fn notifier_remove(&self, name: &str) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::query("DELETE FROM aol_outbox WHERE notifier = $1 AND delivered_at_utc IS NULL")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM aol_notifiers WHERE name = $1").bind(name).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// A notification for one notifier now (`aol notify test`).
    pub async fn outbox_add(
        &self,
        notifier: &str,
        event: &str,
        data: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO aol_outbox (notifier, event, action_id, data_json, created_at_utc, next_at_utc) \
                 VALUES ($1, $2, NULL, $3, $4, $4)",
            )
            .bind(notifier)
            .bind(event)
            .bind(data.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    }

    /// Up to `limit` rows due at `now`, oldest first, each the oldest still
    /// undelivered of its action for its notifier (so an action's
    /// notifications arrive in order).
    pub async fn outbox_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {OUTBOX_COLS} FROM aol_outbox o WHERE o.delivered_at_utc IS NULL AND o.dropped_at_utc IS NULL \
             AND o.next_at_utc <= $1 AND NOT EXISTS (SELECT 1 FROM aol_outbox p WHERE p.notifier = o.notifier \
             AND p.action_id = o.action_id AND p.id < o.id AND p.delivered_at_utc IS NULL \
             AND p.dropped_at_utc IS NULL) ORDER BY o.id LIMIT $2"
        );
        on_read_pool!(self, |conn| Ok(sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(&mut *conn).await?))
    }

    /// Every row of a notifier, oldest first (tests, `aol notify list`).
    pub async fn outbox_of(&self, notifier: &str) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!("SELECT {OUTBOX_COLS} FROM aol_outbox o WHERE o.notifier = $1 ORDER BY o.id");
        on_read_pool!(self, |conn| Ok(sqlx::query_as(&sql).bind(notifier).fetch_all(&mut *conn).await?))
    }

    /// Per notifier: notifications waiting, delivered, dropped.
    pub async fn outbox_counts(&self) -> Result<Vec<(String, i64, i64, i64)>, StoreError> {
        const COUNTS: &str = "SELECT notifier, \
             COALESCE(SUM(CASE WHEN delivered_at_utc IS NULL AND dropped_at_utc IS NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN delivered_at_utc IS NOT NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN dropped_at_utc IS NOT NULL THEN 1 ELSE 0 END), 0) \
             FROM aol_outbox GROUP BY notifier ORDER BY notifier";
        on_read_pool!(self, |conn| Ok(sqlx::query_as(COUNTS).fetch_all(&mut *conn).await?))
    }

    pub async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query("UPDATE aol_outbox SET delivered_at_utc = $2, attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    /// A failed delivery: tried again at `next`.
    pub async fn outbox_retry(&self, id: i64, next: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE aol_outbox SET attempts = attempts + 1, next_at_utc = $2, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(next)
            .bind(error)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    }

    /// Gives up on rows still undelivered that were written before `cutoff`;
    /// how many.
    pub async fn outbox_drop_older(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(self, |conn| {
            let done = sqlx::query(
                "UPDATE aol_outbox SET dropped_at_utc = $2 WHERE delivered_at_utc IS NULL AND dropped_at_utc IS NULL \
                 AND created_at_utc < $1",
            )
            .bind(cutoff)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected())
        })
    }

    /// Removes up to `limit` settled rows (delivered or dropped) written
    /// before `before`; how many went. Rows still to deliver always stay.
    pub async fn outbox_prune(&self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        on_pool!(self, |conn| {
            let done = sqlx::query(
                "DELETE FROM aol_outbox WHERE id IN (SELECT id FROM aol_outbox WHERE created_at_utc < $1 \
                 AND (delivered_at_utc IS NOT NULL OR dropped_at_utc IS NOT NULL) ORDER BY id LIMIT $2)",
            )
            .bind(before)
            .bind(limit)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected())
        })
    }
}
