//! `aol_approvals`, and the changes of an action that decisions and edits
//! make: each written with its approval row and its log line in one
//! transaction, and each only from the status that allows it.

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::blobs::insert_action_media;
use super::durable::on_disk;
use super::logs::{insert_logs, NewLog};
use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::{Action, Approval};

macro_rules! approval_cols {
    () => {
        "id, action_id, decision, prepared_sha256, channel, decided_by, reason, decided_at_utc, expires_at_utc, \
         used_at_utc, voided_at_utc"
    };
}

const FOR_ACTION: &str = concat!("SELECT ", approval_cols!(), " FROM aol_approvals WHERE action_id = $1 ORDER BY id");
const INSERT: &str = "INSERT INTO aol_approvals (action_id, decision, prepared_sha256, channel, decided_by, reason, \
     decided_at_utc, expires_at_utc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// The approved action goes back to the queue, not before its schedule. The
/// payload must still be the one the decision was made on.
const APPROVE: &str = concat!(
    "UPDATE aol_actions SET status = 'PENDING', not_before_utc = CASE WHEN scheduled_for_utc > $2 \
       THEN scheduled_for_utc ELSE $2 END, last_error = NULL, updated_at_utc = $2 \
     WHERE id = $1 AND status = 'AWAITING_APPROVAL' AND payload_json = $3 RETURNING ",
    crate::storage::action_reads::cols!()
);
/// A first approval of two: the action stays AWAITING_APPROVAL (the row is
/// touched so that concurrent decisions on it are taken one at a time).
const HOLD: &str = concat!(
    "UPDATE aol_actions SET updated_at_utc = $2 \
     WHERE id = $1 AND status = 'AWAITING_APPROVAL' AND payload_json = $3 RETURNING ",
    crate::storage::action_reads::cols!()
);
/// Approvals of this request by others that still hold.
const OTHERS_APPROVALS: &str = "SELECT COUNT(*) FROM aol_approvals WHERE action_id = $1 AND decision = 'approved' \
     AND prepared_sha256 = $2 AND decided_by <> $3 AND used_at_utc IS NULL AND voided_at_utc IS NULL \
     AND expires_at_utc > $4";
const REJECT: &str = concat!(
    "UPDATE aol_actions SET status = 'CANCELLED', last_error = $4, updated_at_utc = $2 \
     WHERE id = $1 AND status = 'AWAITING_APPROVAL' AND payload_json = $3 RETURNING ",
    crate::storage::action_reads::cols!()
);
/// A new payload (and channel) for an action not yet running, admitted again
/// (`$5`: PENDING or AWAITING_APPROVAL; `$6`: its policy).
/// Never once a request of it has left: the platform may hold that post.
const EDIT: &str = concat!(
    "UPDATE aol_actions SET payload_json = $3, channel = $4, status = $5, policy = $6, prepared_sha256 = NULL, \
       facts_json = NULL, last_error = NULL, updated_at_utc = $2, edited_by = $7 \
     WHERE id = $1 AND status IN ('PENDING', 'RETRY', 'AWAITING_APPROVAL') AND first_sent_at_utc IS NULL RETURNING ",
    crate::storage::action_reads::cols!()
);
const FORGET_MEDIA: &str = "DELETE FROM aol_action_media WHERE action_id = $1";
const VOID: &str = "UPDATE aol_approvals SET voided_at_utc = $2 \
     WHERE action_id = $1 AND decision = 'approved' AND used_at_utc IS NULL AND voided_at_utc IS NULL";

/// An operator's decision, as it is recorded.
#[derive(Clone, Debug)]
pub struct Decision<'a> {
    pub approved: bool,
    /// The payload the decision was made on: it holds only if unchanged.
    pub payload_json: &'a str,
    pub prepared_sha256: &'a str,
    pub channel: &'a str,
    pub decided_by: &'a str,
    pub reason: Option<&'a str>,
    pub expires_at_utc: DateTime<Utc>,
    /// How many approvals by different people release the action (1 or 2).
    pub approvals_needed: i64,
}

/// What a decision did.
#[derive(Clone, Debug)]
pub enum Decided {
    /// Approved (enough approvals: back in the queue) or rejected.
    Done(Action),
    /// An approval recorded; the action still waits for another person's.
    Held(Action),
}

/// A new payload for an action, as checked and admitted by the engine.
#[derive(Clone, Debug)]
pub struct Edit<'a> {
    pub payload_json: &'a str,
    pub channel: Option<&'a str>,
    /// PENDING or AWAITING_APPROVAL.
    pub status: &'static str,
    pub policy: Option<&'static str>,
    /// The stored files the new payload names (SHA-256 each).
    pub media: &'a [String],
    /// Who changed it, as the records name them.
    pub edited_by: &'a str,
}

impl Db {
    /// Every decision on an action, oldest first.
    pub async fn approvals_for(&self, action_id: i64) -> Result<Vec<Approval>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(FOR_ACTION).bind(action_id).fetch_all(&mut *conn).await?))
    }

    /// Records an operator's decision on an action AWAITING_APPROVAL whose
    /// payload is still `decision.payload_json`: approved → PENDING, rejected
    /// → CANCELLED. An approval short of the approvals needed is recorded
    /// and the action keeps waiting (`held`, its log line). `None`: it is
    /// not AWAITING_APPROVAL (any more); nothing written.
    pub async fn action_decide(
        &self,
        id: i64,
        decision: &Decision<'_>,
        now: DateTime<Utc>,
        log: &NewLog,
        held: &NewLog,
    ) -> Result<Option<Decided>, StoreError> {
        let rejected = (!decision.approved)
            .then(|| format!("rejected by {}{}", decision.decided_by, crate::model::reason_suffix(decision.reason)));
        on_pool!(self, |conn| {
            // An operator's decision: on disk before it returns (durable.rs).
            on_disk!(conn, |tx| {
                let mut log = log;
                let updated: Option<Decided> = match &rejected {
                    Some(error) => {
                        let q = sqlx::query_as(REJECT).bind(id).bind(now).bind(decision.payload_json).bind(error);
                        q.fetch_optional(&mut *tx).await?.map(Decided::Done)
                    }
                    None => {
                        let q = sqlx::query_as(HOLD).bind(id).bind(now).bind(decision.payload_json);
                        match q.fetch_optional(&mut *tx).await? {
                            None => None,
                            Some(waiting) => {
                                let others: i64 = sqlx::query_scalar(OTHERS_APPROVALS)
                                    .bind(id)
                                    .bind(decision.prepared_sha256)
                                    .bind(decision.decided_by)
                                    .bind(now)
                                    .fetch_one(&mut *tx)
                                    .await?;
                                if others + 1 >= decision.approvals_needed {
                                    let q = sqlx::query_as(APPROVE).bind(id).bind(now).bind(decision.payload_json);
                                    q.fetch_optional(&mut *tx).await?.map(Decided::Done)
                                } else {
                                    log = held;
                                    Some(Decided::Held(waiting))
                                }
                            }
                        }
                    }
                };
                if updated.is_some() {
                    sqlx::query(INSERT)
                        .bind(id)
                        .bind(if decision.approved { "approved" } else { "rejected" })
                        .bind(decision.prepared_sha256)
                        .bind(decision.channel)
                        .bind(decision.decided_by)
                        .bind(decision.reason)
                        .bind(now)
                        .bind(decision.expires_at_utc)
                        .execute(&mut *tx)
                        .await?;
                    insert_logs!(&mut *tx, now, None::<i64>, [(id, log)]).await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(updated)
            })
        })
    }

    /// Gives an action not yet running a new payload; its approvals not yet
    /// used are voided. `None`: it is running or finished; nothing written.
    pub async fn action_edit(
        &self,
        id: i64,
        edit: &Edit<'_>,
        now: DateTime<Utc>,
        log: &NewLog,
    ) -> Result<Option<Action>, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let updated: Option<Action> = sqlx::query_as(EDIT)
                .bind(id)
                .bind(now)
                .bind(edit.payload_json)
                .bind(edit.channel)
                .bind(edit.status)
                .bind(edit.policy)
                .bind(edit.edited_by)
                .fetch_optional(&mut *tx)
                .await?;
            if updated.is_some() {
                sqlx::query(VOID).bind(id).bind(now).execute(&mut *tx).await?;
                sqlx::query(FORGET_MEDIA).bind(id).execute(&mut *tx).await?;
                let pairs: Vec<(i64, &str)> = edit.media.iter().map(|sha| (id, sha.as_str())).collect();
                insert_action_media!(&mut *tx, &pairs).await?;
                insert_logs!(&mut *tx, now, None::<i64>, [(id, log)]).await?;
            }
            tx.commit().await?;
            Ok(updated)
        })
    }
}
