//! PostgreSQL's enqueue of a group whose keys are all new: one statement,
//! which writes the actions, appends their events to the audit chain in the
//! server (migration 0025) and commits as it ends.
//!
//! Written the long way (a transaction of five statements), a group held
//! the chain's head across three round trips to AOL, each waiting for AOL's
//! thread to be scheduled on a busy machine: two thirds of the 2.7 ms it
//! held the head (docs/scaling.md). Here no round trip falls inside the
//! hold, and the group's five become one (and the flush of
//! [`Durable::committed_durably`]).
//!
//! When a key turns out to be known or retired, the statement fails and
//! writes nothing; the caller then writes the group the long way, which
//! finds each item's outcome. A group that needs more than the `enqueued`
//! events (media, a key twice, a notification) goes the long way at once.

use chrono::{DateTime, Utc};

use super::rows::{bind_postgres, Row, POSTGRES_ALL_NEW, POSTGRES_KEY_TAKEN};
use super::{call_of_each, ranges, Found, NewAction};
use crate::storage::durable::LATE_FLUSH_ROWS;
use crate::storage::{outbox, StoreError};

/// The statement: the rows' insert, then `aol_enqueued` with the new ids in
/// the items' order and how many rows were written (which also makes both
/// inserts run before the chain's head is taken), then each call's size,
/// enqueuer and event data (migration 0029).
static STATEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} SELECT aol_enqueued(ARRAY(SELECT id FROM v ORDER BY ord), \
         (SELECT count(*) FROM k) + (SELECT count(*) FROM a), $14, $15::int4[], $16::text[], $17::text[], $18)",
        POSTGRES_ALL_NEW.as_str()
    )
});

/// The group's outcomes, all new, once committed (a large group's commit
/// is not yet known to be on disk: see [`crate::storage::durable`]); `None`
/// when it must be written the long way (a connection is taken only for a
/// group that may go this way). `datas` are the items' `enqueued` events',
/// `calls` the callers' item counts.
pub(super) async fn insert(
    pool: &sqlx::PgPool,
    news: &[NewAction<'_>],
    nows: &[DateTime<Utc>],
    datas: &[&str],
    calls: &[usize],
) -> Result<Option<Vec<Found>>, StoreError> {
    if !only_enqueued_events_if_all_new(news) {
        return Ok(None);
    }
    let mut conn = pool.acquire().await?;
    let rows: Vec<Row<'_, '_>> =
        news.iter().zip(nows.iter().copied()).zip(call_of_each(calls)).map(|((n, t), c)| (n, t, c)).collect();
    let latest = nows.iter().max().copied().expect("at least one action");
    // Each call's enqueuer, and its items' data joined (the server wraps
    // them with the ids: events::call_data).
    let answer: Result<(Vec<i64>,), sqlx::Error> = bind_postgres(sqlx::query_as(STATEMENT.as_str()), &rows)
        .bind(crate::model::audit_time(latest))
        .bind(calls.iter().map(|&n| n as i32).collect::<Vec<i32>>())
        .bind(ranges(calls).map(|call| news[call.start].enqueuer()).collect::<Vec<_>>())
        .bind(ranges(calls).map(|call| datas[call].join(",")).collect::<Vec<_>>())
        .bind(news.len() >= LATE_FLUSH_ROWS)
        .fetch_one(&mut *conn)
        .await;
    let ids = match answer {
        Ok((ids,)) => ids,
        Err(sqlx::Error::Database(e)) if e.constraint() == Some(POSTGRES_KEY_TAKEN) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if ids.len() != news.len() {
        return Err(StoreError::Corrupt(format!(
            "{} actions were enqueued, but {} ids came back",
            news.len(),
            ids.len()
        )));
    }
    Ok(Some(ids.into_iter().map(Found::New).collect()))
}

/// Whether the `enqueued` events are all the statement has to write if
/// every item is new: no media, no key twice, nobody to notify.
fn only_enqueued_events_if_all_new(news: &[NewAction<'_>]) -> bool {
    let mut keys = std::collections::HashSet::with_capacity(news.len());
    news.iter().all(|new| {
        new.media.is_empty() && keys.insert(new.idempotency_key) && outbox::enqueued_notice(new.status).is_none()
    })
}
