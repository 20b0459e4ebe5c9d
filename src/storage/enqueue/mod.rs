//! Enqueue's inserts: the rows of new actions, and their transaction.
//!
//! The checks stay per caller and before this point (the engine's); the
//! callers' actions are written in groups (see [`group`]).

mod group;

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::action_reads::{BY_KEYS, RETIRED_AMONG};
use super::audit::append_audit;
use super::blobs::insert_action_media;
use super::{on_pool, AuditEntry, Db, Dialect, StoreError};
use crate::model::Action;

pub(super) use group::InsertGroup;

/// The columns of an action's row as the insert reads them (bound on SQLite,
/// one JSON parameter on PostgreSQL, see `Placeholders::json_rows`): key,
/// type, payload, not before, enqueued at, status, channel, scheduled for,
/// not after, policy, by, time zone.
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
/// The columns an enqueue writes, and what it writes into them from the
/// relation `v(column1, …)`.
macro_rules! insert_columns {
    () => {
        "idempotency_key, action_type, payload_json, status, attempts, not_before_utc, created_at_utc, \
         updated_at_utc, channel, scheduled_for_utc, not_after_utc, policy, enqueued_by, time_zone"
    };
}
macro_rules! insert_values {
    () => {
        "v.column1, v.column2, v.column3, v.column6, 0, v.column4, v.column5, v.column5, v.column7, v.column8, \
         v.column9, v.column10, v.column11, v.column12"
    };
}
/// SQLite's multi-row INSERT from the relation `v`.
const INSERT_MANY_HEAD: &str =
    concat!("INSERT INTO aol_actions (", insert_columns!(), ") SELECT ", insert_values!(), " FROM ");
/// Only the new id comes back: the rest of the row is what was written (see
/// [`NewAction::stored`]). Handing back every column of each row was a third
/// of SQLite's writer's time in batch enqueues.
const INSERT_MANY_TAIL: &str =
    " WHERE NOT EXISTS (SELECT 1 FROM aol_retired_keys r WHERE r.idempotency_key = v.column1) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key";
/// PostgreSQL's enqueue from the rows `v` (one item per key): each key's
/// lookup row first, with the id its action will have, then the actions whose
/// keys it took (migration 0022). A key there already, or being written by a
/// concurrent enqueue (which it waits for), takes no id: its item finds the
/// action that has it, as on SQLite.
const KEYED_INSERT_HEAD: &str = "WITH v AS (SELECT * FROM ";
const KEYED_INSERT_TAIL: &str = concat!(
    "), k AS (INSERT INTO aol_action_lookup (action_id, idempotency_key, action_type, enqueued_by) \
     SELECT nextval('aol_actions_id_seq'), v.column1, v.column2, v.column11 FROM v \
     WHERE NOT EXISTS (SELECT 1 FROM aol_retired_keys r WHERE r.idempotency_key = v.column1) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING action_id, idempotency_key) \
     INSERT INTO aol_actions (id, ",
    insert_columns!(),
    ") OVERRIDING SYSTEM VALUE SELECT k.action_id, ",
    insert_values!(),
    " FROM k JOIN v ON v.column1 = k.idempotency_key ORDER BY k.action_id RETURNING id, idempotency_key"
);
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

impl Db {
    /// The transaction of [`Db::actions_insert`]: `nows[i]` is when `news[i]`
    /// was enqueued. A few statements for any number of actions.
    async fn insert_now(&self, news: &[NewAction<'_>], nows: &[DateTime<Utc>]) -> Result<Vec<Inserted>, StoreError> {
        use std::collections::HashMap;
        let dialect = self.dialect();
        on_pool!(self, |conn| {
            let mut found: HashMap<String, Inserted> = HashMap::with_capacity(news.len());
            let mut tx = conn.begin().await?;
            // A time as the rows carry it to its database's columns.
            let time: fn(DateTime<Utc>) -> String = match dialect {
                Dialect::Sqlite => super::group_rows::sqlite_time,
                Dialect::Postgres => super::group_rows::postgres_time,
            };
            // A key given twice in one insert is written from its first item.
            let mut first: HashMap<&str, usize> = HashMap::with_capacity(news.len());
            for (i, new) in news.iter().enumerate() {
                first.entry(new.idempotency_key).or_insert(i);
            }
            let ids: Vec<(i64, String)> = if super::Placeholders::binds_rows(&*tx) {
                // SQLite's JSON functions parse a row's text again for each
                // of its twelve columns: the rows are bound instead (see
                // `Placeholders::binds_rows`).
                let rows: Vec<(&NewAction<'_>, &DateTime<Utc>)> = news.iter().zip(nows).collect();
                let head = format!("{INSERT_MANY_HEAD}(");
                let tail = format!(") AS v{INSERT_MANY_TAIL}");
                super::insert_bound!(tx, head, ROW_TYPES.len(), tail, rows, |q, (new, now)| q
                    .bind(new.idempotency_key)
                    .bind(new.action_type)
                    .bind(new.payload_json)
                    .bind(time(new.not_before_utc))
                    .bind(time(**now))
                    .bind(new.status)
                    .bind(new.channel)
                    .bind(new.scheduled_for_utc.map(time))
                    .bind(new.not_after_utc.map(time))
                    .bind(new.policy)
                    .bind(new.enqueued_by)
                    .bind(new.time_zone) => (i64, String))
                .await?
            } else {
                // Each key's first item: the next ones find its action below.
                let rows = news
                    .iter()
                    .zip(nows)
                    .enumerate()
                    .filter(|(i, (new, _))| first.get(new.idempotency_key) == Some(i))
                    .map(|(_, (new, now))| {
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
                let v = super::Placeholders::json_rows(&*tx, 1, &ROW_TYPES);
                let sql = format!("{KEYED_INSERT_HEAD}{v}{KEYED_INSERT_TAIL}");
                sqlx::query_as(&sql).bind(super::json_rows_of(rows)).fetch_all(&mut *tx).await?
            };
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
            let retired: Vec<RetiredKey> = if new_keys.is_empty() || dialect == Dialect::Sqlite {
                Vec::new()
            } else {
                sqlx::query_as(RETIRED_AMONG.postgres).bind(sqlx::types::Json(&new_keys)).fetch_all(&mut *tx).await?
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
                let existing: Vec<Action> =
                    sqlx::query_as(BY_KEYS.on(dialect)).bind(sqlx::types::Json(&missing)).fetch_all(&mut *tx).await?;
                for a in existing {
                    found.insert(a.idempotency_key.clone(), Inserted::Existing(a));
                }
                let still: Vec<&str> = missing.into_iter().filter(|k| !found.contains_key(*k)).collect();
                if !still.is_empty() {
                    let retired: Vec<RetiredKey> = sqlx::query_as(RETIRED_AMONG.on(dialect))
                        .bind(sqlx::types::Json(&still))
                        .fetch_all(&mut *tx)
                        .await?;
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
