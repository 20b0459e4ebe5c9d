//! What the daemon's attempts write (their claim is `claim.rs`): their
//! "started" lines and results (many at once: the writer's group
//! commit), with the PROOF artifacts their lines hold. Every write
//! carries the term's fence. A large group of results frees the audit
//! chain's head before its commit reaches the disk (`durable.rs`).

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::audit::append_audit;
use super::durable::{on_disk, Durable};
use super::fence::{bind_fence, lease_check, Fence, LEASE_CHECK};
use super::logs::{bind_line_arrays, insert_logs, NewLog, INSERT_HEAD, LINE_TYPES};
use super::{group_rows, json_rows_of, AuditEntry, Db, Pool, StoreError};

/// What a result statement returns of each action it wrote: what the
/// daemon reports and logs (the whole row cost decoding 25 columns per result).
macro_rules! finished_cols {
    () => {
        "id, idempotency_key, status, attempts, last_error"
    };
}

/// How attempts ended, many at once: `v` holds `(id, kind, error, not_before,
/// max_attempts)` per action (see [`Finish::kind`]) as `v.column1`…; a row
/// changes only while still RUNNING under this term. SUCCESS clears the
/// error; RETRY waits until `not_before`, or goes to the DLQ once
/// `max_attempts` are used up; UNCLAIM hands back a claim never started
/// without counting the attempt, and DEFER does the same with a reason and a
/// time (a platform's "not now"); UNCONFIRMED keeps the error: the request
/// may have been posted. AWAIT (an approval is needed) and EXPIRED (too late
/// to send) send nothing and count no attempt either.
macro_rules! finish_set {
    () => {
        "UPDATE aol_actions SET (status, attempts, last_error, not_before_utc, updated_at_utc) = ("
    };
}
/// The new values of [`finish_set`]'s columns, in its order.
macro_rules! finish_values {
    () => {
        "CASE v.column2 WHEN 'SUCCESS' THEN 'SUCCESS' WHEN 'FAILED' THEN 'FAILED' WHEN 'UNCONFIRMED' THEN 'UNCONFIRMED' \
           WHEN 'AWAIT' THEN 'AWAITING_APPROVAL' WHEN 'EXPIRED' THEN 'EXPIRED' \
           WHEN 'RETRY' THEN CASE WHEN aol_actions.attempts >= v.column5 THEN 'DLQ' ELSE 'RETRY' END \
           ELSE CASE WHEN aol_actions.attempts <= 1 THEN 'PENDING' ELSE 'RETRY' END END, \
         CASE WHEN v.column2 IN ('UNCLAIM', 'DEFER', 'AWAIT', 'EXPIRED') THEN aol_actions.attempts - 1 \
           ELSE aol_actions.attempts END, \
         CASE v.column2 WHEN 'SUCCESS' THEN NULL WHEN 'UNCLAIM' THEN aol_actions.last_error ELSE v.column3 END, \
         CASE WHEN v.column2 IN ('RETRY', 'DEFER') THEN v.column4 ELSE aol_actions.not_before_utc END, \
         $4"
    };
}
/// SQLite joins the results' rows (followed by the lease check and [`FINISH_TAIL`]).
const FINISH_SQLITE_HEAD: &str = concat!(finish_set!(), finish_values!(), ") FROM ");
const FINISH_SQLITE_WHERE: &str =
    " WHERE aol_actions.id = v.column1 AND aol_actions.status = 'RUNNING' AND aol_actions.lease_epoch = $3 ";
/// PostgreSQL finds the rows by id (`$5`) and each row's result in the JSON
/// object `$6`, keyed by id, as `[kind, error, not_before, max_attempts]`: a
/// keyed lookup per row. Finding it by its place in arrays (`array_position`,
/// then subscripts) walked the arrays once per row: 50 ms for 1,000 results.
/// Joining the rows instead made a plan that, with statistics stale after a
/// bulk enqueue, read all the results once per row.
const FINISH_POSTGRES: &str = concat!(
    finish_set!(),
    "SELECT ",
    finish_values!(),
    " FROM (SELECT r ->> 0 AS column2, r ->> 1 AS column3, (r ->> 2)::timestamptz AS column4, \
       (r ->> 3)::bigint AS column5 FROM (SELECT $6::jsonb -> aol_actions.id::text AS r) AS x) AS v) \
     WHERE aol_actions.id = ANY($5) AND aol_actions.status = 'RUNNING' AND aol_actions.lease_epoch = $3",
    lease_check!(" FOR SHARE"),
    "RETURNING ",
    finished_cols!()
);
const FINISH_TAIL: &str = concat!("RETURNING ", finished_cols!());
/// Log lines, `(action_id, level, message, artifact_ref, artifact_sha256,
/// artifact_bytes)` each, for actions this term is running.
const LOG_IF_MINE_HEAD: &str = "SELECT v.column1, $4, v.column2, v.column3, v.column4, v.column5, $3, v.column6 FROM ";
/// Each line's action is looked up by id: a plan that joined the lines with
/// the RUNNING actions read all the lines once per action on PostgreSQL
/// (3 of a 64-line insert's 5 ms).
const LOG_IF_MINE_WHERE: &str =
    " WHERE (SELECT a.status = 'RUNNING' AND a.lease_epoch = $3 FROM aol_actions a WHERE a.id = v.column1) ";
/// The types of a result's five values on SQLite: id, kind, error, not_before, max_attempts.
const RESULT_TYPES: [&str; 5] = ["bigint", "text", "text", "text", "bigint"];
/// An action as a result left it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Finished {
    pub id: i64,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl Finished {
    /// The idempotency key as its sender wrote it.
    pub fn key(&self) -> &str {
        crate::model::shown_key(&self.idempotency_key)
    }
}

/// How an attempt ended, as the daemon writes it.
#[derive(Clone, Debug)]
pub enum Finish {
    Success,
    /// Try again at `not_before`, unless `max_attempts` are used up (then DLQ).
    Retry {
        error: String,
        not_before: DateTime<Utc>,
        max_attempts: i64,
    },
    /// A permanent error: no retry.
    Failed {
        error: String,
    },
    /// Claimed but never started: back to the queue, attempt not counted.
    Unclaim,
    /// Not now, and not the action's fault (a platform's 429, a disarmed
    /// channel): back to the queue until `not_before`, attempt not counted.
    Defer {
        reason: String,
        not_before: DateTime<Utc>,
    },
    /// The request may have reached the platform and its answer is unknown:
    /// never retried automatically.
    Unconfirmed {
        error: String,
    },
    /// Its policy wants an operator's approval of this request first:
    /// AWAITING_APPROVAL, nothing sent, attempt not counted.
    AwaitApproval,
    /// Too late to send it (past its deadline, or its approval ran out):
    /// EXPIRED, nothing sent, attempt not counted.
    Expired {
        reason: String,
    },
}

impl Finish {
    /// The name the result statement switches on.
    fn kind(&self) -> &'static str {
        match self {
            Finish::Success => "SUCCESS",
            Finish::Retry { .. } => "RETRY",
            Finish::Failed { .. } => "FAILED",
            Finish::Unclaim => "UNCLAIM",
            Finish::Defer { .. } => "DEFER",
            Finish::Unconfirmed { .. } => "UNCONFIRMED",
            Finish::AwaitApproval => "AWAIT",
            Finish::Expired { .. } => "EXPIRED",
        }
    }

    /// The result statement's other values: error, next try, attempts allowed.
    fn values(&self) -> (Option<&str>, Option<DateTime<Utc>>, Option<i64>) {
        match self {
            Finish::Retry { error, not_before, max_attempts } => {
                (Some(error.as_str()), Some(*not_before), Some(*max_attempts))
            }
            Finish::Failed { error } | Finish::Unconfirmed { error } | Finish::Expired { reason: error } => {
                (Some(error.as_str()), None, None)
            }
            Finish::Defer { reason, not_before } => (Some(reason.as_str()), Some(*not_before), None),
            Finish::Success | Finish::Unclaim | Finish::AwaitApproval => (None, None, None),
        }
    }
}

impl Db {
    /// Writes how an attempt ended, with its log line, if the action is still
    /// RUNNING under this term. `None`: nothing was written (the lease was lost,
    /// or the action was rescued or changed meanwhile).
    pub async fn action_finish(
        &self,
        fence: &Fence<'_>,
        id: i64,
        finish: &Finish,
        log: &NewLog,
    ) -> Result<Option<Finished>, StoreError> {
        Ok(self.actions_finish(fence, &[(id, finish, log)]).await?.pop())
    }

    /// Writes how many attempts ended, `(id, finish, log line)` each, at once
    /// (group commit: one transaction). Returns the actions written, in no
    /// particular order; one that is missing was no longer RUNNING under this
    /// term and got neither its result nor its line.
    pub async fn actions_finish(
        &self,
        fence: &Fence<'_>,
        results: &[(i64, &Finish, &NewLog)],
    ) -> Result<Vec<Finished>, StoreError> {
        match &self.pool {
            Pool::Sqlite(writer) => {
                let rows = json_rows_of(
                    results
                        .iter()
                        .map(|(id, finish, _)| {
                            let (error, not_before, max_attempts) = finish.values();
                            let not_before = not_before.map(group_rows::sqlite_time);
                            serde_json::json!([id, finish.kind(), error, not_before, max_attempts])
                        })
                        .collect(),
                );
                let mut conn = writer.lock().await?;
                let mut tx = conn.begin().await?;
                let written: Vec<Finished> =
                    bind_fence!(sqlx::query_as(FINISH_SQLITE.as_str()), fence).bind(rows).fetch_all(&mut *tx).await?;
                let lines = lines_of_written(results, &written);
                insert_logs!(&mut *tx, fence.now, Some(fence.epoch), lines).await?;
                tx.commit().await?;
                Ok(written)
            }
            Pool::Postgres(pool) => {
                let ids: Vec<i64> = results.iter().map(|(id, _, _)| *id).collect();
                let by_id: serde_json::Map<String, serde_json::Value> = results
                    .iter()
                    .map(|(id, finish, _)| {
                        let (error, not_before, max_attempts) = finish.values();
                        let not_before = not_before.map(group_rows::postgres_time);
                        (id.to_string(), serde_json::json!([finish.kind(), error, not_before, max_attempts]))
                    })
                    .collect();
                let mut conn = pool.acquire().await?;
                let mut tx = Durable::begin_group(&mut *conn, results.len()).await?;
                let query = bind_fence!(sqlx::query_as(FINISH_AND_LOG_POSTGRES.as_str()), fence)
                    .bind(&ids)
                    .bind(sqlx::types::Json(by_id))
                    .bind(&ids);
                let written: Vec<Finished> =
                    bind_line_arrays!(query, results.iter().map(|(_, _, log)| *log)).fetch_all(&mut *tx).await?;
                let lines = lines_of_written(results, &written);
                // The lines written are events of the audit trail, in the same transaction.
                let events: Vec<AuditEntry> =
                    lines.iter().map(|(id, log)| log.audit_entry(*id, Some(fence.epoch))).collect();
                append_audit!(tx, fence.now, &events).await?;
                tx.commit().await?;
                Durable::committed_durably(&mut *conn, results.len()).await?;
                Ok(written)
            }
        }
    }

    /// Appends a log line to an action this term is running; false if it is not
    /// (nothing written).
    pub async fn action_log_if_mine(&self, fence: &Fence<'_>, id: i64, log: &NewLog) -> Result<bool, StoreError> {
        Ok(!self.actions_log_if_mine(fence, &[(id, log)]).await?.is_empty())
    }

    /// Appends log lines, `(action_id, line)` each, to actions this term is
    /// running, in one statement; the ids whose line was written. On disk
    /// when it returns: these are REAL attempts' "started" lines, and their
    /// requests leave next ([`Durable::begin_on_disk`]).
    pub async fn actions_log_if_mine(
        &self,
        fence: &Fence<'_>,
        lines: &[(i64, &NewLog)],
    ) -> Result<Vec<i64>, StoreError> {
        // The lines written are events of the audit trail too, in the same transaction.
        let audit = |written: &[i64]| -> Vec<AuditEntry> {
            lines
                .iter()
                .filter(|(id, _)| written.contains(id))
                .map(|(id, log)| log.audit_entry(*id, Some(fence.epoch)))
                .collect()
        };
        match &self.pool {
            Pool::Sqlite(writer) => {
                let rows = json_rows_of(lines.iter().map(|(id, log)| log.json_row(*id)).collect());
                on_disk!(&mut *writer.lock().await?, |tx| {
                    let written: Vec<i64> = bind_fence!(sqlx::query_scalar(STARTED_SQLITE.as_str()), fence)
                        .bind(rows)
                        .fetch_all(&mut *tx)
                        .await?;
                    append_audit!(tx, fence.now, &audit(&written)).await?;
                    tx.commit().await?;
                    Ok::<_, StoreError>(written)
                })
            }
            Pool::Postgres(pool) => on_disk!(&mut *pool.acquire().await?, |tx| {
                let query = bind_fence!(sqlx::query_scalar(STARTED_POSTGRES.as_str()), fence)
                    .bind(lines.iter().map(|(id, _)| *id).collect::<Vec<i64>>());
                let written: Vec<i64> =
                    bind_line_arrays!(query, lines.iter().map(|(_, log)| *log)).fetch_all(&mut *tx).await?;
                append_audit!(tx, fence.now, &audit(&written)).await?;
                tx.commit().await?;
                Ok::<_, StoreError>(written)
            }),
        }
    }
}

/// SQLite's results statement: the rows are one JSON parameter (see [`group_rows::sqlite`]).
static FINISH_SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{FINISH_SQLITE_HEAD}{}{FINISH_SQLITE_WHERE}{}{FINISH_TAIL}",
        group_rows::sqlite(5, &RESULT_TYPES),
        LEASE_CHECK.sqlite
    )
});

/// PostgreSQL's results and their log lines in one statement (one round trip
/// instead of four: BEGIN, results, lines, COMMIT; the writer's round trips,
/// not the work, were what limited processing). A line is written only with
/// its result: it is picked among the rows the update returned.
static FINISH_AND_LOG_POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let lines = group_rows::postgres(7, &LINE_TYPES);
    format!(
        "WITH done AS ({FINISH_POSTGRES}), logged AS ({INSERT_HEAD}{LOG_IF_MINE_HEAD}{} \
         WHERE v.column1 IN (SELECT id FROM done)) SELECT {} FROM done",
        lines,
        finished_cols!()
    )
});

/// The "attempt started" lines: one text for any number of lines.
static STARTED_POSTGRES: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| log_if_mine_sql(&group_rows::postgres(5, &LINE_TYPES), LEASE_CHECK.postgres));
static STARTED_SQLITE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| log_if_mine_sql(&group_rows::sqlite(5, &LINE_TYPES), LEASE_CHECK.sqlite));

/// The multi-row "attempt started" insert over `rows`, with the lease check `check`.
fn log_if_mine_sql(rows: &str, check: &str) -> String {
    format!("{INSERT_HEAD}{LOG_IF_MINE_HEAD}{rows}{LOG_IF_MINE_WHERE}{check}RETURNING action_id")
}

/// The log lines of the results that were written (`updated`), `(id, line)` each
/// (SQLite; PostgreSQL picks them in [`FINISH_AND_LOG_POSTGRES`] itself).
fn lines_of_written<'a>(results: &[(i64, &Finish, &'a NewLog)], updated: &[Finished]) -> Vec<(i64, &'a NewLog)> {
    let written: std::collections::HashSet<i64> = updated.iter().map(|a| a.id).collect();
    results.iter().filter(|(id, _, _)| written.contains(id)).map(|(id, _, log)| (*id, *log)).collect()
}
