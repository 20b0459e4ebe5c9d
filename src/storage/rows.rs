//! How multi-row statements carry their rows: numbered or anonymous
//! placeholders, one JSON parameter read as a relation, or values bound a
//! hundred rows a statement, each where its database reads it best.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// `($first, …), ($…, …)`: `rows` rows of `width` numbered placeholders, for
/// multi-row statements built at run time. Numbered, not `?`, so that they mix
/// with a statement's fixed `$1`…`$4` on both databases.
pub(crate) fn values_rows(first: usize, rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for col in 0..width {
            if col > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", first + row * width + col));
        }
        out.push(')');
    }
    out
}

/// The placeholders of a multi-row `VALUES` list that is the statement's
/// only parameters, as the connection's database reads them best. SQLite
/// gets anonymous `?`: a named one (`$7`) is looked up by a walk through all
/// of them as it is bound, which made a 500-row insert of 8 columns spend
/// most of its time there (2.9 ms against 0.3 ms with `?`).
///
/// [`Placeholders::json_rows`] reads the rows of a busy write from one JSON
/// parameter instead: the statement's text is the same for any number of
/// rows, so it is prepared once (preparing each batch size anew cost more
/// than writing it).
pub(crate) trait Placeholders {
    fn values_rows(&self, rows: usize, width: usize) -> String;

    /// Whether the rows of a busy insert are best bound as values
    /// ([`insert_bound`]) rather than read from JSON ([`Placeholders::json_rows`]).
    /// SQLite: its JSON functions parse a row's text again for each column they
    /// read (1,000 artifacts of ~1 KB as hex: ~40 ms read from JSON, ~12 ms
    /// bound; audit rows ~18 → ~7 ms). PostgreSQL plans each new statement
    /// text: a VALUES list per batch size cost more than the write.
    fn binds_rows(&self) -> bool;

    /// The relation `v(column1, …)` read, in order, from `$param`, a JSON
    /// array of rows (see [`json_rows_of`]), each an array of the values of
    /// `types` (PostgreSQL's names: `bigint`, `text`, `timestamptz`, or
    /// `bytea`, which travels as hex).
    fn json_rows(&self, param: usize, types: &[&str]) -> String;
}

/// `(?, …), (?, …)`: `rows` rows of `width` anonymous placeholders, as
/// SQLite reads them best (see [`Placeholders`]).
fn anonymous_rows(rows: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; rows].join(", ")
}

impl Placeholders for sqlx::SqliteConnection {
    fn values_rows(&self, rows: usize, width: usize) -> String {
        anonymous_rows(rows, width)
    }

    fn binds_rows(&self) -> bool {
        true
    }

    fn json_rows(&self, param: usize, types: &[&str]) -> String {
        group_rows::sqlite(param, types)
    }
}

impl Placeholders for sqlx::PgConnection {
    fn values_rows(&self, rows: usize, width: usize) -> String {
        values_rows(1, rows, width)
    }

    fn binds_rows(&self) -> bool {
        false
    }

    fn json_rows(&self, param: usize, types: &[&str]) -> String {
        let columns = json_columns(types, |i, t| match t {
            "bytea" => format!("decode(j.value ->> {i}, 'hex')"),
            _ => format!("(j.value ->> {i})::{t}"),
        });
        format!(
            "(SELECT {columns} FROM jsonb_array_elements(${param}) WITH ORDINALITY AS j(value, n) ORDER BY j.n) AS v"
        )
    }
}

impl super::Dialect {
    /// `t` as it reads back from a column it was written to through
    /// `group_rows::sqlite_time` or `group_rows::postgres_time`, or bound as
    /// a time (PostgreSQL's enqueue arrays): both keep microseconds on
    /// PostgreSQL, everything on SQLite.
    pub(crate) fn stored_time(self, t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            super::Dialect::Sqlite => t,
            super::Dialect::Postgres => chrono::SubsecRound::trunc_subsecs(t, 6),
        }
    }
}

/// `read(i, type) AS column1, …` for the columns of `types`.
fn json_columns(types: &[&str], read: impl Fn(usize, &str) -> String) -> String {
    let columns: Vec<String> =
        types.iter().enumerate().map(|(i, t)| format!("{} AS column{}", read(i, t), i + 1)).collect();
    columns.join(", ")
}

/// Rows per statement of [`insert_bound`] and of SQLite's enqueue: 500 rows
/// of 8 to 12 values bind up to 6,000 anonymous placeholders (SQLite allows
/// 32,766); every full statement has the same text, prepared once. Against
/// 100 a statement, fewer round trips to SQLite's writer thread: the PROOF
/// drain's daemon used 39–40.5 against 40.5–43.5 ms of CPU per 1,000 posts
/// (alternating runs, docs/scaling.md).
pub(crate) const BOUND_ROWS: usize = 500;

/// Rows of a multi-row SQLite statement written for `rows` rows (at most
/// [`BOUND_ROWS`]): up to 8 exactly, more rounded up to a multiple of 32 by
/// rows of nulls that the statement skips (see [`padding_skipped`]). So a
/// statement has one of 25 texts, each prepared once and kept by the
/// connection: preparing a 300-row insert of 12 columns anew took a third of
/// its time (python3 sqlite3, this schema: 2.6 ms, against 1.8 ms once
/// prepared and 2.5 ms padded from 300 to 500 rows).
pub(crate) fn statement_rows(rows: usize) -> usize {
    const EXACT: usize = 8;
    const STEP: usize = 32;
    if rows <= EXACT {
        rows
    } else {
        rows.div_ceil(STEP).saturating_mul(STEP).min(BOUND_ROWS)
    }
}

/// `INSERT … SELECT` from the rows `v(column1, …)` given as `values`, without
/// the padding of [`statement_rows`]: rows whose first value is null.
fn padding_skipped(values: &str) -> String {
    format!("SELECT * FROM (VALUES {values}) AS v WHERE v.column1 IS NOT NULL")
}

/// Inserts `$rows` on `$conn` by statements `$head SELECT … FROM (VALUES (…),
/// …)$tail` of at most [`BOUND_ROWS`] rows of `$width` values, padded as
/// [`statement_rows`] says, `|q, row| …` binding one row's values in order
/// (its first never null; for connections whose
/// [`Placeholders::binds_rows`]). With `last: $last_tail, |q| …`, the last
/// statement ends with `$last_tail` instead (more statements of the same
/// trip, on SQLite) and `|q| …` binds what they take after the rows.
/// Evaluates to the statements' `Result`.
macro_rules! insert_bound {
    ($conn:expr, $head:expr, $width:expr, $tail:expr, $rows:expr, |$q:ident, $row:pat_param| $bind:expr) => {
        $crate::storage::insert_bound!($conn, $head, $width, $tail, $rows, |$q, $row| $bind, last: $tail, |q| q)
    };
    ($conn:expr, $head:expr, $width:expr, $tail:expr, $rows:expr, |$q:ident, $row:pat_param| $bind:expr,
     last: $last_tail:expr, |$lq:ident| $last_bind:expr) => {
        async {
            let rows = &$rows;
            let chunks = rows.chunks($crate::storage::BOUND_ROWS).count();
            for (i, chunk) in rows.chunks($crate::storage::BOUND_ROWS).enumerate() {
                let last = i + 1 == chunks;
                let size = $crate::storage::statement_rows(chunk.len());
                let sql = $crate::storage::bound_statement($head, $width, if last { $last_tail } else { $tail }, size);
                let mut $q = sqlx::query(&sql);
                for $row in chunk {
                    $q = $bind;
                }
                for _ in chunk.len() * $width..size * $width {
                    $q = $q.bind(None::<&str>);
                }
                if last {
                    $q = {
                        let $lq = $q;
                        $last_bind
                    };
                }
                $q.execute(&mut *$conn).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use insert_bound;

/// `$head SELECT … FROM (VALUES (?, …), …)$tail` for `size` rows of `width`
/// anonymous placeholders, its padding skipped (SQLite's multi-row inserts:
/// [`insert_bound`] and the enqueue's). Made once for each statement and
/// size: made anew for every one, it was work inside SQLite's writer's
/// turn, which every other write waits for.
pub(crate) fn bound_statement(head: &'static str, width: usize, tail: &'static str, size: usize) -> Arc<str> {
    type Key = (&'static str, usize, &'static str, usize);
    static MADE: LazyLock<Mutex<HashMap<Key, Arc<str>>>> = LazyLock::new(Mutex::default);
    let mut made = MADE.lock().expect("statement cache poisoned");
    made.entry((head, width, tail, size))
        .or_insert_with(|| format!("{head}{}{tail}", padding_skipped(&anonymous_rows(size, width))).into())
        .clone()
}

/// The parameter [`Placeholders::json_rows`] reads: `rows`, one JSON array
/// each (bytes as hex).
pub(crate) fn json_rows_of(rows: Vec<serde_json::Value>) -> sqlx::types::Json<serde_json::Value> {
    sqlx::types::Json(serde_json::Value::Array(rows))
}

/// The rows of a multi-row write as the relation `v(column1, …)`: one
/// statement text whatever the number of rows, so it is prepared once
/// instead of once per batch size, with a handful of parameters (planning a
/// 64-row VALUES statement took longer than running it on PostgreSQL; binding
/// 2,500 numbered placeholders took a tenth of SQLite's writer's time).
pub(crate) mod group_rows {
    use chrono::{DateTime, SecondsFormat, Utc};

    /// SQLite reads the rows, in their order, from `$param`, one JSON array of
    /// rows (see [`super::json_rows_of`]), each an array of the values of
    /// `types` (only `bytea`, as hex, is read differently).
    pub(crate) fn sqlite(param: usize, types: &[&str]) -> String {
        let columns = super::json_columns(types, |i, t| match t {
            "bytea" => format!("unhex(j.value ->> {i})"),
            _ => format!("j.value ->> {i}"),
        });
        format!("(SELECT {columns} FROM json_each(${param}) AS j ORDER BY j.key) AS v")
    }

    /// A time as SQLite's columns hold it: the text sqlx binds a `DateTime<Utc>` as.
    pub(crate) fn sqlite_time(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }

    /// A time as PostgreSQL keeps it, in microseconds (it would round nanoseconds
    /// where sqlx's binding cuts them).
    pub(crate) fn postgres_time(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// PostgreSQL reads one array per column through `unnest`, `$first`… in the
    /// order of `types` (PostgreSQL's names of the columns' types).
    pub(crate) fn postgres(first: usize, types: &[&str]) -> String {
        let (arrays, names) = postgres_parts(first, types);
        format!("unnest({arrays}) AS v({names})")
    }

    /// [`postgres`], each row with its place among them, `ord` (from 1).
    pub(crate) fn postgres_numbered(first: usize, types: &[&str]) -> String {
        let (arrays, names) = postgres_parts(first, types);
        format!("unnest({arrays}) WITH ORDINALITY AS v({names}, ord)")
    }

    /// `unnest`'s arrays, and the names of its columns.
    fn postgres_parts(first: usize, types: &[&str]) -> (String, String) {
        let arrays: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", first + i)).collect();
        let names: Vec<String> = (1..=types.len()).map(|i| format!("column{i}")).collect();
        (arrays.join(", "), names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_rows_numbers_on_from_first() {
        assert_eq!(values_rows(5, 2, 3), "($5, $6, $7), ($8, $9, $10)");
        assert_eq!(values_rows(1, 1, 1), "($1)");
    }

    #[tokio::test]
    async fn placeholders_per_dialect() {
        use sqlx::Connection;
        let sqlite = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        assert_eq!(Placeholders::values_rows(&sqlite, 2, 3), "(?, ?, ?), (?, ?, ?)");
    }

    #[test]
    fn group_rows_per_dialect() {
        assert_eq!(
            group_rows::sqlite(5, &["bigint", "text"]),
            "(SELECT j.value ->> 0 AS column1, j.value ->> 1 AS column2 FROM json_each($5) AS j ORDER BY j.key) AS v"
        );
        assert_eq!(
            group_rows::postgres(5, &["bigint", "text"]),
            "unnest($5::bigint[], $6::text[]) AS v(column1, column2)"
        );
    }
}
