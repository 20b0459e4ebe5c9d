//! How each database writes the rows of new actions: one statement for any
//! number of them, answering each new action's id and key. A key already
//! known or retired is skipped, and its item found afterwards.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use super::NewAction;
use crate::storage::group_rows::{self, sqlite_time};

/// The columns an enqueue writes, and what it writes into them from the
/// relation `v(column1, …)`: key, type, payload, not before, enqueued at,
/// status, channel, scheduled for, not after, policy, by, time zone.
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
/// The columns of the relation `v`, as PostgreSQL names their types.
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

/// SQLite's multi-row INSERT from the relation `v`.
const SQLITE_HEAD: &str =
    concat!("INSERT INTO aol_actions (", insert_columns!(), ") SELECT ", insert_values!(), " FROM (");
/// Only the new id comes back: the rest of the row is what was written (see
/// [`NewAction::stored`]). Handing back every column of each row was a third
/// of SQLite's writer's time in batch enqueues.
const SQLITE_TAIL: &str =
    ") AS v WHERE NOT EXISTS (SELECT 1 FROM aol_retired_keys r WHERE r.idempotency_key = v.column1) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key";

/// PostgreSQL's enqueue: each key's lookup row first, with the id its action
/// will have, then the actions whose keys it took (migration 0022). A key
/// there already, or being written by a concurrent enqueue or retired by a
/// concurrent retention (which it waits for), takes no id: its item finds the
/// action that has it, or its retirement, as on SQLite. Retired keys keep
/// their lookup rows (migration 0023), so the key alone stops them.
/// The rows come as one array per column, sent in binary
/// ([`group_rows::postgres`]): as one JSON parameter, parsing it and its
/// times was a quarter of the statement.
static POSTGRES: LazyLock<String> =
    LazyLock::new(|| format!("WITH v AS (SELECT * FROM {}), {POSTGRES_TAIL}", group_rows::postgres(1, &ROW_TYPES)));
const POSTGRES_TAIL: &str = concat!(
    "k AS (INSERT INTO aol_action_lookup (action_id, idempotency_key, action_type, enqueued_by) \
     SELECT nextval('aol_actions_id_seq'), v.column1, v.column2, v.column11 FROM v \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING action_id, idempotency_key) \
     INSERT INTO aol_actions (id, ",
    insert_columns!(),
    ") OVERRIDING SYSTEM VALUE SELECT k.action_id, ",
    insert_values!(),
    " FROM k JOIN v ON v.column1 = k.idempotency_key ORDER BY k.action_id RETURNING id, idempotency_key"
);

/// A new action to write, and when it was enqueued; one per key.
pub(super) type Row<'a, 'b> = (&'a NewAction<'b>, DateTime<Utc>);

/// Writes new actions' rows (see the module's note).
pub(super) trait InsertRows {
    fn insert_rows(
        &mut self,
        rows: &[Row<'_, '_>],
    ) -> impl std::future::Future<Output = Result<Vec<(i64, String)>, sqlx::Error>> + Send;
}

impl InsertRows for sqlx::SqliteConnection {
    async fn insert_rows(&mut self, rows: &[Row<'_, '_>]) -> Result<Vec<(i64, String)>, sqlx::Error> {
        // SQLite's JSON functions parse a row's text again for each of its
        // twelve columns: the rows are bound instead.
        let conn = self;
        crate::storage::insert_bound!(conn, SQLITE_HEAD, ROW_TYPES.len(), SQLITE_TAIL, rows, |q, (new, now)| q
            .bind(new.idempotency_key)
            .bind(new.action_type)
            .bind(new.payload_json)
            .bind(sqlite_time(new.not_before_utc))
            .bind(sqlite_time(*now))
            .bind(new.status)
            .bind(new.channel)
            .bind(new.scheduled_for_utc.map(sqlite_time))
            .bind(new.not_after_utc.map(sqlite_time))
            .bind(new.policy)
            .bind(new.enqueued_by)
            .bind(new.time_zone) => (i64, String))
        .await
    }
}

impl InsertRows for sqlx::PgConnection {
    async fn insert_rows(&mut self, rows: &[Row<'_, '_>]) -> Result<Vec<(i64, String)>, sqlx::Error> {
        /// One column of the rows, as an array.
        fn column<'r, T>(rows: &'r [Row<'_, '_>], f: impl Fn(&'r Row<'_, '_>) -> T) -> Vec<T> {
            rows.iter().map(f).collect()
        }
        sqlx::query_as(POSTGRES.as_str())
            .bind(column(rows, |(n, _)| n.idempotency_key))
            .bind(column(rows, |(n, _)| n.action_type))
            .bind(column(rows, |(n, _)| n.payload_json))
            .bind(column(rows, |(n, _)| n.not_before_utc))
            .bind(column(rows, |(_, now)| *now))
            .bind(column(rows, |(n, _)| n.status))
            .bind(column(rows, |(n, _)| n.channel))
            .bind(column(rows, |(n, _)| n.scheduled_for_utc))
            .bind(column(rows, |(n, _)| n.not_after_utc))
            .bind(column(rows, |(n, _)| n.policy))
            .bind(column(rows, |(n, _)| n.enqueued_by))
            .bind(column(rows, |(n, _)| n.time_zone))
            .fetch_all(self)
            .await
    }
}
