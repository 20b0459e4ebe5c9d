//! When a write is durable, and when the audit chain's head is free again:
//! a group of enqueued actions or of attempts' results, a write after which
//! a REAL request leaves, and an operator's decision.
//!
//! On PostgreSQL every append to the audit chain holds the chain's head from
//! its first statement to its commit, and a commit waits for its WAL to reach
//! the disk: HTTP batches of 100 held the head ~2.3 ms a group, a millisecond
//! of it that wait, and 100 actions per 2.3 ms was their ceiling; the
//! drain's two result writers of 500 each waited for the other's head
//! through its commit (docs/scaling.md). A large group's transaction
//! therefore commits without waiting (`synchronous_commit = off` for it
//! alone), which frees the head and its rows at once, and then waits for its
//! commit to be on disk before anyone is answered: a transaction that writes
//! WAL and commits as the server is set to (`pg_logical_emit_message`, a
//! record of a few bytes) flushes the WAL up to its own commit, which comes
//! after the group's. WAL is written in order, so a later append chained on
//! these rows is never on disk without them; and a crash between the two
//! loses only what no one was told of: actions whose callers send their keys
//! again, or results whose actions stay RUNNING for the next term's rescue,
//! as a crash a moment before their commit would. Others may read the rows
//! before they are on disk, but whatever acts on them commits after them,
//! and its own commit's flush covers theirs.
//!
//! That wait may run on any connection, so an enqueue group waits for it
//! after giving up its turn ([`Db::flushed`]): the next group's statement
//! runs meanwhile instead of waiting for the disk behind it (8 HTTP
//! clients: single enqueues 4,583 -> 4,991 req/s, batches of 100 within
//! the noise; docs/scaling.md, stop 48).
//!
//! Only a group of [`LATE_FLUSH_ROWS`] rows or more does so: a few single
//! enqueues hold the head a fraction of a millisecond, less than the two
//! more round trips cost them (HTTP, 8 clients, 4 alternating passes each:
//! batches of 100 +8 % in the median; single enqueues -6 % when every group
//! did it, even with this bound).
//!
//! SQLite's one writer commits in order, in WAL mode with
//! `synchronous = NORMAL`: a commit survives a crash of AOL at once, and an
//! OS crash or power loss once the WAL is synced, at the next checkpoint
//! (every second while `aol serve` or `aol daemon` runs). A
//! `synchronous = FULL` commit waits ~0.3 ms for its fsync here, and every
//! commit doing so cost HTTP single enqueues 43 % and batches 30 %
//! (stop 58, docs/scaling.md). What commits on disk before it returns
//! ([`Durable::begin_on_disk`]) is a write after which a REAL request may
//! leave (a power loss after the request left must find its attempt's
//! "started" line, so the post is UNCONFIRMED and never sent again), and an
//! operator's decision: a flag, a cancel or re-queue, an approval or
//! rejection, a channel armed or disarmed, a policy. Those are rare, and a
//! pause, kill, cancel, rejection, disarm or deny must outlast a power loss.

use std::future::Future;

use sqlx::{Connection as _, Transaction};

use super::{Db, Pool, StoreError};

/// How every SQLite connection commits (`PRAGMA synchronous`), as
/// `Db::connect` opens it and [`Durable::after_on_disk`] sets it back.
pub(super) const SQLITE_SYNCHRONOUS: &str = "NORMAL";

/// Groups of at least this many rows commit first and wait for the disk
/// after (PostgreSQL).
pub(super) const LATE_FLUSH_ROWS: usize = 64;

/// How each database begins a group's transaction, and waits for it to be
/// durable after its commit.
pub(super) trait Durable: sqlx::Connection {
    /// The transaction of a group of `rows` rows (actions, or results).
    fn begin_group(
        &mut self,
        rows: usize,
    ) -> impl Future<Output = Result<Transaction<'_, Self::Database>, sqlx::Error>> + Send;
    /// After the commit of a group of `rows` rows: returns once it is on disk.
    fn committed_durably(&mut self, rows: usize) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// A transaction whose commit is on disk when it returns, whatever the
    /// connection or the server is set to: one after which a REAL request
    /// may leave, or an operator's decision. [`Durable::after_on_disk`] must
    /// follow it, committed or not.
    fn begin_on_disk(&mut self) -> impl Future<Output = Result<Transaction<'_, Self::Database>, sqlx::Error>> + Send;
    /// The connection as it was before [`Durable::begin_on_disk`].
    fn after_on_disk(&mut self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

impl Durable for sqlx::SqliteConnection {
    async fn begin_group(&mut self, _rows: usize) -> Result<Transaction<'_, sqlx::Sqlite>, sqlx::Error> {
        self.begin().await
    }

    async fn committed_durably(&mut self, _rows: usize) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn begin_on_disk(&mut self) -> Result<Transaction<'_, sqlx::Sqlite>, sqlx::Error> {
        // Set outside a transaction: SQLite refuses it inside one.
        self.begin_with("PRAGMA synchronous = FULL; BEGIN").await
    }

    async fn after_on_disk(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query(&format!("PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")).execute(self).await?;
        Ok(())
    }
}

impl Durable for sqlx::PgConnection {
    async fn begin_group(&mut self, rows: usize) -> Result<Transaction<'_, sqlx::Postgres>, sqlx::Error> {
        if rows < LATE_FLUSH_ROWS {
            return self.begin().await;
        }
        self.begin_with("BEGIN; SET LOCAL synchronous_commit = off").await
    }

    async fn committed_durably(&mut self, rows: usize) -> Result<(), sqlx::Error> {
        if rows < LATE_FLUSH_ROWS {
            return Ok(());
        }
        sqlx::query("SELECT pg_logical_emit_message(true, 'aol.group', '')").execute(self).await?;
        Ok(())
    }

    async fn begin_on_disk(&mut self) -> Result<Transaction<'_, sqlx::Postgres>, sqlx::Error> {
        // The server's default already waits, unless someone set it not to.
        self.begin_with("BEGIN; SET LOCAL synchronous_commit = on").await
    }

    async fn after_on_disk(&mut self) -> Result<(), sqlx::Error> {
        // SET LOCAL ended with the transaction.
        Ok(())
    }
}

/// Evaluates `$body`, which uses the transaction `$tx` begun by
/// [`Durable::begin_on_disk`] on `$conn`, commits it and evaluates to a
/// `Result<_, StoreError>`; then sets the connection back as it was, even
/// when `$body` failed (if that fails, its later commits wait for the disk
/// too: slower, never less safe).
macro_rules! on_disk {
    ($conn:expr, |$tx:ident| $body:expr) => {{
        let conn = $conn;
        let done = async {
            #[allow(unused_mut)]
            let mut $tx = $crate::storage::durable::Durable::begin_on_disk(&mut *conn).await?;
            $body
        }
        .await;
        if let Err(e) = $crate::storage::durable::Durable::after_on_disk(&mut *conn).await {
            tracing::warn!(error = %e, "a connection stays set to wait for the disk at every commit");
        }
        done
    }};
}
pub(super) use on_disk;

impl Db {
    /// Returns once every commit made before the call is on disk, after a
    /// group of `rows` rows committed as [`Durable::begin_group`] began it:
    /// at once for a small group, and on SQLite (whose commits are as they
    /// will stay: see the module's note).
    pub(super) async fn flushed(&self, rows: usize) -> Result<(), StoreError> {
        if let Pool::Postgres(pool) = &self.pool {
            if rows >= LATE_FLUSH_ROWS {
                pool.acquire().await?.committed_durably(rows).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;

    use super::{Durable, LATE_FLUSH_ROWS};
    use crate::storage::StoreError;

    /// The machine's PostgreSQL, as the storage tests reach it.
    fn url() -> String {
        std::env::var("AOL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    async fn postgres() -> sqlx::PgConnection {
        let url = url();
        sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed: {e}"))
    }

    async fn synchronous_commit(conn: &mut sqlx::PgConnection) -> String {
        sqlx::query_scalar("SHOW synchronous_commit").fetch_one(conn).await.unwrap()
    }

    /// Commits a large group's transaction on `conn`: at least its commit's
    /// position in the WAL (it was written before).
    async fn large_group_committed(conn: &mut sqlx::PgConnection) -> String {
        let mut tx = conn.begin_group(LATE_FLUSH_ROWS).await.unwrap();
        assert_eq!(synchronous_commit(&mut tx).await, "off", "its commit does not wait for the disk");
        // A write of WAL, as a group's rows are (temporary tables write none).
        sqlx::query("SELECT pg_logical_emit_message(true, 'aol.test', 'a group')").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text").fetch_one(conn).await.unwrap()
    }

    async fn assert_on_disk(conn: &mut sqlx::PgConnection, committed: &str) {
        let flushed: bool = sqlx::query_scalar("SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn")
            .bind(committed)
            .fetch_one(conn)
            .await
            .unwrap();
        assert!(flushed, "the WAL is on disk up to the group's commit ({committed}) when it returns");
    }

    #[tokio::test]
    async fn a_large_group_commits_at_once_and_is_on_disk_before_it_returns() {
        let mut conn = postgres().await;
        let committed = large_group_committed(&mut conn).await;
        conn.committed_durably(LATE_FLUSH_ROWS).await.unwrap();
        assert_on_disk(&mut conn, &committed).await;
    }

    #[tokio::test]
    async fn a_large_group_is_on_disk_once_flushed_returns_on_another_connection() {
        let db = crate::storage::Db::connect(&url()).await.unwrap();
        let mut conn = postgres().await;
        let committed = large_group_committed(&mut conn).await;
        // Not on the group's own connection: the next group's writer may hold it.
        db.flushed(LATE_FLUSH_ROWS).await.unwrap();
        assert_on_disk(&mut conn, &committed).await;
    }

    #[tokio::test]
    async fn a_small_group_commits_as_the_server_is_set() {
        let mut conn = postgres().await;
        let set = synchronous_commit(&mut conn).await;
        let mut tx = conn.begin_group(LATE_FLUSH_ROWS - 1).await.unwrap();
        assert_eq!(synchronous_commit(&mut tx).await, set);
        tx.commit().await.unwrap();
        assert_eq!(synchronous_commit(&mut conn).await, set, "SET LOCAL ends with its transaction");
    }

    #[tokio::test]
    async fn a_write_before_a_request_leaves_waits_for_the_disk_on_postgres() {
        let mut conn = postgres().await;
        // Even where the server, or the session, is set not to wait.
        sqlx::query("SET synchronous_commit = off").execute(&mut conn).await.unwrap();
        let during = on_disk!(&mut conn, |tx| {
            let during = synchronous_commit(&mut tx).await;
            tx.commit().await?;
            Ok::<_, StoreError>(during)
        });
        assert_eq!(during.unwrap(), "on", "its commit waits for the disk");
        assert_eq!(synchronous_commit(&mut conn).await, "off", "the session as it was");
    }

    /// SQLite's `PRAGMA synchronous` on `conn`: 1 NORMAL, 2 FULL.
    async fn sqlite_synchronous(conn: &mut sqlx::SqliteConnection) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous").fetch_one(conn).await.unwrap()
    }

    #[tokio::test]
    async fn a_write_before_a_request_leaves_waits_for_the_disk_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db =
            crate::storage::Db::connect(&format!("sqlite://{}", dir.path().join("aol.db").display())).await.unwrap();
        let crate::storage::Pool::Sqlite(writer) = &db.pool else { unreachable!("a SQLite url") };
        let mut conn = writer.lock().await.unwrap();
        assert_eq!(sqlite_synchronous(&mut conn).await, 1, "NORMAL, as AOL opens it");
        let during = on_disk!(&mut *conn, |tx| {
            let during = sqlite_synchronous(&mut tx).await;
            sqlx::query("CREATE TABLE t (a)").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(during)
        });
        assert_eq!(during.unwrap(), 2, "FULL: its commit syncs the WAL");
        assert_eq!(sqlite_synchronous(&mut conn).await, 1, "the writer's other commits as before");
        // The same after a body that failed, or that returned early.
        let failed = on_disk!(&mut *conn, |tx| {
            sqlx::query("INSERT INTO nowhere VALUES (1)").execute(&mut *tx).await?;
            Ok::<_, StoreError>(())
        });
        assert!(failed.is_err());
        assert_eq!(sqlite_synchronous(&mut conn).await, 1);
        let early = on_disk!(&mut *conn, |tx| {
            sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await?;
            if sqlite_synchronous(&mut tx).await == 2 {
                return Ok("early");
            }
            tx.commit().await?;
            Ok::<_, StoreError>("committed")
        });
        assert_eq!(early.unwrap(), "early");
        assert_eq!(sqlite_synchronous(&mut conn).await, 1);
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(rows, 0, "a body that returns early commits nothing");
    }
}
