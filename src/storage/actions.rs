//! `aol_actions`: the queue. Claims and results are fenced by the lease (see
//! `fence`); each result is written together with its log line, or not at all.

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::audit::append_audit;
use super::blobs::{insert_action_media, insert_artifacts};
use super::fence::{bind_fence, fenced, lease_check, Fence, PerDialect, LEASE_CHECK};
use super::logs::{insert_logs, NewLog, INSERT_HEAD};
use super::{group_rows, on_pool, on_read_pool, AuditEntry, Db, Pool, StoreError};
use crate::model::{Action, ActionFilter, LogLevel, StatusCount};

macro_rules! cols {
    () => {
        "id, idempotency_key, action_type, payload_json, status, attempts, not_before_utc, last_error, \
         created_at_utc, updated_at_utc, lease_epoch, prepared_sha256, remote_id, remote_url, channel, \
         scheduled_for_utc, not_after_utc, policy, facts_json, first_sent_at_utc, reached_at_utc, enqueued_by, \
         edited_by, time_zone"
    };
}
pub(super) use cols;

/// How many actions one INSERT statement carries (10 parameters each; both
/// databases allow far more parameters than this takes).
pub const INSERT_CHUNK: usize = 500;
/// A multi-row INSERT: `VALUES` columns are `column1`… on both databases.
const INSERT_MANY_HEAD: &str = "INSERT INTO aol_actions (idempotency_key, action_type, payload_json, status, \
     attempts, not_before_utc, created_at_utc, updated_at_utc, channel, scheduled_for_utc, not_after_utc, policy, \
     enqueued_by, time_zone) SELECT v.column1, v.column2, v.column3, v.column6, 0, v.column4, v.column5, v.column5, \
     v.column7, v.column8, v.column9, v.column10, v.column11, v.column12 FROM (";
const INSERT_MANY_TAIL: &str = concat!(
    ") AS v WHERE NOT EXISTS (SELECT 1 FROM aol_retired_keys r WHERE r.idempotency_key = v.column1) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING ",
    cols!()
);
pub(super) const BY_KEYS: &str = concat!("SELECT ", cols!(), " FROM aol_actions WHERE idempotency_key IN ");
pub(super) const RETIRED_IN: &str = "SELECT idempotency_key, action_id, status, finished_at_utc, retired_at_utc \
     FROM aol_retired_keys WHERE idempotency_key IN ";
const DELETE_BY_ID: &str = "DELETE FROM aol_actions WHERE id = $1";
const BY_KEY: &str = concat!("SELECT ", cols!(), " FROM aol_actions WHERE idempotency_key = $1");
const BY_ID: &str = concat!("SELECT ", cols!(), " FROM aol_actions WHERE id = $1");

/// Due actions, oldest first, marked RUNNING under this term. PostgreSQL skips
/// rows another transaction is claiming, and gets the ids as an array so that
/// it looks each one up (with `IN (SELECT …)` it read the whole table to match
/// them: 45 ms for 1,000 among 50,000); SQLite runs one writer at a time.
macro_rules! claim_sql {
    ($open:literal, $close:literal) => {
        concat!(
            "UPDATE aol_actions SET status = 'RUNNING', attempts = attempts + 1, lease_epoch = $3, updated_at_utc = $4, \
             sent_at_utc = NULL WHERE id ",
            $open,
            "SELECT id FROM aol_actions WHERE status IN ('PENDING', 'RETRY') AND not_before_utc <= $4 \
             AND (not_after_utc IS NULL OR not_after_utc > $4) ORDER BY not_before_utc, id LIMIT $5",
            $close
        )
    };
}
const CLAIM: PerDialect = PerDialect {
    sqlite: fenced!(claim_sql!("IN (", ")"), concat!("RETURNING ", cols!())).sqlite,
    postgres: fenced!(claim_sql!("= ANY(ARRAY(", " FOR UPDATE SKIP LOCKED))"), concat!("RETURNING ", cols!())).postgres,
};

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
/// SQLite joins the results' VALUES list (followed by the lease check and
/// [`FINISH_TAIL`]).
const FINISH_SQLITE_HEAD: &str = concat!(finish_set!(), finish_values!(), ") FROM ");
const FINISH_SQLITE_WHERE: &str =
    " WHERE aol_actions.id = v.column1 AND aol_actions.status = 'RUNNING' AND aol_actions.lease_epoch = $3 ";
/// PostgreSQL finds the rows by id and each row's result by its place in the
/// arrays `$5`… (ids, kinds, errors, not_befores, max_attempts). Joining the
/// arrays instead made a plan that, with statistics stale after a bulk
/// enqueue, read all the results once per row (3 of 5 ms for 64 results).
const FINISH_POSTGRES: &str = concat!(
    finish_set!(),
    "SELECT ",
    finish_values!(),
    " FROM (SELECT ($6::text[])[i] AS column2, ($7::text[])[i] AS column3, ($8::timestamptz[])[i] AS column4, \
       ($9::bigint[])[i] AS column5 FROM array_position($5::bigint[], aol_actions.id) AS i) AS v) \
     WHERE aol_actions.id = ANY($5) AND aol_actions.status = 'RUNNING' AND aol_actions.lease_epoch = $3",
    lease_check!(" FOR SHARE"),
    "RETURNING ",
    cols!()
);
const FINISH_TAIL: &str = concat!("RETURNING ", cols!());
/// Log lines, `(action_id, level, message, artifact_ref, artifact_sha256)`
/// each, for actions this term is running.
const LOG_IF_MINE_HEAD: &str = "SELECT v.column1, $4, v.column2, v.column3, v.column4, v.column5, $3 FROM ";
/// Each line's action is looked up by id: a plan that joined the lines with
/// the RUNNING actions read all the lines once per action on PostgreSQL
/// (3 of a 64-line insert's 5 ms).
const LOG_IF_MINE_WHERE: &str =
    " WHERE (SELECT a.status = 'RUNNING' AND a.lease_epoch = $3 FROM aol_actions a WHERE a.id = v.column1) ";
/// The PostgreSQL types of a log line's five values (see [`group_rows`]).
const LOG_TYPES: [&str; 5] = ["bigint", "text", "text", "text", "text"];
/// Rows per multi-row result statement (five parameters each, after the fence's four).
const RESULT_CHUNK: usize = 500;
/// Actions left RUNNING by an earlier term go back to RETRY (or DLQ when their
/// attempts are used up); the attempt they were on counts. One whose REAL
/// request had started to leave may have been posted: it becomes UNCONFIRMED.
const RESCUE: PerDialect = fenced!(
    "UPDATE aol_actions SET status = CASE WHEN sent_at_utc IS NOT NULL THEN 'UNCONFIRMED' \
       WHEN attempts >= $5 THEN 'DLQ' ELSE 'RETRY' END, \
     last_error = CASE WHEN sent_at_utc IS NOT NULL THEN $7 ELSE $6 END, not_before_utc = $4, updated_at_utc = $4 \
     WHERE status = 'RUNNING' AND (lease_epoch IS NULL OR lease_epoch < $3)",
    "RETURNING id, status"
);
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
/// Past their deadline: never sent (`$5` the reason).
const EXPIRE_LATE: PerDialect = fenced!(
    "UPDATE aol_actions SET status = 'EXPIRED', last_error = $5, updated_at_utc = $4 \
     WHERE not_after_utc IS NOT NULL AND not_after_utc <= $4 AND status IN ('PENDING', 'RETRY', 'AWAITING_APPROVAL')",
    "RETURNING id"
);
/// Asked for approval at or before `$6` and never answered (`$5` the reason).
const EXPIRE_UNANSWERED: PerDialect = fenced!(
    "UPDATE aol_actions SET status = 'EXPIRED', last_error = $5, updated_at_utc = $4 \
     WHERE status = 'AWAITING_APPROVAL' AND updated_at_utc <= $6",
    "RETURNING id"
);
/// Posts waiting for approval since `$5` or earlier, not yet warned of in this wait.
const WARN_EXPIRING: PerDialect = fenced!(
    "UPDATE aol_actions SET expiry_warned_at_utc = $4 \
     WHERE status = 'AWAITING_APPROVAL' AND updated_at_utc <= $5 \
     AND (expiry_warned_at_utc IS NULL OR expiry_warned_at_utc < updated_at_utc)",
    "RETURNING id, updated_at_utc"
);
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

/// A validated action to insert.
#[derive(Clone, Debug)]
pub struct NewAction<'a> {
    pub idempotency_key: &'a str,
    pub action_type: &'a str,
    pub payload_json: &'a str,
    pub not_before_utc: DateTime<Utc>,
    /// PENDING, or AWAITING_APPROVAL when its policy wants a human yes first.
    pub status: &'static str,
    pub channel: Option<&'a str>,
    pub scheduled_for_utc: Option<DateTime<Utc>>,
    pub not_after_utc: Option<DateTime<Utc>>,
    /// `auto` or `require_approval` (see [`crate::model::Policy`]).
    pub policy: Option<&'static str>,
    /// The stored files its payload names (SHA-256 each): kept while it exists.
    pub media: &'a [String],
    /// Who enqueued it, as the records name them.
    pub enqueued_by: Option<&'a str>,
    /// The time zone its schedule was given in.
    pub time_zone: Option<&'a str>,
}

impl<'a> NewAction<'a> {
    /// PENDING from `not_before_utc`, with no channel, window or policy.
    pub fn pending(
        idempotency_key: &'a str,
        action_type: &'a str,
        payload_json: &'a str,
        not_before_utc: DateTime<Utc>,
    ) -> NewAction<'a> {
        NewAction {
            idempotency_key,
            action_type,
            payload_json,
            not_before_utc,
            status: "PENDING",
            channel: None,
            scheduled_for_utc: None,
            not_after_utc: None,
            policy: None,
            media: &[],
            enqueued_by: None,
            time_zone: None,
        }
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

/// What became of an insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    New(Action),
    /// The key was known: the action that has it.
    Existing(Action),
    /// The key belonged to an action that retention has removed: it is never
    /// used again.
    Retired(RetiredKey),
}

/// `head (k1, k2, …)`; with no keys, a list that matches nothing.
pub(super) fn keyed<'k, DB: sqlx::Database>(head: &str, keys: &[&'k str]) -> sqlx::QueryBuilder<'k, DB>
where
    &'k str: sqlx::Encode<'k, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::QueryBuilder::new(head);
    if keys.is_empty() {
        q.push("(NULL)");
        return q;
    }
    q.push("(");
    let mut list = q.separated(", ");
    for key in keys {
        list.push_bind(*key);
    }
    list.push_unseparated(")");
    q
}

/// The audit event of one item of an enqueue: added, or found (its key was
/// known), or refused (its key was retired).
fn enqueue_event(new: &NewAction<'_>, outcome: &Inserted) -> AuditEntry {
    let by = new.enqueued_by.unwrap_or("aol");
    let key = crate::model::shown_key(new.idempotency_key);
    match outcome {
        Inserted::New(a) => AuditEntry::new(
            by,
            Some(a.id),
            "enqueued",
            serde_json::json!({"key": key, "type": a.action_type, "status": a.status, "channel": a.channel,
                "policy": a.policy}),
        ),
        Inserted::Existing(a) => AuditEntry::new(by, Some(a.id), "enqueue_duplicate", serde_json::json!({"key": key})),
        Inserted::Retired(r) => AuditEntry::new(
            by,
            Some(r.action_id),
            "enqueue_refused",
            serde_json::json!({"key": key, "why": "the key was retired"}),
        ),
    }
}

impl Inserted {
    /// The new or existing action (none for a retired key).
    pub fn into_action(self) -> Option<Action> {
        match self {
            Inserted::New(a) | Inserted::Existing(a) => Some(a),
            Inserted::Retired(_) => None,
        }
    }
}

/// A row of `aol_retired_keys`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RetiredKey {
    pub idempotency_key: String,
    pub action_id: i64,
    pub status: String,
    pub finished_at_utc: DateTime<Utc>,
    pub retired_at_utc: DateTime<Utc>,
}

impl Db {
    /// Inserts a new action unless its key is known or retired.
    pub async fn action_insert(&self, new: &NewAction<'_>, now: DateTime<Utc>) -> Result<Inserted, StoreError> {
        let mut done = self.actions_insert(std::slice::from_ref(new), now).await?;
        Ok(done.pop().expect("one outcome per action"))
    }

    /// Inserts many actions in one transaction (each unless its key is known
    /// or retired); one outcome per action, in order. A few statements per
    /// [`INSERT_CHUNK`] actions, not per action.
    pub async fn actions_insert(
        &self,
        news: &[NewAction<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Inserted>, StoreError> {
        use std::collections::HashMap;
        if news.is_empty() {
            return Ok(Vec::new());
        }
        // One chunk's statements on `$conn`, its outcomes into `found`.
        macro_rules! insert_chunk {
            ($conn:expr, $chunk:expr, $found:expr) => {{
                let (chunk, found): (&[NewAction], &mut HashMap<String, Inserted>) = ($chunk, $found);
                let mut insert = sqlx::QueryBuilder::new(INSERT_MANY_HEAD);
                insert.push_values(chunk, |mut row, new| {
                    row.push_bind(new.idempotency_key)
                        .push_bind(new.action_type)
                        .push_bind(new.payload_json)
                        .push_bind(new.not_before_utc)
                        .push_bind(now)
                        .push_bind(new.status)
                        .push_bind(new.channel)
                        .push_bind(new.scheduled_for_utc)
                        .push_bind(new.not_after_utc)
                        .push_bind(new.policy)
                        .push_bind(new.enqueued_by)
                        .push_bind(new.time_zone);
                });
                insert.push(INSERT_MANY_TAIL);
                let inserted: Vec<Action> = insert.build_query_as().fetch_all(&mut *$conn).await?;
                let new_keys: Vec<&str> = inserted.iter().map(|a| a.idempotency_key.as_str()).collect();
                // On PostgreSQL a key retired by a concurrent transaction can
                // pass the insert's check; this second look sees it. SQLite
                // checks under its single write lock: nothing can slip in.
                let retired: Vec<RetiredKey> = if new_keys.is_empty() || self.dialect() == super::Dialect::Sqlite {
                    Vec::new()
                } else {
                    keyed(RETIRED_IN, &new_keys).build_query_as().fetch_all(&mut *$conn).await?
                };
                for r in &retired {
                    if let Some(a) = inserted.iter().find(|a| a.idempotency_key == r.idempotency_key) {
                        sqlx::query(DELETE_BY_ID).bind(a.id).execute(&mut *$conn).await?;
                    }
                }
                // The new actions' media, in the same transaction.
                if chunk.iter().any(|n| !n.media.is_empty()) {
                    let media: HashMap<&str, &[String]> = chunk.iter().map(|n| (n.idempotency_key, n.media)).collect();
                    let pairs: Vec<(i64, &str)> = inserted
                        .iter()
                        .filter(|a| !retired.iter().any(|r| r.idempotency_key == a.idempotency_key))
                        .flat_map(|a| {
                            let shas = media.get(a.idempotency_key.as_str()).copied().unwrap_or_default();
                            shas.iter().map(move |sha| (a.id, sha.as_str()))
                        })
                        .collect();
                    insert_action_media!($conn, &pairs).await?;
                }
                for r in retired {
                    found.insert(r.idempotency_key.clone(), Inserted::Retired(r));
                }
                for a in inserted {
                    found.entry(a.idempotency_key.clone()).or_insert(Inserted::New(a));
                }
                let missing: Vec<&str> =
                    chunk.iter().map(|n| n.idempotency_key).filter(|k| !found.contains_key(*k)).collect();
                if !missing.is_empty() {
                    let existing: Vec<Action> =
                        keyed(BY_KEYS, &missing).build_query_as().fetch_all(&mut *$conn).await?;
                    for a in existing {
                        found.insert(a.idempotency_key.clone(), Inserted::Existing(a));
                    }
                    let still: Vec<&str> = missing.into_iter().filter(|k| !found.contains_key(*k)).collect();
                    if !still.is_empty() {
                        let retired: Vec<RetiredKey> =
                            keyed(RETIRED_IN, &still).build_query_as().fetch_all(&mut *$conn).await?;
                        for r in retired {
                            found.insert(r.idempotency_key.clone(), Inserted::Retired(r));
                        }
                    }
                }
            }};
        }
        on_pool!(self, |conn| {
            let mut found: HashMap<String, Inserted> = HashMap::with_capacity(news.len());
            let mut tx = conn.begin().await?;
            for chunk in news.chunks(INSERT_CHUNK) {
                insert_chunk!(tx, chunk, &mut found);
            }
            // A key given twice: the first is the new action, the next ones find it.
            let mut outcomes = Vec::with_capacity(news.len());
            let mut events = Vec::with_capacity(news.len());
            for new in news {
                let Some(entry) = found.get_mut(new.idempotency_key) else {
                    return Err(StoreError::Corrupt(format!(
                        "idempotency key {:?} neither inserted, present nor retired",
                        new.idempotency_key
                    )));
                };
                outcomes.push(entry.clone());
                events.push(enqueue_event(new, entry));
                if let Inserted::New(a) = entry {
                    *entry = Inserted::Existing(a.clone());
                }
            }
            append_audit!(tx, now, &events).await?;
            tx.commit().await?;
            Ok(outcomes)
        })
    }

    pub async fn action_get(&self, id: i64) -> Result<Option<Action>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(BY_ID).bind(id).fetch_optional(&mut *conn).await?))
    }

    pub async fn action_by_key(&self, key: &str) -> Result<Option<Action>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(BY_KEY).bind(key).fetch_optional(&mut *conn).await?))
    }

    /// A page of actions, newest first. Each filter is an indexed equality and
    /// paging is by id (keyset), so a page costs the same at any table size.
    pub async fn actions_page(&self, filter: &ActionFilter, limit: i64) -> Result<Vec<Action>, StoreError> {
        on_read_pool!(self, |conn| {
            let mut q = sqlx::QueryBuilder::new(concat!("SELECT ", cols!(), " FROM aol_actions WHERE 1 = 1"));
            if let Some(status) = &filter.status {
                q.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(action_type) = &filter.action_type {
                q.push(" AND action_type = ").push_bind(action_type.as_str());
            }
            if let Some(key) = &filter.key {
                q.push(" AND idempotency_key = ").push_bind(key.as_str());
            }
            if let Some(before) = filter.before_id {
                q.push(" AND id < ").push_bind(before);
            }
            if let Some(by) = &filter.enqueued_by {
                q.push(" AND enqueued_by = ").push_bind(by.as_str());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
            Ok(q.build_query_as().fetch_all(&mut *conn).await?)
        })
    }

    /// The newest actions, optionally of one status.
    pub async fn actions_recent(&self, status: Option<&str>, limit: i64) -> Result<Vec<Action>, StoreError> {
        let filter = ActionFilter { status: status.map(str::to_string), ..ActionFilter::default() };
        self.actions_page(&filter, limit).await
    }

    /// Number of actions per status (statuses with none are absent).
    pub async fn action_counts(&self) -> Result<Vec<StatusCount>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(super::counters::STATUS_COUNTS).fetch_all(&mut *conn).await?))
    }

    /// Claims up to `limit` due actions for the term in `fence`, oldest due first.
    /// Empty when nothing is due or the term is no longer held.
    pub async fn actions_claim(&self, fence: &Fence<'_>, limit: i64) -> Result<Vec<Action>, StoreError> {
        on_pool!(self, CLAIM, |conn, sql| {
            let mut claimed: Vec<Action> =
                bind_fence!(sqlx::query_as(sql), fence).bind(limit).fetch_all(&mut *conn).await?;
            claimed.sort_by_key(|a| (a.not_before_utc, a.id));
            Ok(claimed)
        })
    }

    /// Writes how an attempt ended, with its log line, if the action is still
    /// RUNNING under this term. `None`: nothing was written (the lease was lost,
    /// or the action was rescued or changed meanwhile).
    pub async fn action_finish(
        &self,
        fence: &Fence<'_>,
        id: i64,
        finish: &Finish,
        log: &NewLog,
    ) -> Result<Option<Action>, StoreError> {
        Ok(self.actions_finish(fence, &[(id, finish, log)]).await?.pop())
    }

    /// Writes how many attempts ended, `(id, finish, log line)` each, at once
    /// (group commit: one transaction on SQLite, one statement on PostgreSQL). Returns the actions
    /// written, in no particular order; one that is missing was no longer
    /// RUNNING under this term and got neither its result nor its log line.
    pub async fn actions_finish(
        &self,
        fence: &Fence<'_>,
        results: &[(i64, &Finish, &NewLog)],
    ) -> Result<Vec<Action>, StoreError> {
        match &self.pool {
            Pool::Sqlite(writer) => {
                let mut conn = writer.lock().await?;
                let mut tx = conn.begin().await?;
                let mut written: Vec<Action> = Vec::with_capacity(results.len());
                for chunk in results.chunks(RESULT_CHUNK) {
                    let sql = finish_sqlite_sql(&group_rows::sqlite(5, chunk.len(), 5));
                    let mut query = bind_fence!(sqlx::query_as(&sql), fence);
                    for (id, finish, _) in chunk {
                        let (error, not_before, max_attempts) = finish.values();
                        query = query.bind(*id).bind(finish.kind()).bind(error).bind(not_before).bind(max_attempts);
                    }
                    let updated: Vec<Action> = query.fetch_all(&mut *tx).await?;
                    let lines = lines_of_written(chunk, &updated);
                    insert_artifacts!(&mut *tx, fence.now, &lines).await?;
                    insert_logs!(&mut *tx, fence.now, Some(fence.epoch), lines).await?;
                    written.extend(updated);
                }
                tx.commit().await?;
                Ok(written)
            }
            Pool::Postgres(pool) => {
                let values: Vec<_> = results.iter().map(|(_, finish, _)| finish.values()).collect();
                let ids: Vec<i64> = results.iter().map(|(id, _, _)| *id).collect();
                let mut tx = pool.begin().await?;
                let written: Vec<Action> = bind_fence!(sqlx::query_as(FINISH_AND_LOG_POSTGRES.as_str()), fence)
                    .bind(&ids)
                    .bind(results.iter().map(|(_, finish, _)| finish.kind()).collect::<Vec<&str>>())
                    .bind(values.iter().map(|v| v.0).collect::<Vec<Option<&str>>>())
                    .bind(values.iter().map(|v| v.1).collect::<Vec<Option<DateTime<Utc>>>>())
                    .bind(values.iter().map(|v| v.2).collect::<Vec<Option<i64>>>())
                    .bind(&ids)
                    .bind(results.iter().map(|(_, _, log)| log.level.as_str()).collect::<Vec<&str>>())
                    .bind(results.iter().map(|(_, _, log)| log.message.as_str()).collect::<Vec<&str>>())
                    .bind(results.iter().map(|(_, _, log)| log.artifact_ref.as_deref()).collect::<Vec<Option<&str>>>())
                    .bind(
                        results.iter().map(|(_, _, log)| log.artifact_sha256.as_deref()).collect::<Vec<Option<&str>>>(),
                    )
                    .fetch_all(&mut *tx)
                    .await?;
                let lines = lines_of_written(results, &written);
                insert_artifacts!(&mut *tx, fence.now, &lines).await?;
                // The results written are events of the audit trail, in the same transaction.
                let events: Vec<AuditEntry> =
                    lines.into_iter().map(|(id, log)| log.audit_entry(id, Some(fence.epoch))).collect();
                append_audit!(tx, fence.now, &events).await?;
                tx.commit().await?;
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
    /// running, in one statement; the ids whose line was written.
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
                let mut conn = writer.lock().await?;
                let mut tx = conn.begin().await?;
                let mut written = Vec::with_capacity(lines.len());
                for chunk in lines.chunks(RESULT_CHUNK) {
                    let sql = log_if_mine_sql(&group_rows::sqlite(5, chunk.len(), 5), LEASE_CHECK.sqlite);
                    let mut query = bind_fence!(sqlx::query_scalar(&sql), fence);
                    for (id, log) in chunk {
                        query = query
                            .bind(*id)
                            .bind(log.level.as_str())
                            .bind(log.message.as_str())
                            .bind(log.artifact_ref.as_deref())
                            .bind(log.artifact_sha256.as_deref());
                    }
                    let ids: Vec<i64> = query.fetch_all(&mut *tx).await?;
                    written.extend(ids);
                }
                append_audit!(tx, fence.now, &audit(&written)).await?;
                tx.commit().await?;
                Ok(written)
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let written: Vec<i64> = bind_fence!(sqlx::query_scalar(STARTED_POSTGRES.as_str()), fence)
                    .bind(lines.iter().map(|(id, _)| *id).collect::<Vec<i64>>())
                    .bind(lines.iter().map(|(_, log)| log.level.as_str()).collect::<Vec<&str>>())
                    .bind(lines.iter().map(|(_, log)| log.message.as_str()).collect::<Vec<&str>>())
                    .bind(lines.iter().map(|(_, log)| log.artifact_ref.as_deref()).collect::<Vec<Option<&str>>>())
                    .bind(lines.iter().map(|(_, log)| log.artifact_sha256.as_deref()).collect::<Vec<Option<&str>>>())
                    .fetch_all(&mut *tx)
                    .await?;
                append_audit!(tx, fence.now, &audit(&written)).await?;
                tx.commit().await?;
                Ok(written)
            }
        }
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
                NewLog::new(crate::model::LogLevel::Warning, reason.as_str()).event("rescued", None),
                NewLog::new(crate::model::LogLevel::Error, unconfirmed.as_str()).event("unconfirmed", None),
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

    /// Records, under this term, that a REAL request with this SHA-256 is
    /// about to leave for action `id` on `channel`, using up `approval` (an
    /// approval is used once) and counting the send against the channel's
    /// rate limits; all or nothing.
    pub async fn action_mark_sending(&self, fence: &Fence<'_>, sending: &Sending<'_>) -> Result<Marked, StoreError> {
        on_pool!(self, MARK_SENDING, |conn, sql| {
            let mut tx = conn.begin().await?;
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
            Ok(Marked::Marked)
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
            let mut tx = conn.begin().await?;
            let updated: Option<Action> = sqlx::query_as(sql).bind(id).bind(now).fetch_optional(&mut *tx).await?;
            if updated.is_some() {
                insert_logs!(&mut *tx, now, None::<i64>, [(id, log)]).await?;
            }
            tx.commit().await?;
            Ok(updated)
        })
    }
}

/// SQLite's multi-row result statement over `rows`.
fn finish_sqlite_sql(rows: &str) -> String {
    format!("{FINISH_SQLITE_HEAD}{rows}{FINISH_SQLITE_WHERE}{}{FINISH_TAIL}", LEASE_CHECK.sqlite)
}

/// PostgreSQL's results and their log lines in one statement (one round trip
/// instead of four: BEGIN, results, lines, COMMIT; the writer's round trips,
/// not the work, were what limited processing). A line is written only with
/// its result: it is picked among the rows the update returned.
static FINISH_AND_LOG_POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let lines = group_rows::postgres(10, &LOG_TYPES);
    format!(
        "WITH done AS ({FINISH_POSTGRES}), logged AS ({INSERT_HEAD}{LOG_IF_MINE_HEAD}{} \
         WHERE v.column1 IN (SELECT id FROM done)) SELECT {} FROM done",
        lines,
        cols!()
    )
});

/// PostgreSQL's "attempt started" lines: one text for any number of lines.
static STARTED_POSTGRES: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| log_if_mine_sql(&group_rows::postgres(5, &LOG_TYPES), LEASE_CHECK.postgres));

/// The multi-row "attempt started" insert over `rows`, with the lease check `check`.
fn log_if_mine_sql(rows: &str, check: &str) -> String {
    format!("{INSERT_HEAD}{LOG_IF_MINE_HEAD}{rows}{LOG_IF_MINE_WHERE}{check}RETURNING action_id")
}

/// The log lines of the results that were written (`updated`), `(id, line)` each
/// (SQLite; PostgreSQL picks them in [`FINISH_AND_LOG_POSTGRES`] itself).
fn lines_of_written<'a>(results: &[(i64, &Finish, &'a NewLog)], updated: &[Action]) -> Vec<(i64, &'a NewLog)> {
    let written: std::collections::HashSet<i64> = updated.iter().map(|a| a.id).collect();
    results.iter().filter(|(id, _, _)| written.contains(id)).map(|(id, _, log)| (*id, *log)).collect()
}
