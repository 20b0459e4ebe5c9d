//! Storage: the AOL tables on SQLite or PostgreSQL.
//!
//! One concrete handle, [`Db`], wraps either pool. Statements are written once
//! with `$N` placeholders (both dialects accept them) and run on whichever pool
//! is open through [`on_pool!`]; only where the dialects truly differ does a
//! method spell out two arms. Methods are grouped by table, one file each.

mod action_reads;
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
mod durable;
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
mod rows;
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
pub use claim::{first_part, part_failed, rest_of, ClaimParts};
pub use enqueue::{Inserted, NewAction, RetiredKey};
pub use error::StoreError;
pub use fence::Fence;
pub use flags::Actor;
pub use ledger::NewTick;
pub use logs::{NewLog, ARTIFACT_REF_PREFIX};
pub use people::{PersonRow, SessionRow};
pub use retention::FINISHED_STATUSES;
pub(crate) use rows::{
    bound_statement, group_rows, insert_bound, json_rows_of, statement_rows, Placeholders, BOUND_ROWS,
};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use enqueue::InsertGroup;
use sqlite_writer::SqliteWriter;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

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
    /// SQLite only: a connection of its own for [`Db::checkpoint`].
    checkpointer: Option<SqlitePool>,
    /// Enqueues of this process waiting to be written together (see `enqueue`).
    inserts: Arc<InsertGroup>,
}

/// A pooled PostgreSQL connection idle this long is pinged before use.
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

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
                    .pragma("synchronous", durable::SQLITE_SYNCHRONOUS)
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
                // Room for every size of the multi-row inserts
                // (`statement_rows`) besides the rest, all kept prepared.
                let writer = SqliteWriter::open(&options.clone().statement_cache_capacity(256), WAIT_LIMIT)
                    .await
                    .map_err(|e| StoreError::Unreachable(format!("{}: {e}", redact(url))))?;
                // An in-memory database exists once per connection: it has no readers.
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let (reader, checkpointer) = if in_memory {
                    (None, None)
                } else {
                    let lazy = |max: u32, options: SqliteConnectOptions| {
                        SqlitePoolOptions::new()
                            .max_connections(max)
                            // No ping before each use: a SQLite connection
                            // is a file and a thread of this process.
                            .test_before_acquire(false)
                            .acquire_timeout(WAIT_LIMIT)
                            .connect_lazy_with(options)
                    };
                    (Some(lazy(SQLITE_READERS, options.clone().read_only(true))), Some(lazy(1, options)))
                };
                let inserts = Arc::new(InsertGroup::new(Dialect::Sqlite));
                Ok(Db { pool: Pool::Sqlite(writer), reader, checkpointer, inserts })
            }
            Dialect::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(WAIT_LIMIT)
                    // A ping (a round trip) only for a connection that sat
                    // idle: under load each enqueue group took two, and
                    // sqlx's pings were 9 % of AOL's CPU in HTTP batches.
                    // A connection lost since its last use fails its next
                    // statement instead, as one lost during a statement does.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_AFTER_IDLE {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect(url)
                    .await
                    .map_err(|e| StoreError::Unreachable(format!("{}: {e}", redact(url))))?;
                Ok(Db {
                    pool: Pool::Postgres(pool),
                    reader: None,
                    checkpointer: None,
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
    /// reader still needs it (a no-op on PostgreSQL). On a connection of its
    /// own: a PASSIVE checkpoint waits for no one, and the writer goes on
    /// appending meanwhile (on the writer's connection, the writes of the
    /// daemon and of every enqueue waited ~90 ms once a second while it
    /// copied a second's worth of pages of a drain).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        match (&self.pool, &self.checkpointer) {
            (Pool::Sqlite(_), Some(own)) => {
                sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(own).await?;
                Ok(())
            }
            (Pool::Sqlite(writer), None) => {
                sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *writer.lock().await?).await?;
                Ok(())
            }
            (Pool::Postgres(_), _) => Ok(()),
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
        if let Some(own) = &self.checkpointer {
            own.close().await;
        }
        match &self.pool {
            Pool::Sqlite(writer) => writer.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
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

/// The lookups of actions and retired keys by a list of keys (every enqueue
/// group makes one on PostgreSQL), by name, as `dialect` spells them: for
/// the tests that check their plans.
pub fn key_statements(dialect: Dialect) -> [(&'static str, &'static str); 2] {
    [("actions by keys", action_reads::BY_KEYS.on(dialect)), ("retired keys", action_reads::RETIRED_AMONG.on(dialect))]
}

/// Retention's deletes of old log lines and of old actions of one status
/// (the same text on both databases): for the tests that check their plans
/// (one that reads every finished action is slow only with a long history).
pub fn retention_statements() -> [(&'static str, &'static str); 2] {
    [("old log lines", retention::LOGS), ("old actions", retention::ACTIONS_OF_STATUS)]
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
    fn dialect_from_url() {
        assert_eq!(dialect_of("sqlite://aol.db").unwrap(), Dialect::Sqlite);
        assert_eq!(dialect_of("sqlite::memory:").unwrap(), Dialect::Sqlite);
        assert_eq!(dialect_of("postgresql://x/y").unwrap(), Dialect::Postgres);
        let err = dialect_of("mysql://x/y").unwrap_err().to_string();
        assert!(err.contains("expected sqlite:PATH or postgres://"), "{err}");
    }
}
