//! Enqueue's inserts, written in groups.
//!
//! Every enqueue appends to the audit chain, whose head row stays locked from
//! the chain's first statement to the commit. On PostgreSQL the enqueues of one
//! process therefore took turns at that lock, a few round trips and a commit
//! each (907 single enqueues/s from 8 HTTP clients, ~1 ms apiece). Here a
//! caller that finds a write under way leaves its actions waiting; the next
//! writer takes everything waiting (up to [`GROUP_ROWS`]) into one transaction
//! and answers each caller with its own outcomes. The checks stay per caller
//! and before this point (the engine's), so a group holds only actions that
//! passed them; if a group's transaction fails anyway, each caller's actions
//! are written again alone, as they would have been.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::Connection as _;
use tokio::sync::oneshot;

use super::actions::{keyed, BY_KEYS, RETIRED_IN};
use super::audit::append_audit;
use super::blobs::insert_action_media;
use super::{on_pool, AuditEntry, Db, Dialect, StoreError};
use crate::model::Action;

/// The columns of an action's row as the insert reads them (one JSON
/// parameter, see `Placeholders::json_rows`): key, type, payload, not before,
/// enqueued at, status, channel, scheduled for, not after, policy, by, time zone.
const ROW_TYPES: [&str; 12] = [
    "text",
    "text",
    "text",
    "timestamptz",
    "timestamptz",
    "text",
    "text",
    "timestamptz",
    "timestamptz",
    "text",
    "text",
    "text",
];
/// A multi-row INSERT from the relation `v(column1, …)`.
const INSERT_MANY_HEAD: &str = "INSERT INTO aol_actions (idempotency_key, action_type, payload_json, status, \
     attempts, not_before_utc, created_at_utc, updated_at_utc, channel, scheduled_for_utc, not_after_utc, policy, \
     enqueued_by, time_zone) SELECT v.column1, v.column2, v.column3, v.column6, 0, v.column4, v.column5, v.column5, \
     v.column7, v.column8, v.column9, v.column10, v.column11, v.column12 FROM ";
/// Only the new id comes back: the rest of the row is what was written (see
/// [`NewAction::stored`]). Handing back every column of each row was a third
/// of SQLite's writer's time in batch enqueues.
const INSERT_MANY_TAIL: &str =
    " WHERE NOT EXISTS (SELECT 1 FROM aol_retired_keys r WHERE r.idempotency_key = v.column1) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key";
const DELETE_BY_ID: &str = "DELETE FROM aol_actions WHERE id = $1";

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

impl NewAction<'_> {
    /// The row the insert writes for it, as it reads back: `id` is its new
    /// id, `now` when it was enqueued (as stored).
    fn stored(&self, id: i64, now: DateTime<Utc>, stored: impl Fn(DateTime<Utc>) -> DateTime<Utc>) -> Action {
        Action {
            id,
            idempotency_key: self.idempotency_key.to_string(),
            action_type: self.action_type.to_string(),
            payload_json: self.payload_json.to_string(),
            status: self.status.to_string(),
            attempts: 0,
            not_before_utc: stored(self.not_before_utc),
            last_error: None,
            created_at_utc: now,
            updated_at_utc: now,
            lease_epoch: None,
            prepared_sha256: None,
            remote_id: None,
            remote_url: None,
            channel: self.channel.map(str::to_string),
            scheduled_for_utc: self.scheduled_for_utc.map(&stored),
            not_after_utc: self.not_after_utc.map(&stored),
            policy: self.policy.map(str::to_string),
            facts_json: None,
            first_sent_at_utc: None,
            reached_at_utc: None,
            enqueued_by: self.enqueued_by.map(str::to_string),
            edited_by: None,
            time_zone: self.time_zone.map(str::to_string),
        }
    }
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

/// At most this many actions in one group's transaction (a caller's own
/// actions always go together, however many).
const GROUP_ROWS: usize = 1_000;

/// The callers waiting for a write, and the turns to write.
#[derive(Debug)]
pub(super) struct InsertGroup {
    waiting: Mutex<VecDeque<Waiting>>,
    turn: Arc<tokio::sync::Mutex<()>>,
    /// PostgreSQL's second turn, taken only when at least
    /// [`SECOND_TURN_ROWS`] actions wait: a second group inserts its actions
    /// while the first appends to the audit chain and commits (they meet only
    /// at the chain's head). With one turn, batches waited while the machine
    /// stood half idle; with two for everyone, single enqueues split into
    /// more, smaller groups, a commit each (a fifth fewer per second).
    second: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// Actions waiting before a second group may write at once (PostgreSQL).
const SECOND_TURN_ROWS: usize = 100;

impl InsertGroup {
    pub(super) fn new(dialect: Dialect) -> InsertGroup {
        let second = match dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(Arc::default()),
        };
        InsertGroup { waiting: Mutex::default(), turn: Arc::default(), second }
    }

    /// A turn to write: the first, or the second when enough actions wait.
    async fn turn(&self) -> tokio::sync::OwnedMutexGuard<()> {
        let waiting: usize = self.waiting.lock().expect("enqueue group poisoned").iter().map(|w| w.rows.len()).sum();
        match &self.second {
            Some(second) if waiting >= SECOND_TURN_ROWS => tokio::select! {
                turn = self.turn.clone().lock_owned() => turn,
                turn = second.clone().lock_owned() => turn,
            },
            _ => self.turn.clone().lock_owned().await,
        }
    }

    /// The first waiting callers, up to `limit` actions (at least one caller
    /// if any waits).
    fn take(&self, limit: usize) -> Vec<Waiting> {
        let mut waiting = self.waiting.lock().expect("enqueue group poisoned");
        let mut group = Vec::new();
        let mut rows = 0;
        while let Some(next) = waiting.front() {
            if !group.is_empty() && rows + next.rows.len() > limit {
                break;
            }
            rows += next.rows.len();
            group.extend(waiting.pop_front());
        }
        group
    }
}

/// One caller's actions, and where its outcomes go.
#[derive(Debug)]
struct Waiting {
    rows: Vec<OwnedAction>,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<Vec<Inserted>, StoreError>>,
}

/// A [`NewAction`] that can wait for another caller's write.
#[derive(Debug)]
struct OwnedAction {
    idempotency_key: String,
    action_type: String,
    payload_json: String,
    not_before_utc: DateTime<Utc>,
    status: &'static str,
    channel: Option<String>,
    scheduled_for_utc: Option<DateTime<Utc>>,
    not_after_utc: Option<DateTime<Utc>>,
    policy: Option<&'static str>,
    media: Vec<String>,
    enqueued_by: Option<String>,
    time_zone: Option<String>,
}

impl From<&NewAction<'_>> for OwnedAction {
    fn from(new: &NewAction<'_>) -> OwnedAction {
        OwnedAction {
            idempotency_key: new.idempotency_key.to_string(),
            action_type: new.action_type.to_string(),
            payload_json: new.payload_json.to_string(),
            not_before_utc: new.not_before_utc,
            status: new.status,
            channel: new.channel.map(str::to_string),
            scheduled_for_utc: new.scheduled_for_utc,
            not_after_utc: new.not_after_utc,
            policy: new.policy,
            media: new.media.to_vec(),
            enqueued_by: new.enqueued_by.map(str::to_string),
            time_zone: new.time_zone.map(str::to_string),
        }
    }
}

impl OwnedAction {
    fn view(&self) -> NewAction<'_> {
        NewAction {
            idempotency_key: &self.idempotency_key,
            action_type: &self.action_type,
            payload_json: &self.payload_json,
            not_before_utc: self.not_before_utc,
            status: self.status,
            channel: self.channel.as_deref(),
            scheduled_for_utc: self.scheduled_for_utc,
            not_after_utc: self.not_after_utc,
            policy: self.policy,
            media: &self.media,
            enqueued_by: self.enqueued_by.as_deref(),
            time_zone: self.time_zone.as_deref(),
        }
    }
}

impl Db {
    /// Inserts a new action unless its key is known or retired.
    pub async fn action_insert(&self, new: &NewAction<'_>, now: DateTime<Utc>) -> Result<Inserted, StoreError> {
        let mut done = self.actions_insert(std::slice::from_ref(new), now).await?;
        Ok(done.pop().expect("one outcome per action"))
    }

    /// Inserts many actions in one transaction (each unless its key is known
    /// or retired); one outcome per action, in order. Written with whatever
    /// other enqueues of this process wait meanwhile (see the module's note).
    pub async fn actions_insert(
        &self,
        news: &[NewAction<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Inserted>, StoreError> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, mut answer) = oneshot::channel();
        let rows = news.iter().map(OwnedAction::from).collect();
        self.inserts.waiting.lock().expect("enqueue group poisoned").push_back(Waiting { rows, now, reply });
        loop {
            let turn = self.inserts.turn().await;
            match answer.try_recv() {
                Ok(outcome) => return outcome,
                Err(oneshot::error::TryRecvError::Closed) => return Err(StoreError::GroupLost),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let group = self.inserts.take(GROUP_ROWS);
            if group.is_empty() {
                // Another writer has these actions under way: it answers.
                drop(turn);
                return answer.await.unwrap_or(Err(StoreError::GroupLost));
            }
            let db = self.clone();
            // A task of its own, so that a caller who goes away (a closed
            // connection drops its request) cuts no one's write short.
            let write = tokio::spawn(async move {
                let _turn = turn;
                db.write_group(group).await
            });
            write.await.map_err(|_| StoreError::GroupLost)?;
        }
    }

    /// Writes a group in one transaction and answers each caller; if that
    /// fails, each caller's actions alone, so that one's trouble is not the others'.
    async fn write_group(&self, group: Vec<Waiting>) {
        let news: Vec<NewAction<'_>> = group.iter().flat_map(|w| w.rows.iter().map(OwnedAction::view)).collect();
        let nows: Vec<DateTime<Utc>> = group.iter().flat_map(|w| std::iter::repeat_n(w.now, w.rows.len())).collect();
        match self.insert_now(&news, &nows).await {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                for w in group {
                    let mine = outcomes.by_ref().take(w.rows.len()).collect();
                    let _ = w.reply.send(Ok(mine));
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.into_iter().next().expect("one").reply.send(Err(e));
            }
            Err(e) => {
                tracing::warn!(callers = group.len(), error = %e, "an enqueue group's write failed; each caller's is written alone");
                for w in group {
                    let news: Vec<NewAction<'_>> = w.rows.iter().map(OwnedAction::view).collect();
                    let outcome = self.insert_now(&news, &vec![w.now; news.len()]).await;
                    let _ = w.reply.send(outcome);
                }
            }
        }
    }

    /// The transaction of [`Db::actions_insert`]: `nows[i]` is when `news[i]`
    /// was enqueued. A few statements for any number of actions.
    async fn insert_now(&self, news: &[NewAction<'_>], nows: &[DateTime<Utc>]) -> Result<Vec<Inserted>, StoreError> {
        use std::collections::HashMap;
        on_pool!(self, |conn| {
            let mut found: HashMap<String, Inserted> = HashMap::with_capacity(news.len());
            let mut tx = conn.begin().await?;
            let time = |t: DateTime<Utc>| super::Placeholders::json_time(&*tx, t);
            let rows = news
                .iter()
                .zip(nows)
                .map(|(new, now)| {
                    serde_json::json!([
                        new.idempotency_key,
                        new.action_type,
                        new.payload_json,
                        time(new.not_before_utc),
                        time(*now),
                        new.status,
                        new.channel,
                        new.scheduled_for_utc.map(time),
                        new.not_after_utc.map(time),
                        new.policy,
                        new.enqueued_by,
                        new.time_zone,
                    ])
                })
                .collect();
            let sql =
                format!("{INSERT_MANY_HEAD}{}{INSERT_MANY_TAIL}", super::Placeholders::json_rows(&*tx, 1, &ROW_TYPES));
            let ids: Vec<(i64, String)> =
                sqlx::query_as(&sql).bind(super::json_rows_of(rows)).fetch_all(&mut *tx).await?;
            // A key given twice in one insert is written from its first item.
            let mut first: HashMap<&str, usize> = HashMap::with_capacity(news.len());
            for (i, new) in news.iter().enumerate() {
                first.entry(new.idempotency_key).or_insert(i);
            }
            let stored = |t| super::Placeholders::stored_time(&*tx, t);
            let inserted: Vec<Action> = ids
                .into_iter()
                .map(|(id, key)| match first.get(key.as_str()) {
                    Some(&i) => Ok(news[i].stored(id, stored(nows[i]), stored)),
                    None => Err(StoreError::Corrupt(format!("the insert returned a key it was not given: {key:?}"))),
                })
                .collect::<Result<_, _>>()?;
            let new_keys: Vec<&str> = inserted.iter().map(|a| a.idempotency_key.as_str()).collect();
            // On PostgreSQL a key retired by a concurrent transaction can
            // pass the insert's check; this second look sees it. SQLite
            // checks under its single write lock: nothing can slip in.
            let retired: Vec<RetiredKey> = if new_keys.is_empty() || self.dialect() == Dialect::Sqlite {
                Vec::new()
            } else {
                keyed(RETIRED_IN, &new_keys).build_query_as().fetch_all(&mut *tx).await?
            };
            for r in &retired {
                if let Some(a) = inserted.iter().find(|a| a.idempotency_key == r.idempotency_key) {
                    sqlx::query(DELETE_BY_ID).bind(a.id).execute(&mut *tx).await?;
                }
            }
            // The new actions' media, in the same transaction.
            if news.iter().any(|n| !n.media.is_empty()) {
                let media: HashMap<&str, &[String]> = news.iter().map(|n| (n.idempotency_key, n.media)).collect();
                let pairs: Vec<(i64, &str)> = inserted
                    .iter()
                    .filter(|a| !retired.iter().any(|r| r.idempotency_key == a.idempotency_key))
                    .flat_map(|a| {
                        let shas = media.get(a.idempotency_key.as_str()).copied().unwrap_or_default();
                        shas.iter().map(move |sha| (a.id, sha.as_str()))
                    })
                    .collect();
                insert_action_media!(tx, &pairs).await?;
            }
            for r in retired {
                found.insert(r.idempotency_key.clone(), Inserted::Retired(r));
            }
            for a in inserted {
                found.entry(a.idempotency_key.clone()).or_insert(Inserted::New(a));
            }
            let missing: Vec<&str> =
                news.iter().map(|n| n.idempotency_key).filter(|k| !found.contains_key(*k)).collect();
            if !missing.is_empty() {
                let existing: Vec<Action> = keyed(BY_KEYS, &missing).build_query_as().fetch_all(&mut *tx).await?;
                for a in existing {
                    found.insert(a.idempotency_key.clone(), Inserted::Existing(a));
                }
                let still: Vec<&str> = missing.into_iter().filter(|k| !found.contains_key(*k)).collect();
                if !still.is_empty() {
                    let retired: Vec<RetiredKey> =
                        keyed(RETIRED_IN, &still).build_query_as().fetch_all(&mut *tx).await?;
                    for r in retired {
                        found.insert(r.idempotency_key.clone(), Inserted::Retired(r));
                    }
                }
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
            let latest = nows.iter().max().copied().expect("at least one action");
            append_audit!(tx, latest, &events).await?;
            tx.commit().await?;
            Ok(outcomes)
        })
    }
}
