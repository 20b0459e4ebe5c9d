//! Claiming due actions for a term: marked RUNNING under its fence, oldest
//! due first; on PostgreSQL a big claim runs as two statements side by side,
//! each handed over as it returns; on SQLite the claimed rows come back as
//! one JSON row.

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use sqlx::Connection;

use super::action_reads::{actions_head, cols};
use super::fence::{bind_fence, fenced, Fence, PerDialect};
use super::{Db, Pool, StoreError};
use crate::model::Action;

/// Marks RUNNING under this term the actions whose ids `$due` gives (due
/// ones, oldest first, at most `$5`), and holds the lease check.
macro_rules! claim_sql {
    ($due:expr) => {
        concat!(
            "UPDATE aol_actions SET status = 'RUNNING', attempts = attempts + 1, lease_epoch = $3, updated_at_utc = $4, \
             sent_at_utc = NULL WHERE id ",
            $due
        )
    };
}
/// The due actions' ids on SQLite. SQLite has no statistics unless asked to
/// gather them, and without them it read every PENDING row through the status
/// index and sorted them all to take the oldest 1,000 (25 ms a claim with
/// 20,000 queued, and growing with the queue): the due index gives them in
/// order. One writer at a time: nothing to skip. The condition is
/// PostgreSQL's `aol_due_ids` (migration 0020): change both or neither.
macro_rules! due_sqlite {
    () => {
        "IN (SELECT id FROM aol_actions INDEXED BY aol_actions_due_idx WHERE status IN ('PENDING', 'RETRY') \
         AND not_before_utc <= $4 AND (not_after_utc IS NULL OR not_after_utc > $4) ORDER BY not_before_utc, id LIMIT $5)"
    };
}
/// The due actions' ids on PostgreSQL: `aol_due_ids` (migration 0020) reads
/// them through the due index whatever the statistics say, locking them and
/// skipping rows another claim is locking. They come as an array so that each
/// is looked up by id (with `IN (SELECT …)` PostgreSQL read the whole table to
/// match them: 45 ms for 1,000 among 50,000), read once by the subquery (a
/// volatile function in the WHERE clause would be called for every row).
/// Nothing else may be in this WHERE clause: with the status checked here too,
/// stale statistics made PostgreSQL look the ids up through the due index,
/// whose second column is the id (110 ms for 500). The locked rows cannot
/// change before the claim commits.
macro_rules! due_postgres {
    () => {
        "= ANY((SELECT aol_due_ids($4, $5))::BIGINT[])"
    };
}
/// SQLite returns only the ids; [`CLAIMED_SQLITE`] reads the rows.
pub(super) const CLAIM: PerDialect = PerDialect {
    sqlite: fenced!(claim_sql!(due_sqlite!()), "RETURNING id").sqlite,
    postgres: fenced!(claim_sql!(due_postgres!()), concat!("RETURNING ", cols!())).postgres,
};

/// The actions whose ids are the JSON array `$1`, as one JSON array of rows,
/// each an object with [`Action`]'s fields (its columns, [`cols!`]). sqlx
/// copies out every value of every row it returns: 1,000 claimed rows of 24
/// columns took ~18 ms read as rows, ~10 ms as their ids and this one row
/// (median of 160 claims of 1,000 from 20,000 queued, a standalone sqlx 0.8.6
/// program on this machine). Times come back as the text sqlx wrote, which
/// `Action`'s fields read.
static CLAIMED_SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let fields: Vec<String> = cols!().split(',').map(str::trim).map(|c| format!("'{c}', {c}")).collect();
    format!(
        "SELECT json_group_array(json_object({})) FROM aol_actions WHERE id IN (SELECT value FROM json_each($1))",
        fields.join(", ")
    )
});

/// The same rows read the usual way, should their JSON ever not read back
/// as actions (a time written in a form sqlx reads but JSON does not).
const CLAIMED_ROWS_SQLITE: &str = concat!(actions_head!(), " WHERE id IN (SELECT value FROM json_each($1))");

/// From this many actions a claim on PostgreSQL is two statements side by
/// side, on two connections (each skips the rows the other is locking): one
/// UPDATE of 1,000 rows kept one backend busy while the other core idled, and
/// two halves drained 8-15 % more in alternating runs (docs/scaling.md).
const CLAIM_SPLIT_FROM: i64 = 200;

/// A claim's statements, each handing over its actions (oldest due first)
/// as soon as it returns: the daemon starts the first statement's while the
/// other's are still on their way (one UPDATE of 1,000 rows, or two halves
/// awaited together, left the daemon idle while the database worked, then
/// the database idle while the daemon ran the attempts).
pub type ClaimParts<'a> = FuturesUnordered<BoxFuture<'a, Result<Vec<Action>, StoreError>>>;

impl Db {
    /// Claims up to `limit` due actions for the term in `fence`, oldest due first.
    /// Empty when nothing is due or the term is no longer held. A statement
    /// that failed claimed nothing; the others' actions are RUNNING under this
    /// term and must be run, not stranded: an error only when none succeeded.
    pub async fn actions_claim(&self, fence: &Fence<'_>, limit: i64) -> Result<Vec<Action>, StoreError> {
        let mut parts = self.actions_claim_parts(fence, limit);
        let mut claimed = first_part(&mut parts).await?;
        claimed.extend(rest_of(&mut parts).await);
        oldest_due_first(&mut claimed);
        Ok(claimed)
    }

    /// The statements of a claim of up to `limit` actions (see [`ClaimParts`]).
    pub fn actions_claim_parts<'a>(&'a self, fence: &'a Fence<'a>, limit: i64) -> ClaimParts<'a> {
        let sizes = if self.concurrent_writes() > 1 && limit >= CLAIM_SPLIT_FROM {
            vec![limit / 2, limit - limit / 2]
        } else {
            vec![limit]
        };
        sizes
            .into_iter()
            .map(|size| {
                async move {
                    let mut part = self.claim_some(fence, size).await?;
                    oldest_due_first(&mut part);
                    Ok(part)
                }
                .boxed()
            })
            .collect()
    }

    /// One claim statement of up to `limit` actions.
    async fn claim_some(&self, fence: &Fence<'_>, limit: i64) -> Result<Vec<Action>, StoreError> {
        match &self.pool {
            Pool::Sqlite(writer) => {
                // In one transaction, so that no other process changes a
                // claimed row between its claim and its reading.
                let mut conn = writer.lock().await?;
                let mut tx = conn.begin().await?;
                let ids: Vec<i64> =
                    bind_fence!(sqlx::query_scalar(CLAIM.sqlite), fence).bind(limit).fetch_all(&mut *tx).await?;
                if ids.is_empty() {
                    tx.commit().await?;
                    return Ok(Vec::new());
                }
                let ids = sqlx::types::Json(ids);
                let rows: String = sqlx::query_scalar(CLAIMED_SQLITE.as_str()).bind(&ids).fetch_one(&mut *tx).await?;
                let claimed = match serde_json::from_str::<Vec<Action>>(&rows) {
                    Ok(claimed) => claimed,
                    Err(e) => {
                        tracing::warn!(error = %e, "claimed actions did not read back from JSON; reading them as rows");
                        sqlx::query_as(CLAIMED_ROWS_SQLITE).bind(&ids).fetch_all(&mut *tx).await?
                    }
                };
                tx.commit().await?;
                Ok(claimed)
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                Ok(bind_fence!(sqlx::query_as(CLAIM.postgres), fence).bind(limit).fetch_all(&mut *conn).await?)
            }
        }
    }
}

/// The actions of the first of `parts` to succeed, or the last error when
/// none did. Parts that failed before it are logged: they claimed nothing.
pub async fn first_part(parts: &mut ClaimParts<'_>) -> Result<Vec<Action>, StoreError> {
    let mut failed = None;
    while let Some(part) = parts.next().await {
        match part {
            Ok(part) => {
                if let Some(e) = failed {
                    part_failed(&e);
                }
                return Ok(part);
            }
            Err(e) => failed = Some(e),
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(Vec::new()),
    }
}

/// The actions of the parts still on their way, once they are all back.
pub async fn rest_of(parts: &mut ClaimParts<'_>) -> Vec<Action> {
    let mut rest = Vec::new();
    while let Some(part) = parts.next().await {
        match part {
            Ok(more) => rest.extend(more),
            Err(e) => part_failed(&e),
        }
    }
    rest
}

/// A claim statement that failed claimed nothing: the other parts' actions
/// are RUNNING under this term and are run, not stranded.
pub fn part_failed(e: &StoreError) {
    tracing::warn!(error = %e, "part of a claim failed; running the rest");
}

/// The claim's order, as its statement's `ORDER BY not_before_utc, id`:
/// the longest due first.
fn oldest_due_first(actions: &mut [Action]) {
    actions.sort_by_key(|a| (a.not_before_utc, a.id));
}
