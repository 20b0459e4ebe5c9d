//! Storage: the AOL tables on SQLite or PostgreSQL.
//!
//! One concrete handle, [`Db`], wraps either pool. Statements are written once
//! with `$N` placeholders (both dialects accept them) and run on whichever pool
//! is open through [`on_pool!`]; only where the dialects truly differ does a
//! method spell out two arms. Methods are grouped by table, one file each.

mod actions;
mod agents;
mod approvals;
mod attempts;
pub mod audit;
mod blobs;
mod changes;
mod channels;
mod chores;
mod claim;
mod counters;
mod enqueue;
mod error;
pub(crate) mod fence;
mod flags;
mod lease;
mod ledger;
mod logs;
pub mod outbox;
mod people;
mod policies;
mod retention;
mod secrets;
mod sqlite_writer;

pub use actions::{Marked, Requeue, Resolution, Sending};
pub use approvals::{Decided, Decision, Edit};
pub use attempts::{Finish, Finished};
pub use audit::{AuditCheck, AuditEntry, AuditFind, AuditRow};
pub use blobs::NewBlob;
pub use changes::ChangeMarker;
pub use channels::{ArmOutcome, NewChannel, RateLimits, ServerLimits};
pub use chores::Chores;
pub use enqueue::{Inserted, NewAction, RetiredKey};
pub use error::StoreError;
pub use fence::Fence;
pub use flags::Actor;
pub use ledger::NewTick;
pub use logs::{NewLog, ARTIFACT_REF_PREFIX};
pub use people::{PersonRow, SessionRow};
pub use retention::FINISHED_STATUSES;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use enqueue::InsertGroup;
use sqlite_writer::SqliteWriter;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a statement waits for another writer, or the pool for a connection,
/// before the caller sees an error.
const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// Which database a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqliteWriter),
    Postgres(PgPool),
}

/// Runs the same statement code on whichever database is open, with `$conn`
/// bound to a `&mut` connection (SQLite's writer, or one from PostgreSQL's
/// pool) for the whole body: reborrow it (`&mut *conn`) to use it more than
/// once. The body is compiled once per dialect, so it may use anything
/// generic over `sqlx::Database`. With a [`fence::PerDialect`] statement,
/// `$sql` is bound to its spelling for the open dialect.
macro_rules! on_pool {
    ($db:expr, |$conn:ident| $body:expr) => {
        match &$db.pool {
            $crate::storage::Pool::Sqlite(writer) => {
                let mut guard = writer.lock().await?;
                let $conn = &mut *guard;
                $body
            }
            $crate::storage::Pool::Postgres(pool) => {
                let mut guard = pool.acquire().await?;
                let $conn = &mut *guard;
                $body
            }
        }
    };
    ($db:expr, $stmt:expr, |$conn:ident, $sql:ident| $body:expr) => {{
        let $sql: &'static str = $stmt.on($db.dialect());
        $crate::storage::on_pool!($db, |$conn| $body)
    }};
}
pub(crate) use on_pool;

/// Like [`on_pool!`], for statements that only read: on SQLite they run on
/// the reader connections, so that the dashboard and the API keep answering
/// while a write waits for a lock another process holds.
macro_rules! on_read_pool {
    ($db:expr, |$conn:ident| $body:expr) => {
        match (&$db.pool, &$db.reader) {
            (_, Some(reader)) => {
                let mut guard = reader.acquire().await?;
                let $conn = &mut *guard;
                $body
            }
            (_, None) => $crate::storage::on_pool!($db, |$conn| $body),
        }
    };
}
pub(crate) use on_read_pool;

/// A handle on the AOL database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) pool: Pool,
    /// SQLite only: read-only connections for statements that only read
    /// (WAL lets them run beside the one writer).
    pub(crate) reader: Option<SqlitePool>,
    /// Enqueues of this process waiting to be written together (see `enqueue`).
    inserts: Arc<InsertGroup>,
}

/// Read-only SQLite connections per process.
const SQLITE_READERS: u32 = 4;

impl Db {
    /// Opens `url` (`sqlite:…` or `postgres://…`). A SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        match dialect_of(url)? {
            Dialect::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl(format!("{}: {e}", redact(url))))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(WAIT_LIMIT)
                    .foreign_keys(true)
                    // No checkpoint inside a commit: the one that crossed the
                    // threshold waited for it and its fsync (single enqueue
                    // p99 2-3 ms on disk, 0.3-0.7 on tmpfs). `aol serve` and
                    // `aol daemon` checkpoint every second (`Db::checkpoint`);
                    // a process's last connection checkpoints as it closes.
                    .pragma("wal_autocheckpoint", "0")
                    // 32 MiB of pages per connection instead of 2: the
                    // writer's indexes stay in memory instead of being read
                    // back from the file at every commit.
                    .pragma("cache_size", "-32768");
                // One connection: SQLite runs one writer at a time anyway, and
                // writers of one process competing on several connections meet
                // SQLite's busy handler, which sleeps (HTTP enqueue p99 was
                // 54 ms with 8, 8 ms with 1, same throughput). Other processes
                // (the CLI) still wait up to WAIT_LIMIT. Never hold a
                // transaction open while awaiting another query on the pool.
                // (`SqliteWriter`: one connection taken in turn.)
                let writer = SqliteWriter::open(&options, WAIT_LIMIT)
                    .await
                    .map_err(|e| StoreError::Unreachable(format!("{}: {e}", redact(url))))?;
                // An in-memory database exists once per connection: it has no readers.
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let reader = if in_memory {
                    None
                } else {
                    Some(
                        SqlitePoolOptions::new()
                            .max_connections(SQLITE_READERS)
                            // No ping before each use: a SQLite connection
                            // is a file and a thread of this process.
                            .test_before_acquire(false)
                            .acquire_timeout(WAIT_LIMIT)
                            .connect_lazy_with(options.read_only(true)),
                    )
                };
                Ok(Db { pool: Pool::Sqlite(writer), reader, inserts: Arc::new(InsertGroup::new(Dialect::Sqlite)) })
            }
            Dialect::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(WAIT_LIMIT)
                    .connect(url)
                    .await
                    .map_err(|e| StoreError::Unreachable(format!("{}: {e}", redact(url))))?;
                Ok(Db {
                    pool: Pool::Postgres(pool),
                    reader: None,
                    inserts: Arc::new(InsertGroup::new(Dialect::Postgres)),
                })
            }
        }
    }

    /// Brings the schema up to date; safe to run at every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(writer) => {
                let mut conn = writer.lock().await?;
                SQLITE_MIGRATIONS.run_direct(&mut *conn).await?
            }
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// The migrations this build knows that the database has not applied
    /// (empty: the schema is current). Also proves the database answers.
    pub async fn migrations_missing(&self) -> Result<Vec<String>, StoreError> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";
        let (migrator, applied): (&Migrator, Vec<i64>) = match &self.pool {
            Pool::Sqlite(writer) => {
                (&SQLITE_MIGRATIONS, sqlx::query_scalar(APPLIED).fetch_all(&mut *writer.lock().await?).await?)
            }
            Pool::Postgres(pool) => (&POSTGRES_MIGRATIONS, sqlx::query_scalar(APPLIED).fetch_all(pool).await?),
        };
        Ok(migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{}_{}", m.version, m.description))
            .collect())
    }

    /// Writes a consistent copy of a SQLite database to `file` (`VACUUM INTO`:
    /// safe while other connections write). PostgreSQL has pg_dump for this.
    pub async fn backup_into(&self, file: &std::path::Path) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(writer) => {
                let path = file.to_str().ok_or_else(|| StoreError::BadUrl("the backup path is not UTF-8".into()))?;
                sqlx::query("VACUUM INTO $1").bind(path).execute(&mut *writer.lock().await?).await?;
                Ok(())
            }
            Pool::Postgres(_) => Err(StoreError::Unsupported(
                "aol backup copies SQLite databases; back up PostgreSQL with pg_dump".into(),
            )),
        }
    }

    /// Copies SQLite's write-ahead log into the database file, as far as no
    /// reader still needs it (a no-op on PostgreSQL). Writers wait meanwhile:
    /// a second's worth of pages.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(writer) => {
                sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *writer.lock().await?).await?;
                Ok(())
            }
            Pool::Postgres(_) => Ok(()),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// How many write transactions are worth running side by side: one on
    /// SQLite (one writer), two on PostgreSQL (a backend each, two cores here).
    pub fn concurrent_writes(&self) -> usize {
        match self.pool {
            Pool::Sqlite(_) => 1,
            Pool::Postgres(_) => 2,
        }
    }

    /// Closes every connection; waits for statements in flight.
    pub async fn close(&self) {
        if let Some(reader) = &self.reader {
            reader.close().await;
        }
        match &self.pool {
            Pool::Sqlite(writer) => writer.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

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

    /// A time as [`Placeholders::json_rows`] reads a `timestamptz` into a column.
    fn json_time(&self, t: chrono::DateTime<chrono::Utc>) -> String;

    /// `t` as it reads back from a column it was written to through
    /// [`Placeholders::json_time`].
    fn stored_time(&self, t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc>;
}

impl Placeholders for sqlx::SqliteConnection {
    fn values_rows(&self, rows: usize, width: usize) -> String {
        let row = format!("({})", vec!["?"; width].join(", "));
        vec![row; rows].join(", ")
    }

    fn binds_rows(&self) -> bool {
        true
    }

    fn json_rows(&self, param: usize, types: &[&str]) -> String {
        group_rows::sqlite(param, types)
    }

    fn json_time(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        group_rows::sqlite_time(t)
    }

    fn stored_time(&self, t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        t
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

    fn json_time(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        group_rows::postgres_time(t)
    }

    fn stored_time(&self, t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        chrono::SubsecRound::trunc_subsecs(t, 6)
    }
}

/// `read(i, type) AS column1, …` for the columns of `types`.
fn json_columns(types: &[&str], read: impl Fn(usize, &str) -> String) -> String {
    let columns: Vec<String> =
        types.iter().enumerate().map(|(i, t)| format!("{} AS column{}", read(i, t), i + 1)).collect();
    columns.join(", ")
}

/// Rows per statement of [`insert_bound`]: 100 rows of 8 values bind 800
/// anonymous placeholders; every full statement has the same text, prepared once.
pub(crate) const BOUND_ROWS: usize = 100;

/// Inserts `$rows` on `$conn` by statements `$head VALUES (…), …$tail` of at
/// most [`BOUND_ROWS`] rows of `$width` values, `|q, row| …` binding one row's
/// values in order (for connections whose [`Placeholders::binds_rows`]).
/// Evaluates to the statements' `Result`.
macro_rules! insert_bound {
    ($conn:expr, $head:expr, $width:expr, $tail:expr, $rows:expr, |$q:ident, $row:pat_param| $bind:expr) => {
        async {
            for chunk in $rows.chunks($crate::storage::BOUND_ROWS) {
                let values = $crate::storage::Placeholders::values_rows(&*$conn, chunk.len(), $width);
                let sql = format!("{}VALUES {values}{}", $head, $tail);
                // A short last statement is prepared and dropped: its text
                // would push others out of the connection's cache.
                let mut $q = sqlx::query(&sql).persistent(chunk.len() == $crate::storage::BOUND_ROWS);
                for $row in chunk {
                    $q = $bind;
                }
                $q.execute(&mut *$conn).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use insert_bound;

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
        let arrays: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", first + i)).collect();
        let names: Vec<String> = (1..=types.len()).map(|i| format!("column{i}")).collect();
        format!("unnest({}) AS v({})", arrays.join(", "), names.join(", "))
    }
}

/// The statements every tick runs that read the queue, by name, as `dialect`
/// spells them: for the tests that check their plans (one that reads every
/// queued action at each tick is slow only once the queue is long).
pub fn tick_statements(dialect: Dialect) -> [(&'static str, &'static str); 3] {
    [
        ("claim", claim::CLAIM.on(dialect)),
        ("chores_due", chores::CHORES_DUE.on(dialect)),
        ("expire_late", chores::EXPIRE_LATE.on(dialect)),
    ]
}

/// The migration file names for a dialect, in order (used by the parity test).
pub fn migration_names(dialect: Dialect) -> Vec<String> {
    let migrator = match dialect {
        Dialect::Sqlite => &SQLITE_MIGRATIONS,
        Dialect::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.iter().map(|m| format!("{}_{}", m.version, m.description)).collect()
}

/// Which dialect a URL names, or why it names none.
pub fn dialect_of(url: &str) -> Result<Dialect, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Dialect::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Dialect::Postgres)
    } else {
        Err(StoreError::BadUrl(format!("{}: expected sqlite:PATH or postgres://USER@HOST/DB", redact(url))))
    }
}

/// The URL with any password replaced, fit for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_password_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://aol.db"), "sqlite://aol.db");
    }

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

    #[test]
    fn dialect_from_url() {
        assert_eq!(dialect_of("sqlite://aol.db").unwrap(), Dialect::Sqlite);
        assert_eq!(dialect_of("sqlite::memory:").unwrap(), Dialect::Sqlite);
        assert_eq!(dialect_of("postgresql://x/y").unwrap(), Dialect::Postgres);
        let err = dialect_of("mysql://x/y").unwrap_err().to_string();
        assert!(err.contains("expected sqlite:PATH or postgres://"), "{err}");
    }
}
