//! Enqueue's inserts: the rows of new actions, and their transaction.
//!
//! The checks stay per caller and before this point (the engine's); the
//! callers' actions are written in groups (see [`group`]).

mod events;
mod group;
mod one_statement;
mod rows;
mod sqlite_trips;

use chrono::{DateTime, Utc};

use super::audit::append_audit;
use super::durable::Durable;
use super::{outbox, Db, Dialect, Pool, StoreError};
use crate::model::Action;

use events::{events_of, EnqueuedData};
pub(super) use group::InsertGroup;

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
    /// Who its enqueue events name: who enqueued it, or AOL itself.
    fn enqueuer(&self) -> &'a str {
        self.enqueued_by.unwrap_or("aol")
    }

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

/// An item's outcome as a group's transaction finds it: as much as its
/// audit event needs. Its action is built after the group's turn is given
/// up ([`inserted`]): building every new action's row inside it was work
/// that every other group waited for (SQLite's one writer).
#[derive(Debug)]
enum Found {
    New(i64),
    /// Boxed: the rare outcome, and the large one.
    Existing(Box<Action>),
    Retired(RetiredKey),
    /// Its key was given by an earlier item of the group, at this place.
    Again(usize),
}

/// Each item's outcome, from what its group's transaction found (`found`,
/// one per item of `news`, enqueued at `nows`), the rows as `dialect`
/// stores them.
fn inserted(news: &[NewAction<'_>], nows: &[DateTime<Utc>], found: Vec<Found>, dialect: Dialect) -> Vec<Inserted> {
    let stored = |t| dialect.stored_time(t);
    let mut outcomes: Vec<Inserted> = Vec::with_capacity(found.len());
    for ((new, now), found) in news.iter().zip(nows).zip(found) {
        let outcome = match found {
            Found::New(id) => Inserted::New(new.stored(id, stored(*now), stored)),
            Found::Existing(a) => Inserted::Existing(*a),
            Found::Retired(r) => Inserted::Retired(r),
            Found::Again(at) => match &outcomes[at] {
                Inserted::New(a) | Inserted::Existing(a) => Inserted::Existing(a.clone()),
                retired @ Inserted::Retired(_) => retired.clone(),
            },
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// The group's calls as its events name them (their item counts): each
/// caller's items (`callers`, their counts), split where the enqueuer
/// changes (the engine's callers have one each; storage takes any).
fn calls_of(news: &[NewAction<'_>], callers: &[usize]) -> Vec<usize> {
    ranges(callers)
        .flat_map(|items| news[items].chunk_by(|a, b| a.enqueued_by == b.enqueued_by).map(<[_]>::len))
        .collect()
}

/// The places of each of consecutive runs of `sizes` items.
fn ranges(sizes: &[usize]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    sizes.iter().scan(0, |start, &size| {
        *start += size;
        Some(*start - size..*start)
    })
}

/// Each item's call: its number among `calls` (their item counts).
fn call_of_each(calls: &[usize]) -> impl Iterator<Item = i32> + '_ {
    calls.iter().enumerate().flat_map(|(call, &size)| std::iter::repeat_n(call as i32, size))
}

/// Each key's first place among `news`, and the rows to insert: one per
/// key, from its first item (a key given twice in one insert is written
/// from its first item, in its call).
fn firsts<'a, 'b>(
    news: &'a [NewAction<'b>],
    nows: &[DateTime<Utc>],
    calls: &[usize],
) -> (std::collections::HashMap<&'a str, usize>, Vec<rows::Row<'a, 'b>>) {
    let mut first = std::collections::HashMap::with_capacity(news.len());
    for (i, new) in news.iter().enumerate() {
        first.entry(new.idempotency_key).or_insert(i);
    }
    let rows = news
        .iter()
        .zip(nows)
        .zip(call_of_each(calls))
        .enumerate()
        .filter(|(i, ((new, _), _))| first.get(new.idempotency_key) == Some(i))
        .map(|(_, ((new, now), call))| (new, *now, call))
        .collect();
    (first, rows)
}

/// Each item's outcome, in the group's transaction on `$conn`, from the
/// new rows' `$ids` (id, key): the new actions' media are written, and the
/// action or retirement of each key that was not new is read. Evaluates to
/// `Result<Vec<Found>, StoreError>`.
macro_rules! settle {
    ($conn:expr, $dialect:expr, $news:expr, $first:expr, $ids:expr) => {
        async {
            let news: &[$crate::storage::enqueue::NewAction<'_>] = $news;
            let first: &std::collections::HashMap<&str, usize> = $first;
            let mut found: Vec<Option<$crate::storage::enqueue::Found>> =
                std::iter::repeat_with(|| None).take(news.len()).collect();
            let place = |key: &str| {
                first.get(key).copied().ok_or_else(|| {
                    $crate::storage::StoreError::Corrupt(format!(
                        "the database answered for a key it was not given: {key:?}"
                    ))
                })
            };
            for (id, key) in $ids {
                found[place(&key)?] = Some($crate::storage::enqueue::Found::New(id));
            }
            if news.iter().any(|n| !n.media.is_empty()) {
                let pairs: Vec<(i64, &str)> = news
                    .iter()
                    .zip(&found)
                    .flat_map(|(new, outcome)| match outcome {
                        Some($crate::storage::enqueue::Found::New(id)) => {
                            new.media.iter().map(|sha| (*id, sha.as_str())).collect()
                        }
                        _ => Vec::new(),
                    })
                    .collect();
                $crate::storage::blobs::insert_action_media!($conn, &pairs).await?;
            }
            let missing: Vec<&str> = news
                .iter()
                .zip(&found)
                .enumerate()
                .filter(|(i, (new, outcome))| outcome.is_none() && first.get(new.idempotency_key) == Some(i))
                .map(|(_, (new, _))| new.idempotency_key)
                .collect();
            if !missing.is_empty() {
                let existing: Vec<$crate::model::Action> =
                    sqlx::query_as($crate::storage::action_reads::BY_KEYS.on($dialect))
                        .bind(sqlx::types::Json(&missing))
                        .fetch_all(&mut *$conn)
                        .await?;
                for a in existing {
                    let i = place(&a.idempotency_key)?;
                    found[i] = Some($crate::storage::enqueue::Found::Existing(Box::new(a)));
                }
                let still: Vec<&str> =
                    missing.into_iter().filter(|k| first.get(k).is_some_and(|&i| found[i].is_none())).collect();
                if !still.is_empty() {
                    let retired: Vec<$crate::storage::enqueue::RetiredKey> =
                        sqlx::query_as($crate::storage::action_reads::RETIRED_AMONG.on($dialect))
                            .bind(sqlx::types::Json(&still))
                            .fetch_all(&mut *$conn)
                            .await?;
                    for r in retired {
                        let i = place(&r.idempotency_key)?;
                        found[i] = Some($crate::storage::enqueue::Found::Retired(r));
                    }
                }
            }
            // A key given twice: the first is the new action, the next ones find it.
            let mut outcomes: Vec<$crate::storage::enqueue::Found> = Vec::with_capacity(news.len());
            for (i, (new, found)) in news.iter().zip(&mut found).enumerate() {
                let outcome = match (found.take(), place(new.idempotency_key)?) {
                    (Some(outcome), _) => outcome,
                    (None, at) if at < i => $crate::storage::enqueue::Found::Again(at),
                    _ => {
                        return Err($crate::storage::StoreError::Corrupt(format!(
                            "idempotency key {:?} neither inserted, present nor retired",
                            new.idempotency_key
                        )))
                    }
                };
                outcomes.push(outcome);
            }
            Ok::<Vec<$crate::storage::enqueue::Found>, $crate::storage::StoreError>(outcomes)
        }
    };
}
use settle;

impl Db {
    /// The transaction of [`Db::actions_insert`]: `nows[i]` is when `news[i]`
    /// was enqueued, `datas[i]` its [`EnqueuedData::text`] (made by its
    /// caller before the group's turn), `callers` the callers' item counts,
    /// in order. On SQLite two trips to its thread ([`sqlite_trips`]); on
    /// PostgreSQL one statement when all the keys are new
    /// ([`one_statement`]), else a few. Returns once committed: no one may
    /// be answered before [`Db::flushed`] for as many rows has returned too.
    async fn insert_committed(
        &self,
        news: &[NewAction<'_>],
        nows: &[DateTime<Utc>],
        datas: &[&str],
        callers: &[usize],
    ) -> Result<Vec<Found>, StoreError> {
        let calls = &calls_of(news, callers);
        let pool = match &self.pool {
            Pool::Sqlite(writer) => return sqlite_trips::insert(writer, news, nows, datas, calls).await,
            Pool::Postgres(pool) => pool,
        };
        if let Some(found) = one_statement::insert(pool, news, nows, datas, calls).await? {
            return Ok(found);
        }
        let mut conn = pool.acquire().await?;
        let mut tx = Durable::begin_group(&mut *conn, news.len()).await?;
        let (first, rows) = firsts(news, nows, calls);
        // Each new action's `enqueued_with` is written with its row (rows.rs).
        let ids = rows::insert_postgres(&mut tx, &rows).await?;
        let outcomes = settle!(tx, Dialect::Postgres, news, &first, ids).await?;
        let events = events_of(news, &outcomes, datas, calls);
        let latest = nows.iter().max().copied().expect("at least one action");
        append_audit!(tx, latest, &events.chain).await?;
        outbox::append_outbox!(tx, latest, &events.notices).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}
