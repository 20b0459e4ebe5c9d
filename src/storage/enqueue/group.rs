//! Enqueues written in groups.
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
use tokio::sync::oneshot;

use super::{inserted, EnqueuedData, Inserted, NewAction};
use crate::storage::{Db, Dialect, StoreError};

/// At most this many actions in one group's transaction (a caller's own
/// actions always go together, however many).
const GROUP_ROWS: usize = 1_000;

/// The callers waiting for a write, and the turns to write.
#[derive(Debug)]
pub(in crate::storage) struct InsertGroup {
    waiting: Mutex<VecDeque<Waiting>>,
    turn: Arc<tokio::sync::Mutex<()>>,
    /// PostgreSQL's further turns, taken only when at least
    /// [`MORE_TURNS_ROWS`] actions wait: other groups insert their actions
    /// while one appends to the audit chain and commits (they meet only at
    /// the chain's head). With one turn, batches waited while the machine
    /// stood half idle; with more for everyone, single enqueues split into
    /// more, smaller groups, a commit each (a fifth fewer per second).
    more: Vec<Arc<tokio::sync::Mutex<()>>>,
}

/// Actions waiting before more groups may write at once (PostgreSQL).
const MORE_TURNS_ROWS: usize = 100;
/// Turns besides the first when they may (PostgreSQL). HTTP batches of 100
/// from 8 clients, 5 runs each: 35,000 actions/s (median) with one more,
/// 39,100 with two, 40,200 with three, 31,800-37,200 with five.
const MORE_TURNS: usize = 3;

impl InsertGroup {
    pub(in crate::storage) fn new(dialect: Dialect) -> InsertGroup {
        let more = match dialect {
            Dialect::Sqlite => Vec::new(),
            Dialect::Postgres => (0..MORE_TURNS).map(|_| Arc::default()).collect(),
        };
        InsertGroup { waiting: Mutex::default(), turn: Arc::default(), more }
    }

    /// A turn to write: the first, or any when enough actions wait.
    async fn turn(&self) -> tokio::sync::OwnedMutexGuard<()> {
        let waiting: usize = self.waiting.lock().expect("enqueue group poisoned").iter().map(|w| w.rows.len()).sum();
        if waiting >= MORE_TURNS_ROWS && !self.more.is_empty() {
            let turns = std::iter::once(&self.turn).chain(&self.more).map(|t| Box::pin(t.clone().lock_owned()));
            futures::future::select_all(turns).await.0
        } else {
            self.turn.clone().lock_owned().await
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
    /// Its `enqueued` event's data ([`EnqueuedData::text`]), made by its
    /// caller while waiting rather than by the writer in its turn.
    enqueued: String,
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
            enqueued: EnqueuedData::of(new).text(),
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
            // Answered by another writer while waiting: no turn is needed to say so.
            let turn = tokio::select! {
                outcome = &mut answer => return outcome.unwrap_or(Err(StoreError::GroupLost)),
                turn = self.inserts.turn() => turn,
            };
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
            let write = tokio::spawn(async move { db.write_group(group, turn).await });
            write.await.map_err(|_| StoreError::GroupLost)?;
        }
    }

    /// [`Db::insert_committed`] of one caller's actions, returning once it
    /// is on disk.
    async fn insert_durably(&self, rows: &[OwnedAction], now: DateTime<Utc>) -> Result<Vec<Inserted>, StoreError> {
        let news: Vec<NewAction<'_>> = rows.iter().map(OwnedAction::view).collect();
        let nows = vec![now; news.len()];
        let datas: Vec<&str> = rows.iter().map(|r| r.enqueued.as_str()).collect();
        let found = self.insert_committed(&news, &nows, &datas, &[news.len()]).await?;
        self.flushed(news.len()).await.map_err(|e| StoreError::Unconfirmed(Arc::new(e)))?;
        Ok(inserted(&news, &nows, found, self.dialect()))
    }

    /// Writes a group in one transaction and answers each caller once it is
    /// on disk; if the write fails, each caller's actions alone, so that
    /// one's trouble is not the others'. The turn is given up at the commit:
    /// the next group writes while this one waits for the disk and builds
    /// its callers' answers.
    async fn write_group(&self, group: Vec<Waiting>, turn: tokio::sync::OwnedMutexGuard<()>) {
        let news: Vec<NewAction<'_>> = group.iter().flat_map(|w| w.rows.iter().map(OwnedAction::view)).collect();
        let nows: Vec<DateTime<Utc>> = group.iter().flat_map(|w| std::iter::repeat_n(w.now, w.rows.len())).collect();
        let datas: Vec<&str> = group.iter().flat_map(|w| w.rows.iter().map(|r| r.enqueued.as_str())).collect();
        let calls: Vec<usize> = group.iter().map(|w| w.rows.len()).collect();
        match self.insert_committed(&news, &nows, &datas, &calls).await {
            Ok(found) => {
                drop(turn);
                // Committed but perhaps not yet on disk: no one hears of it before it is.
                if let Err(e) = self.flushed(news.len()).await {
                    tracing::warn!(callers = group.len(), error = %e, "an enqueue group committed, but its flush to disk was not confirmed");
                    let e = Arc::new(e);
                    for w in group {
                        let _ = w.reply.send(Err(StoreError::Unconfirmed(e.clone())));
                    }
                    return;
                }
                let mut outcomes = inserted(&news, &nows, found, self.dialect()).into_iter();
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
                    let _ = w.reply.send(self.insert_durably(&w.rows, w.now).await);
                }
            }
        }
    }
}
