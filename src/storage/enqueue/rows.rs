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
pub(super) const SQLITE_HEAD: &str =
    concat!("INSERT INTO aol_actions (", insert_columns!(), ") SELECT ", insert_values!(), " FROM (");
/// What follows SQLite's rows: a key retired or known is skipped.
macro_rules! sqlite_tail {
    () => {
        ") AS v WHERE NOT EXISTS (SELECT 1 FROM aol_retired_keys r WHERE r.idempotency_key = v.column1) \
         ON CONFLICT (idempotency_key) DO NOTHING"
    };
}
/// SQLite's insert opening the group's transaction, sent in the same trip
/// ([`super::sqlite_trips`]).
pub(super) const SQLITE_BEGIN_HEAD: &str =
    concat!("BEGIN IMMEDIATE; INSERT INTO aol_actions (", insert_columns!(), ") SELECT ", insert_values!(), " FROM (");
/// Takes (locks) the audit chain's head: its seq and hash. How many events
/// the group appends is known once its outcomes are; the second trip moves
/// the head on ([`super::sqlite_trips`]).
macro_rules! take_head {
    () => {
        "; UPDATE aol_audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash"
    };
}
/// The ids and keys of the rows the insert just before added, as one JSON
/// array (`new_rows`), and how many it added (`added`): sqlx brings each returned row over from SQLite's
/// thread by itself, and many rows' keys come back as one row instead. Its
/// rows are the newest (ids only grow, and the writer inserts nothing
/// between), though not always consecutive: a row that meets a known key
/// may use up an id.
macro_rules! new_rows {
    () => {
        "; SELECT json_group_array(json_array(id, idempotency_key)) AS new_rows, changes() AS added FROM \
         (SELECT id, idempotency_key FROM aol_actions WHERE id <= last_insert_rowid() \
         ORDER BY id DESC LIMIT changes())"
    };
}
/// The tail of a group of a few rows (one statement, the whole group): each
/// new row's id and key, then the head.
pub(super) const SQLITE_TAIL_RETURNING: &str = concat!(sqlite_tail!(), " RETURNING id, idempotency_key", take_head!());
/// The tails of a group's many rows, a statement per [`crate::storage::BOUND_ROWS`]: the
/// new rows as one array, then for the last statement the head. HTTP
/// batches of 100: higher in 6 of 8 alternating pairs (-5 to +19 %) than
/// rows returned each; single enqueues were 6 % slower that way, the extra
/// statement costing more than their few rows.
pub(super) const SQLITE_TAIL_MANY: &str = concat!(sqlite_tail!(), new_rows!());
pub(super) const SQLITE_TAIL_MANY_LAST: &str = concat!(sqlite_tail!(), new_rows!(), take_head!());
/// Up to this many rows, SQLite's insert hands back its new rows.
pub(super) const SQLITE_RETURNED_ROWS: usize = 32;

/// PostgreSQL's columns of `v`: [`ROW_TYPES`], then each row's call (its
/// number among the group's callers).
const POSTGRES_ROW_TYPES: [&str; 13] = {
    let mut all = ["int4"; 13];
    let mut i = 0;
    while i < ROW_TYPES.len() {
        all[i] = ROW_TYPES[i];
        i += 1;
    }
    all
};
/// PostgreSQL's `enqueued_with` of each row inserted (events.rs): the first
/// id of its call's new actions when the call added more than one, else
/// null. Ids are taken in the items' order, so the first is the least.
const POSTGRES_ENQUEUED_WITH: &str = "CASE WHEN count(*) OVER per_call > 1 THEN min(v.id) OVER per_call END";
/// The window [`POSTGRES_ENQUEUED_WITH`] reads.
const POSTGRES_CALL: &str = " WINDOW per_call AS (PARTITION BY v.column13)";

/// PostgreSQL's rows `v`, each with its place `ord` (from 1) and the `id`
/// its action will have, taken in the items' order (a thread's posts keep
/// theirs). A key known already uses up its id, as an insert's does.
static POSTGRES_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH v AS (SELECT nextval('aol_actions_id_seq') AS id, * FROM {})",
        group_rows::postgres_numbered(1, &POSTGRES_ROW_TYPES)
    )
});
/// The keys' lookup rows are inserted in the keys' order, whatever the
/// items' order: two groups that share keys (a group holds whichever
/// callers waited, and groups write at once) then wait for each other's
/// keys one way only. In the items' order, each could hold a key the other
/// waits for, and PostgreSQL broke the deadlock by failing one.
const IN_KEY_ORDER: &str = " ORDER BY v.column1 COLLATE \"C\"";

/// PostgreSQL's enqueue: each key's lookup row first, then the actions
/// whose keys it took (migration 0022). A key there already, or being
/// written by a concurrent enqueue or retired by a concurrent retention
/// (which it waits for), is skipped: its item finds the action that has it,
/// or its retirement, as on SQLite. Retired keys keep their lookup rows
/// (migration 0023), so the key alone stops them.
/// The rows come as one array per column, sent in binary
/// ([`group_rows::postgres`]): as one JSON parameter, parsing it and its
/// times was a quarter of the statement.
static POSTGRES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}, k AS (INSERT INTO aol_action_lookup (action_id, idempotency_key, action_type, enqueued_by) \
         SELECT v.id, v.column1, v.column2, v.column11 FROM v{} \
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING action_id) \
         INSERT INTO aol_actions (id, {}, enqueued_with) OVERRIDING SYSTEM VALUE SELECT v.id, {}, {} \
         FROM k JOIN v ON v.id = k.action_id{} ORDER BY v.id RETURNING id, idempotency_key",
        POSTGRES_ROWS.as_str(),
        IN_KEY_ORDER,
        insert_columns!(),
        insert_values!(),
        POSTGRES_ENQUEUED_WITH,
        POSTGRES_CALL
    )
});

/// PostgreSQL's insert of actions whose keys are all new ([`super::one_statement`]):
/// the lookup rows (`k`) and actions (`a`) of the rows `v` are written
/// without a look for their keys: a key already there fails the statement
/// with a unique violation of `aol_action_lookup_key` ([`POSTGRES_KEY_TAKEN`]),
/// and nothing is written. Skipping the look (`ON CONFLICT`), and the join
/// of the keys it took back to their rows, saved ~7 % of the statement
/// (pgbench, groups of 130, three alternating passes). `$14` on are the
/// caller's.
pub(super) static POSTGRES_ALL_NEW: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}, k AS (INSERT INTO aol_action_lookup (action_id, idempotency_key, action_type, enqueued_by) \
         SELECT v.id, v.column1, v.column2, v.column11 FROM v{} RETURNING 1), \
         a AS (INSERT INTO aol_actions (id, {}, enqueued_with) OVERRIDING SYSTEM VALUE \
         SELECT v.id, {}, {} FROM v{} RETURNING 1) ",
        POSTGRES_ROWS.as_str(),
        IN_KEY_ORDER,
        insert_columns!(),
        insert_values!(),
        POSTGRES_ENQUEUED_WITH,
        POSTGRES_CALL
    )
});
/// The constraint a known or retired key fails [`POSTGRES_ALL_NEW`] on.
pub(super) const POSTGRES_KEY_TAKEN: &str = "aol_action_lookup_key";

/// A new action to write, when it was enqueued, and its call's number
/// among the group's callers; one per key.
pub(super) type Row<'a, 'b> = (&'a NewAction<'b>, DateTime<Utc>, i32);

/// The values of SQLite's enqueue statement of `size` rows for `chunk` (in
/// [`insert_columns`]'s order), then rows of nulls. Bound one by one:
/// SQLite's JSON functions parse a row's text again for each of its twelve
/// columns.
pub(super) fn sqlite_arguments<'q>(
    chunk: &[Row<'q, '_>],
    size: usize,
) -> Result<sqlx::sqlite::SqliteArguments<'q>, sqlx::Error> {
    use sqlx::Arguments as _;
    fn add<'q, T: sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + 'q>(
        args: &mut sqlx::sqlite::SqliteArguments<'q>,
        value: T,
    ) -> Result<(), sqlx::Error> {
        args.add(value).map_err(sqlx::Error::Encode)
    }
    // A caller's rows share when they were enqueued, and most are due then:
    // each time is written as text once for them (two per row were a good
    // part of the arguments' making, inside the writer's turn).
    let mut last: Option<(DateTime<Utc>, String)> = None;
    let mut time = |t: DateTime<Utc>| match &last {
        Some((at, text)) if *at == t => text.clone(),
        _ => last.insert((t, sqlite_time(t))).1.clone(),
    };
    let mut args = sqlx::sqlite::SqliteArguments::default();
    for (new, now, _) in chunk {
        add(&mut args, new.idempotency_key)?;
        add(&mut args, new.action_type)?;
        add(&mut args, new.payload_json)?;
        add(&mut args, time(new.not_before_utc))?;
        add(&mut args, time(*now))?;
        add(&mut args, new.status)?;
        add(&mut args, new.channel)?;
        add(&mut args, new.scheduled_for_utc.map(sqlite_time))?;
        add(&mut args, new.not_after_utc.map(sqlite_time))?;
        add(&mut args, new.policy)?;
        add(&mut args, new.enqueued_by)?;
        add(&mut args, new.time_zone)?;
    }
    for _ in chunk.len() * ROW_TYPES.len()..size * ROW_TYPES.len() {
        add(&mut args, None::<&str>)?;
    }
    Ok(args)
}

/// SQLite's enqueue statement of `size` rows (its padding skipped, as in
/// every multi-row insert) after `head` and before `tail`: made once per
/// size, as `insert_bound`'s are.
pub(super) fn sqlite_sql(head: &'static str, tail: &'static str, size: usize) -> std::sync::Arc<str> {
    crate::storage::bound_statement(head, ROW_TYPES.len(), tail, size)
}

/// Binds the rows of a PostgreSQL enqueue as `$1`…`$13`, one array per
/// column of the relation `v` ([`POSTGRES_ROW_TYPES`]).
pub(super) fn bind_postgres<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    rows: &'q [Row<'_, '_>],
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    /// One column of the rows, as an array.
    fn column<'r, T>(rows: &'r [Row<'_, '_>], f: impl Fn(&'r Row<'_, '_>) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    query
        .bind(column(rows, |(n, _, _)| n.idempotency_key))
        .bind(column(rows, |(n, _, _)| n.action_type))
        .bind(column(rows, |(n, _, _)| n.payload_json))
        .bind(column(rows, |(n, _, _)| n.not_before_utc))
        .bind(column(rows, |(_, now, _)| *now))
        .bind(column(rows, |(n, _, _)| n.status))
        .bind(column(rows, |(n, _, _)| n.channel))
        .bind(column(rows, |(n, _, _)| n.scheduled_for_utc))
        .bind(column(rows, |(n, _, _)| n.not_after_utc))
        .bind(column(rows, |(n, _, _)| n.policy))
        .bind(column(rows, |(n, _, _)| n.enqueued_by))
        .bind(column(rows, |(n, _, _)| n.time_zone))
        .bind(column(rows, |(_, _, call)| *call))
}

/// Writes new actions' rows on PostgreSQL, answering each new action's id
/// and key (a known or retired key is skipped, and its item found afterwards).
pub(super) async fn insert_postgres(
    conn: &mut sqlx::PgConnection,
    rows: &[Row<'_, '_>],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    bind_postgres(sqlx::query_as(POSTGRES.as_str()), rows).fetch_all(conn).await
}
