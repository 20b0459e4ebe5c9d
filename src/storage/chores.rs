//! The chores a tick does before it claims: rescue what an earlier term left
//! RUNNING, warn of approvals about to run out, expire what can no longer be
//! sent. Each is a fenced write, and on PostgreSQL a fenced write locks the
//! lease row, so it writes WAL and waits for a durable commit even when it
//! changes nothing. [`Db::chores_due`] first reads which of them have
//! anything to do: in a busy drain, usually none.

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::audit::append_audit;
use super::fence::{bind_fence, fenced, Fence, PerDialect};
use super::logs::{insert_logs, NewLog};
use super::retention::by_last_change;
use super::{on_pool, on_read_pool, AuditEntry, Db, StoreError};
use crate::model::LogLevel;

/// Each chore's rows, written once for its write and for [`CHORES_DUE`]:
/// the argument is the placeholder of the value it compares with.
///
/// Left RUNNING by a term before `$epoch`'s.
macro_rules! rescuable {
    ($epoch:literal) => {
        concat!("status = 'RUNNING' AND (lease_epoch IS NULL OR lease_epoch < ", $epoch, ")")
    };
}
/// Waiting for approval since `$asked` or earlier, not yet warned of in this wait.
macro_rules! unwarned {
    ($asked:literal) => {
        concat!(
            "status = 'AWAITING_APPROVAL' AND ",
            by_last_change!(),
            " AND updated_at_utc <= ",
            $asked,
            " AND (expiry_warned_at_utc IS NULL OR expiry_warned_at_utc < updated_at_utc)"
        )
    };
}
/// Past their deadline at `$now`, not yet sent.
macro_rules! past_deadline {
    ($now:literal) => {
        concat!(
            "not_after_utc IS NOT NULL AND not_after_utc <= ",
            $now,
            " AND status IN ('PENDING', 'RETRY', 'AWAITING_APPROVAL')"
        )
    };
}
/// Asked for approval at or before `$asked` and never answered.
macro_rules! unanswered {
    ($asked:literal) => {
        concat!("status = 'AWAITING_APPROVAL' AND ", by_last_change!(), " AND updated_at_utc <= ", $asked)
    };
}

/// The actions that have a deadline, as a statement's table: SQLite is held
/// to its index of them. It has no statistics unless asked to gather them,
/// and without them it read every queued action through the status index
/// instead, at every tick (2-9 ms with 20,000 queued).
macro_rules! with_deadline {
    (sqlite) => {
        "aol_actions INDEXED BY aol_actions_deadline_idx"
    };
    (postgres) => {
        "aol_actions"
    };
}

/// Which chores have rows: `$1` the term's epoch, `$2` now, `$3` and `$4`
/// the warning's and the expiry's "asked at or before". Index lookups each.
macro_rules! chores_due {
    ($db:ident) => {
        concat!(
            "SELECT EXISTS (SELECT 1 FROM aol_actions WHERE ",
            rescuable!("$1"),
            "), EXISTS (SELECT 1 FROM aol_actions WHERE ",
            unwarned!("$3"),
            "), EXISTS (SELECT 1 FROM ",
            with_deadline!($db),
            " WHERE ",
            past_deadline!("$2"),
            ") OR EXISTS (SELECT 1 FROM aol_actions WHERE ",
            unanswered!("$4"),
            ")"
        )
    };
}
pub(super) const CHORES_DUE: PerDialect = PerDialect { sqlite: chores_due!(sqlite), postgres: chores_due!(postgres) };
/// Actions left RUNNING by an earlier term go back to RETRY (or DLQ when their
/// attempts are used up); the attempt they were on counts. One whose REAL
/// request had started to leave may have been posted: it becomes UNCONFIRMED.
const RESCUE: PerDialect = fenced!(
    concat!(
        "UPDATE aol_actions SET status = CASE WHEN sent_at_utc IS NOT NULL THEN 'UNCONFIRMED' \
           WHEN attempts >= $5 THEN 'DLQ' ELSE 'RETRY' END, \
         last_error = CASE WHEN sent_at_utc IS NOT NULL THEN $7 ELSE $6 END, not_before_utc = $4, updated_at_utc = $4 \
         WHERE ",
        rescuable!("$3")
    ),
    "RETURNING id, status"
);
/// Marks the posts [`unwarned`] since `$5` as warned at `$4`.
const WARN_EXPIRING: PerDialect = fenced!(
    concat!("UPDATE aol_actions SET expiry_warned_at_utc = $4 WHERE ", unwarned!("$5")),
    "RETURNING id, updated_at_utc"
);
/// Past their deadline: never sent (`$5` the reason).
macro_rules! expire_late {
    ($db:ident) => {
        fenced!(
            concat!(
                "UPDATE ",
                with_deadline!($db),
                " SET status = 'EXPIRED', last_error = $5, updated_at_utc = $4 WHERE ",
                past_deadline!("$4")
            ),
            "RETURNING id"
        )
    };
}
pub(super) const EXPIRE_LATE: PerDialect =
    PerDialect { sqlite: expire_late!(sqlite).sqlite, postgres: expire_late!(postgres).postgres };
/// Asked for approval at or before `$6` and never answered (`$5` the reason).
const EXPIRE_UNANSWERED: PerDialect = fenced!(
    concat!(
        "UPDATE aol_actions SET status = 'EXPIRED', last_error = $5, updated_at_utc = $4 WHERE ",
        unanswered!("$6")
    ),
    "RETURNING id"
);

/// Which of a tick's chores have anything to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chores {
    /// Actions an earlier term left RUNNING ([`Db::actions_rescue`]).
    pub rescue: bool,
    /// Approvals to warn about ([`Db::actions_warn_expiring`]).
    pub warn: bool,
    /// Actions to expire ([`Db::actions_expire`]).
    pub expire: bool,
}

impl Db {
    /// Which chores have rows for the term of `epoch` at `now`, the warning
    /// for approvals asked at or before `warn_before`, expiry for those
    /// asked at or before `asked_before`. Only reads: no lock, no commit.
    pub async fn chores_due(
        &self,
        epoch: i64,
        now: DateTime<Utc>,
        warn_before: DateTime<Utc>,
        asked_before: DateTime<Utc>,
    ) -> Result<Chores, StoreError> {
        let sql = CHORES_DUE.on(self.dialect());
        on_read_pool!(self, |conn| {
            let (rescue, warn, expire): (bool, bool, bool) = sqlx::query_as(sql)
                .bind(epoch)
                .bind(now)
                .bind(warn_before)
                .bind(asked_before)
                .fetch_one(&mut *conn)
                .await?;
            Ok(Chores { rescue, warn, expire })
        })
    }

    /// Returns actions left RUNNING by earlier terms to the queue (or to
    /// UNCONFIRMED, see [`RESCUE`]); their ids.
    pub async fn actions_rescue(&self, fence: &Fence<'_>, max_attempts: i64) -> Result<Vec<i64>, StoreError> {
        let reason =
            format!("rescued: the daemon running it stopped before finishing (rescued by lease epoch {})", fence.epoch);
        let unconfirmed = format!(
            "unconfirmed: the daemon stopped while a REAL request was leaving (found by lease epoch {}); \
             it may have been posted, so it is not sent again by itself",
            fence.epoch
        );
        on_pool!(self, RESCUE, |conn, sql| {
            let mut tx = conn.begin().await?;
            let rescued: Vec<(i64, String)> = bind_fence!(sqlx::query_as(sql), fence)
                .bind(max_attempts)
                .bind(reason.as_str())
                .bind(unconfirmed.as_str())
                .fetch_all(&mut *tx)
                .await?;
            let (back, unsure) = (
                NewLog::new(LogLevel::Warning, reason.as_str()).event("rescued", None),
                NewLog::new(LogLevel::Error, unconfirmed.as_str()).event("unconfirmed", None),
            );
            let lines: Vec<(i64, &NewLog)> = rescued
                .iter()
                .map(|(id, status)| (*id, if status == "UNCONFIRMED" { &unsure } else { &back }))
                .collect();
            insert_logs!(&mut *tx, fence.now, Some(fence.epoch), lines).await?;
            tx.commit().await?;
            Ok(rescued.into_iter().map(|(id, _)| id).collect())
        })
    }

    /// Marks the posts waiting for approval since `asked_before` or earlier
    /// (once per wait) and records `approval_expiring` for each, with when
    /// it expires (`ttl` after it was asked): its notification. Their ids.
    pub async fn actions_warn_expiring(
        &self,
        fence: &Fence<'_>,
        asked_before: DateTime<Utc>,
        ttl: chrono::TimeDelta,
    ) -> Result<Vec<i64>, StoreError> {
        on_pool!(self, WARN_EXPIRING, |conn, sql| {
            let mut tx = conn.begin().await?;
            let warned: Vec<(i64, DateTime<Utc>)> =
                bind_fence!(sqlx::query_as(sql), fence).bind(asked_before).fetch_all(&mut *tx).await?;
            let events: Vec<AuditEntry> = warned
                .iter()
                .map(|(id, asked)| {
                    let data = serde_json::json!({"expires_at": (*asked + ttl).to_rfc3339()});
                    AuditEntry::new("aol:daemon", Some(*id), "approval_expiring", data)
                })
                .collect();
            append_audit!(tx, fence.now, &events).await?;
            tx.commit().await?;
            Ok(warned.into_iter().map(|(id, _)| id).collect())
        })
    }

    /// Ends, as EXPIRED, the actions that can no longer be sent: past their
    /// deadline, or waiting for an approval asked before `asked_before`. Each
    /// gets a log line with the reason; their ids.
    pub async fn actions_expire(&self, fence: &Fence<'_>, asked_before: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        let late = NewLog::new(LogLevel::Warning, "expired: past its deadline (not_after), so it was not sent")
            .event("expired", None);
        let unanswered = NewLog::new(
            LogLevel::Warning,
            format!(
                "expired: no approval or rejection since it was asked for (at or before {}), so it was not sent",
                asked_before.to_rfc3339()
            ),
        )
        .event("expired", None);
        let (late_sql, unanswered_sql) = (EXPIRE_LATE.on(self.dialect()), EXPIRE_UNANSWERED.on(self.dialect()));
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let past: Vec<i64> = bind_fence!(sqlx::query_scalar(late_sql), fence)
                .bind(late.message.as_str())
                .fetch_all(&mut *tx)
                .await?;
            let unasked: Vec<i64> = bind_fence!(sqlx::query_scalar(unanswered_sql), fence)
                .bind(unanswered.message.as_str())
                .bind(asked_before)
                .fetch_all(&mut *tx)
                .await?;
            let lines: Vec<(i64, &NewLog)> =
                past.iter().map(|id| (*id, &late)).chain(unasked.iter().map(|id| (*id, &unanswered))).collect();
            insert_logs!(&mut *tx, fence.now, Some(fence.epoch), lines).await?;
            tx.commit().await?;
            Ok(past.into_iter().chain(unasked).collect())
        })
    }
}
