//! SQLite's enqueue of a group in two trips to its connection's thread.
//!
//! sqlx runs a SQLite connection's statements on a thread of its own, and
//! each statement is a trip there and back, a wake-up on each side: `SELECT
//! 1` took 75 µs in the median on this kind of machine (2026-12-06), and the
//! six statements of a group (begin, insert, take the chain's head, the
//! audit rows, the head's hash, commit) were most of a single enqueue's
//! 0.6-0.9 ms. Here they go as two scripts, each one trip: the transaction's
//! begin, the insert and the head's taking; then, the events chained in
//! Rust, the audit rows, the head's hash and the commit. A key already
//! known or retired, or media, adds their statements between the two.
//!
//! The transaction is begun by hand (sqlx's own would be two trips more),
//! so it is ended by hand too: rolled back on any error, and by the
//! writer's next turn if the caller goes away in between ([`ByHand`]).

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::rows::{
    sqlite_arguments, sqlite_sql, Row, SQLITE_BEGIN_HEAD, SQLITE_HEAD, SQLITE_RETURNED_ROWS, SQLITE_TAIL_MANY,
    SQLITE_TAIL_MANY_LAST, SQLITE_TAIL_RETURNING,
};
use super::{events_of, firsts, settle, Found, NewAction};
use crate::storage::audit::{chained, prepare_append, sqlite_append_and_commit};
use crate::storage::sqlite_writer::SqliteWriter;
use crate::storage::{statement_rows, Dialect, StoreError, BOUND_ROWS};

/// Writes the group `news` (enqueued at `nows`, their `enqueued` events'
/// data `datas`, its callers' item counts `calls`) and commits; each
/// item's outcome.
pub(super) async fn insert(
    writer: &SqliteWriter,
    news: &[NewAction<'_>],
    nows: &[DateTime<Utc>],
    datas: &[&str],
    calls: &[usize],
) -> Result<Vec<Found>, StoreError> {
    let mut conn = writer.lock().await?;
    let by_hand = writer.by_hand();
    let written = write(&mut conn, news, nows, datas, calls).await;
    if written.is_err() {
        // Fails harmlessly if the error came before the begin or after the commit.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    by_hand.ended();
    written
}

async fn write(
    conn: &mut sqlx::SqliteConnection,
    news: &[NewAction<'_>],
    nows: &[DateTime<Utc>],
    datas: &[&str],
    calls: &[usize],
) -> Result<Vec<Found>, StoreError> {
    let (first, rows) = firsts(news, nows, calls);
    let (ids, (seq, prev)) = insert_and_take_head(conn, &rows).await?;
    let found = settle!(conn, Dialect::Sqlite, news, &first, ids).await?;
    let events = events_of(news, &found, datas, calls);
    if !events.shared.is_empty() {
        sqlx::query(SET_ENQUEUED_WITH).bind(sqlx::types::Json(&events.shared)).execute(&mut *conn).await?;
    }
    let latest = nows.iter().max().copied().expect("at least one action");
    let at = crate::model::audit_time(latest);
    let seq = seq + events.chain.len() as i64;
    let (audit_rows, head) = chained(prepare_append(&at, &events.chain), seq, prev);
    crate::storage::outbox::append_outbox!(conn, latest, &events.notices).await?;
    sqlite_append_and_commit(conn, &at, &audit_rows, seq, &head).await?;
    Ok(found)
}

/// Points each action of a call that added several at the first of them
/// (`$1`: a JSON array of [id, first]; see events.rs). PostgreSQL writes
/// it with the rows (rows.rs).
const SET_ENQUEUED_WITH: &str = "UPDATE aol_actions SET enqueued_with = s.value ->> 1 \
     FROM json_each($1) AS s WHERE aol_actions.id = s.value ->> 0";

/// Begins the transaction, inserts `rows` (one per key) and takes the
/// chain's head: the new actions' ids and keys, and the head's seq and
/// hash.
async fn insert_and_take_head(
    conn: &mut sqlx::SqliteConnection,
    rows: &[Row<'_, '_>],
) -> Result<(Vec<(i64, String)>, (i64, String)), StoreError> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut head = None;
    // A few rows go in one statement that returns them; more, in
    // statements of up to BOUND_ROWS that return them as one array each.
    let few = rows.len() <= SQLITE_RETURNED_ROWS;
    let chunk_rows = if few { SQLITE_RETURNED_ROWS } else { BOUND_ROWS };
    let chunks = rows.chunks(chunk_rows).count();
    for (i, chunk) in rows.chunks(chunk_rows).enumerate() {
        let (first, last) = (i == 0, i + 1 == chunks);
        let tail = match (few, last) {
            (true, _) => SQLITE_TAIL_RETURNING,
            (false, true) => SQLITE_TAIL_MANY_LAST,
            (false, false) => SQLITE_TAIL_MANY,
        };
        let size = statement_rows(chunk.len());
        let sql = sqlite_sql(if first { SQLITE_BEGIN_HEAD } else { SQLITE_HEAD }, tail, size);
        let args = sqlite_arguments(chunk, size)?;
        for row in sqlx::query_with(&sql, args).fetch_all(&mut *conn).await? {
            match row.columns().first().map(sqlx::Column::name) {
                Some("seq") => head = Some((row.try_get("seq")?, row.try_get("hash")?)),
                Some("new_rows") => {
                    let sqlx::types::Json(mut new): sqlx::types::Json<Vec<(i64, String)>> = row.try_get("new_rows")?;
                    let added: i64 = row.try_get("added")?;
                    if new.len() as i64 != added {
                        return Err(StoreError::Corrupt(format!(
                            "the insert added {added} actions, but {} are there",
                            new.len()
                        )));
                    }
                    new.sort_unstable();
                    ids.extend(new);
                }
                _ => ids.push((row.try_get("id")?, row.try_get("idempotency_key")?)),
            }
        }
    }
    let head = head.ok_or_else(|| StoreError::Corrupt("the audit chain's head was not found".into()))?;
    Ok((ids, head))
}
