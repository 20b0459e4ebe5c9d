//! `aol_actions`: the operator's changes and the send gate's marks (reads
//! are in `action_reads`, the enqueue's inserts in `enqueue`). What the
//! daemon's attempts write (claims, results) is in `attempts`; all are
//! fenced by the lease (see `fence`).

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::action_reads::cols;
use super::audit::append_audit;
use super::durable::on_disk;
use super::fence::{bind_fence, fenced, Fence, PerDialect};
use super::logs::{insert_logs, NewLog};
use super::{on_pool, on_read_pool, AuditEntry, Db, StoreError};
use crate::model::Action;

/// Records that a REAL request is about to leave, while the action is this term's.
const MARK_SENDING: PerDialect = fenced!(
    "UPDATE aol_actions SET sent_at_utc = $4, prepared_sha256 = $6, first_sent_at_utc = COALESCE(first_sent_at_utc, $4) \
     WHERE id = $5 AND status = 'RUNNING' AND lease_epoch = $3",
    "RETURNING id"
);
/// Uses approval `$1` for action `$3`'s request `$4` at `$2`: once, unexpired, unvoided.
const USE_APPROVAL: &str = "UPDATE aol_approvals SET used_at_utc = $2 WHERE id = $1 AND action_id = $3 \
     AND prepared_sha256 = $4 AND decision = 'approved' AND used_at_utc IS NULL AND voided_at_utc IS NULL \
     AND expires_at_utc > $2";
/// One REAL request out on a channel (what its rate limits count).
const INSERT_SEND: &str = "INSERT INTO aol_channel_sends (channel, action_id, sent_at_utc) VALUES ($1, $2, $3)";
/// The request an action waits for approval of, while the action is this term's.
const SET_PREPARED: PerDialect = fenced!(
    "UPDATE aol_actions SET prepared_sha256 = $6 WHERE id = $5 AND status = 'RUNNING' AND lease_epoch = $3",
    "RETURNING id"
);
/// The request may have reached the platform (the first time counts), while
/// the action is this term's.
const SET_REACHED: PerDialect = fenced!(
    "UPDATE aol_actions SET reached_at_utc = COALESCE(reached_at_utc, $4) \
     WHERE id = $5 AND status = 'RUNNING' AND lease_epoch = $3",
    "RETURNING id"
);
/// What was looked up for the request of action `$1` (payload `$2`), kept
/// once: a second lookup, or one made for a payload since edited, keeps nothing.
const SET_FACTS: &str =
    "UPDATE aol_actions SET facts_json = $3 WHERE id = $1 AND payload_json = $2 AND facts_json IS NULL";
const FACTS: &str = "SELECT facts_json FROM aol_actions WHERE id = $1 AND payload_json = $2";
/// A channel's queued actions due before `$2` wait until `$2`.
const QUEUE_WAIT: &str = "UPDATE aol_actions SET not_before_utc = $2 \
     WHERE channel = $1 AND status IN ('PENDING', 'RETRY') AND not_before_utc < $2";
/// Records the post the platform made, while the action is this term's.
const SET_REMOTE: PerDialect = fenced!(
    "UPDATE aol_actions SET remote_id = $6, remote_url = $7 \
     WHERE id = $5 AND status = 'RUNNING' AND lease_epoch = $3",
    "RETURNING id"
);

/// Actions waiting for approval, on a channel that exists, whose requests
/// have not been built once.
const AWAITING_LOOKUP: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM aol_actions WHERE status = 'AWAITING_APPROVAL' AND facts_json IS NULL \
     AND channel IN (SELECT name FROM aol_channels) ORDER BY id LIMIT $1"
);
/// UNCONFIRMED actions due for a check against their platform.
const UNCONFIRMED_DUE: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM aol_actions WHERE status = 'UNCONFIRMED' AND not_before_utc <= $1 ORDER BY not_before_utc, id LIMIT $2"
);
/// An UNCONFIRMED action found posted (by reading it back, or an operator's word).
const RESOLVE_POSTED: &str = concat!(
    "UPDATE aol_actions SET status = 'SUCCESS', last_error = NULL, remote_id = COALESCE($3, remote_id), \
     remote_url = COALESCE($4, remote_url), updated_at_utc = $2 WHERE id = $1 AND status = 'UNCONFIRMED' RETURNING ",
    cols!()
);
/// An UNCONFIRMED action found not posted: to be sent again, now (what an
/// earlier request may have left on the platform no longer counts).
const RESOLVE_RESEND: &str = concat!(
    "UPDATE aol_actions SET status = 'RETRY', not_before_utc = $2, updated_at_utc = $2, sent_at_utc = NULL, \
       reached_at_utc = NULL \
     WHERE id = $1 AND status = 'UNCONFIRMED' RETURNING ",
    cols!()
);
/// An UNCONFIRMED action that could not be checked: look again at `$2`.
const RECHECK_AT: &str = "UPDATE aol_actions SET not_before_utc = $2 WHERE id = $1 AND status = 'UNCONFIRMED'";

const REQUEUE: &str = concat!(
    "UPDATE aol_actions SET status = 'PENDING', attempts = 0, not_before_utc = $2, updated_at_utc = $2 \
     WHERE id = $1 AND status IN ('FAILED', 'DLQ') RETURNING ",
    cols!()
);
const CANCEL: &str = concat!(
    "UPDATE aol_actions SET status = 'CANCELLED', updated_at_utc = $2 \
     WHERE id = $1 AND status IN ('PENDING', 'RETRY') RETURNING ",
    cols!()
);

/// What became of an UNCONFIRMED action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// It is on the platform (found there, or an operator says so).
    Posted { remote_id: Option<String>, remote_url: Option<String> },
    /// It is not: send it again.
    SendAgain,
}

/// A REAL request about to leave (see [`Db::action_mark_sending`]).
#[derive(Clone, Debug)]
pub struct Sending<'a> {
    pub id: i64,
    pub sha256: &'a str,
    /// The approval this send uses up, when its policy wants one.
    pub approval: Option<i64>,
    pub channel: Option<&'a str>,
}

/// What marking a send did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marked {
    Marked,
    /// The action is not this term's (any more): send nothing.
    NotMine,
    /// The approval was used, voided or expired meanwhile: send nothing.
    ApprovalGone,
}

/// An operator's change to an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// FAILED or DLQ → PENDING with its attempts reset.
    Requeue,
    /// PENDING or RETRY → CANCELLED.
    Cancel,
}

impl Db {
    /// Records, under this term, that a REAL request with this SHA-256 is
    /// about to leave for action `id` on `channel`, using up `approval` (an
    /// approval is used once) and counting the send against the channel's
    /// rate limits; all or nothing, and on disk when it returns (the request
    /// leaves next: `durable.rs`).
    pub async fn action_mark_sending(&self, fence: &Fence<'_>, sending: &Sending<'_>) -> Result<Marked, StoreError> {
        on_pool!(self, MARK_SENDING, |conn, sql| {
            on_disk!(conn, |tx| {
                let marked: Option<i64> = bind_fence!(sqlx::query_scalar(sql), fence)
                    .bind(sending.id)
                    .bind(sending.sha256)
                    .fetch_optional(&mut *tx)
                    .await?;
                if marked.is_none() {
                    return Ok(Marked::NotMine);
                }
                if let Some(approval) = sending.approval {
                    let used = sqlx::query(USE_APPROVAL)
                        .bind(approval)
                        .bind(fence.now)
                        .bind(sending.id)
                        .bind(sending.sha256)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if used != 1 {
                        return Ok(Marked::ApprovalGone);
                    }
                }
                if let Some(channel) = sending.channel {
                    sqlx::query(INSERT_SEND).bind(channel).bind(sending.id).bind(fence.now).execute(&mut *tx).await?;
                }
                let data = serde_json::json!({
                    "sha256": sending.sha256, "channel": sending.channel, "approval": sending.approval, "epoch": fence.epoch,
                });
                let event = AuditEntry::new("aol:daemon", Some(sending.id), "request_sent", data);
                append_audit!(tx, fence.now, std::slice::from_ref(&event)).await?;
                tx.commit().await?;
                Ok::<_, StoreError>(Marked::Marked)
            })
        })
    }

    /// Records, under this term, that a REAL request of action `id` may have
    /// reached its platform at `fence.now` (kept if an earlier one did).
    pub async fn action_set_reached(&self, fence: &Fence<'_>, id: i64) -> Result<bool, StoreError> {
        on_pool!(self, SET_REACHED, |conn, sql| {
            let set: Option<i64> =
                bind_fence!(sqlx::query_scalar(sql), fence).bind(id).fetch_optional(&mut *conn).await?;
            Ok(set.is_some())
        })
    }

    /// Keeps what was looked up for action `id`'s request, unless something
    /// is kept already or its payload is no longer `payload_json`; what is
    /// kept now (`None`: the payload changed).
    pub async fn action_keep_facts(
        &self,
        id: i64,
        payload_json: &str,
        facts_json: &str,
    ) -> Result<Option<String>, StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(SET_FACTS).bind(id).bind(payload_json).bind(facts_json).execute(&mut *conn).await?;
            let kept: Option<Option<String>> =
                sqlx::query_scalar(FACTS).bind(id).bind(payload_json).fetch_optional(&mut *conn).await?;
            Ok(kept.flatten())
        })
    }

    /// Records the request prepared for action `id` (one that waits for an
    /// approval of exactly these bytes), under this term.
    pub async fn action_set_prepared(&self, fence: &Fence<'_>, id: i64, sha256: &str) -> Result<bool, StoreError> {
        on_pool!(self, SET_PREPARED, |conn, sql| {
            let set: Option<i64> =
                bind_fence!(sqlx::query_scalar(sql), fence).bind(id).bind(sha256).fetch_optional(&mut *conn).await?;
            Ok(set.is_some())
        })
    }

    /// Moves the due actions of `channel` that would go out before `at` to
    /// `at`, in their order, when the channel may not post before then (its
    /// rate limit, or its platform asked to wait): they are not claimed only to
    /// be put off one by one. Attempts are not touched.
    pub async fn channel_queue_wait(&self, channel: &str, at: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query(QUEUE_WAIT)
            .bind(channel)
            .bind(at)
            .execute(&mut *conn)
            .await?
            .rows_affected()))
    }

    /// Records the post a platform made for action `id`, under this term.
    pub async fn action_set_remote(
        &self,
        fence: &Fence<'_>,
        id: i64,
        remote_id: &str,
        remote_url: Option<&str>,
    ) -> Result<bool, StoreError> {
        on_pool!(self, SET_REMOTE, |conn, sql| {
            let set: Option<i64> = bind_fence!(sqlx::query_scalar(sql), fence)
                .bind(id)
                .bind(remote_id)
                .bind(remote_url)
                .fetch_optional(&mut *conn)
                .await?;
            Ok(set.is_some())
        })
    }

    /// Actions waiting for approval whose requests were never built (what
    /// they need looked up is not kept yet), oldest first.
    pub async fn actions_awaiting_lookup(&self, limit: i64) -> Result<Vec<Action>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(AWAITING_LOOKUP).bind(limit).fetch_all(&mut *conn).await?))
    }

    /// UNCONFIRMED actions whose next check is due at `now`, oldest first.
    pub async fn actions_unconfirmed_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Action>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(UNCONFIRMED_DUE)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?))
    }

    /// Resolves an UNCONFIRMED action, with its log line; `None` if it is not
    /// UNCONFIRMED (any more): nothing written.
    pub async fn action_resolve(
        &self,
        id: i64,
        resolution: &Resolution,
        now: DateTime<Utc>,
        log: &NewLog,
    ) -> Result<Option<Action>, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let updated: Option<Action> = match resolution {
                Resolution::Posted { remote_id, remote_url } => {
                    sqlx::query_as(RESOLVE_POSTED)
                        .bind(id)
                        .bind(now)
                        .bind(remote_id.as_deref())
                        .bind(remote_url.as_deref())
                        .fetch_optional(&mut *tx)
                        .await?
                }
                Resolution::SendAgain => {
                    sqlx::query_as(RESOLVE_RESEND).bind(id).bind(now).fetch_optional(&mut *tx).await?
                }
            };
            if updated.is_some() {
                insert_logs!(&mut *tx, now, None::<i64>, [(id, log)]).await?;
            }
            tx.commit().await?;
            Ok(updated)
        })
    }

    /// Puts off the next check of an UNCONFIRMED action until `at`.
    pub async fn action_recheck_at(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(RECHECK_AT).bind(id).bind(at).execute(&mut *conn).await?;
            Ok(())
        })
    }

    /// An operator's re-queue or cancel, with its log line. `None` when the
    /// action is not in a status that allows it (nothing written).
    pub async fn action_operator_change(
        &self,
        id: i64,
        change: Requeue,
        now: DateTime<Utc>,
        log: &NewLog,
    ) -> Result<Option<Action>, StoreError> {
        let sql = match change {
            Requeue::Requeue => REQUEUE,
            Requeue::Cancel => CANCEL,
        };
        on_pool!(self, |conn| {
            // An operator's decision: on disk before it returns (durable.rs).
            on_disk!(conn, |tx| {
                let updated: Option<Action> = sqlx::query_as(sql).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                if updated.is_some() {
                    insert_logs!(&mut *tx, now, None::<i64>, [(id, log)]).await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(updated)
            })
        })
    }
}
