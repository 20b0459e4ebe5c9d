//! Pruning old rows in small batches (see `engine::retention` for the rules).
//! Each call deletes at most `limit` rows, oldest first, so that the daemon's
//! writes never wait long behind it.

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::{on_pool, Db, StoreError};

const TICKS: &str = "DELETE FROM aol_tick_ledger WHERE id IN \
     (SELECT id FROM aol_tick_ledger WHERE started_at_utc < $1 ORDER BY started_at_utc LIMIT $2)";
const TICKS_OF_STATUS: &str = "DELETE FROM aol_tick_ledger WHERE id IN \
     (SELECT id FROM aol_tick_ledger WHERE status = $3 AND started_at_utc < $1 ORDER BY started_at_utc LIMIT $2)";
/// Statuses of actions that are done with: retention may remove them and
/// their log lines. Not DLQ: those wait for an operator.
pub const FINISHED_STATUSES: [&str; 4] = ["SUCCESS", "FAILED", "CANCELLED", "EXPIRED"];

/// Only the log lines of finished actions ($3…$6: [`FINISHED_STATUSES`]),
/// the oldest first, read through the lines' time index. A CROSS JOIN keeps
/// SQLite to that order: with a plain JOIN it read every finished action and
/// all their lines, then sorted them, 810 ms a call with 1,000,000 actions of
/// history (0.2 ms now), holding the one writer while it did. PostgreSQL
/// plans both alike.
pub(super) const LOGS: &str = "DELETE FROM aol_execution_logs WHERE id IN \
     (SELECT l.id FROM aol_execution_logs l CROSS JOIN aol_actions a \
      WHERE a.id = l.action_id AND l.ts_utc < $1 AND a.status IN ($3, $4, $5, $6) \
      ORDER BY l.ts_utc LIMIT $2)";
/// The statuses `aol_actions_status_updated_idx` holds (migration 0026, the
/// very same text): those found by when they last changed, retention's
/// [`FINISHED_STATUSES`] and DLQ, and approvals' waits (`storage::chores`).
/// A query through the index says this term too, word for word: SQLite uses
/// a partial index only for a query with its term, and PostgreSQL's plan
/// for a bound status must hold whatever status is bound.
macro_rules! by_last_change {
    () => {
        "status IN ('SUCCESS', 'FAILED', 'CANCELLED', 'EXPIRED', 'DLQ', 'AWAITING_APPROVAL')"
    };
}
pub(super) use by_last_change;

/// The action's log lines go with it (SQLite: ON DELETE CASCADE; PostgreSQL:
/// a trigger, migration 0024).
pub(super) const ACTIONS_OF_STATUS: &str = concat!(
    "DELETE FROM aol_actions WHERE id IN (SELECT id FROM aol_actions WHERE status = $3 AND ",
    by_last_change!(),
    " AND updated_at_utc < $1 ORDER BY updated_at_utc LIMIT $2) \
     AND status = $3 RETURNING idempotency_key, id, status, updated_at_utc, enqueued_by"
);

/// A removed action's key, id, status, last change and who enqueued it.
type Retired = (String, i64, String, DateTime<Utc>, Option<String>);

/// What else each database keeps of the keys it retires.
trait KeepRetired {
    fn keep_retired(&mut self, gone: &[Retired]) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send;
}

/// SQLite checks retired keys under its one write lock: nothing else.
impl KeepRetired for sqlx::SqliteConnection {
    async fn keep_retired(&mut self, _gone: &[Retired]) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

/// PostgreSQL keeps each retired key in `aol_action_lookup` (type '', no one
/// enqueued it), so that an enqueue's insert meets it at the key (migration
/// 0023), even one that waited for this transaction; the delete removed the
/// action's own row.
impl KeepRetired for sqlx::PgConnection {
    async fn keep_retired(&mut self, gone: &[Retired]) -> Result<(), sqlx::Error> {
        let keys: Vec<&str> = gone.iter().map(|(key, ..)| key.as_str()).collect();
        let ids: Vec<i64> = gone.iter().map(|(_, id, ..)| *id).collect();
        sqlx::query(
            "INSERT INTO aol_action_lookup (action_id, idempotency_key, action_type, enqueued_by) \
             SELECT v.id, v.key, '', NULL FROM unnest($1::text[], $2::bigint[]) AS v(key, id) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(keys)
        .bind(ids)
        .execute(self)
        .await?;
        Ok(())
    }
}

impl Db {
    /// Deletes up to `limit` ledger rows started before `before` (of one
    /// status, if given); returns how many.
    pub async fn ticks_prune(
        &self,
        before: DateTime<Utc>,
        status: Option<&str>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        on_pool!(self, |conn| {
            let done = match status {
                Some(status) => {
                    sqlx::query(TICKS_OF_STATUS).bind(before).bind(limit).bind(status).execute(&mut *conn).await?
                }
                None => sqlx::query(TICKS).bind(before).bind(limit).execute(&mut *conn).await?,
            };
            Ok(done.rows_affected())
        })
    }

    /// Deletes up to `limit` log lines of finished actions written before `before`.
    pub async fn logs_prune(&self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        on_pool!(self, |conn| {
            let query = FINISHED_STATUSES.iter().fold(sqlx::query(LOGS).bind(before).bind(limit), |q, s| q.bind(*s));
            Ok(query.execute(&mut *conn).await?.rows_affected())
        })
    }

    /// Deletes up to `limit` actions in `status` last changed before `before`,
    /// with their logs, and retires their keys, in one transaction.
    pub async fn actions_prune(
        &self,
        status: &str,
        before: DateTime<Utc>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let gone: Vec<Retired> =
                sqlx::query_as(ACTIONS_OF_STATUS).bind(before).bind(limit).bind(status).fetch_all(&mut *tx).await?;
            if !gone.is_empty() {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO aol_retired_keys (idempotency_key, action_id, status, finished_at_utc, retired_at_utc, \
                     enqueued_by) ",
                );
                insert.push_values(&gone, |mut row, (key, id, status, finished, by)| {
                    row.push_bind(key).push_bind(id).push_bind(status).push_bind(finished).push_bind(now).push_bind(by);
                });
                insert.push(" ON CONFLICT (idempotency_key) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
                KeepRetired::keep_retired(&mut *tx, &gone).await?;
            }
            tx.commit().await?;
            Ok(gone.len() as u64)
        })
    }

    /// How many keys retention has retired.
    pub async fn retired_keys_count(&self) -> Result<i64, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query_scalar("SELECT COUNT(*) FROM aol_retired_keys")
            .fetch_one(&mut *conn)
            .await?))
    }
}

#[cfg(test)]
mod tests {
    use super::FINISHED_STATUSES;

    /// Retention and the approval chores find their statuses in the partial index.
    #[test]
    fn the_status_time_index_holds_what_retention_prunes_and_approvals_waits() {
        for status in FINISHED_STATUSES.iter().chain(&["DLQ", "AWAITING_APPROVAL"]) {
            assert!(by_last_change!().contains(&format!("'{status}'")), "{status} is not in {}", by_last_change!());
        }
        for queued in ["PENDING", "RETRY", "RUNNING"] {
            assert!(!by_last_change!().contains(queued), "{queued} would be written by every enqueue or claim");
        }
        for db in ["postgres", "sqlite"] {
            let path = format!("{}/migrations/{db}/0026_status_time_index_partial.sql", env!("CARGO_MANIFEST_DIR"));
            let migration = std::fs::read_to_string(&path).unwrap();
            assert!(migration.contains(by_last_change!()), "{path} must say the queries' very term");
        }
    }
}
