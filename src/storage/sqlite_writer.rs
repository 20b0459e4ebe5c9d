//! SQLite's one writing connection per process, taken in turn.
//!
//! Not a pool of one: sqlx's pool pings a connection on a task of its own
//! after each use before anyone may use it again, and with one connection
//! every write waited for that: a single enqueue's p99 was 2–3 times that of
//! the same statements on the connection itself (docs/scaling.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::StoreError;

#[derive(Clone, Debug)]
pub(crate) struct SqliteWriter {
    /// `None` once closed.
    conn: Arc<Mutex<Option<SqliteConnection>>>,
    /// How long a caller waits for its turn before it gets an error.
    wait: Duration,
    /// A transaction begun by hand ([`SqliteWriter::by_hand`]) may be open:
    /// its caller went away between its statements. The next turn rolls it
    /// back first (sqlx's own transactions do so by themselves).
    left_open: Arc<AtomicBool>,
}

/// A transaction begun by hand on the writer, as a SQL `BEGIN` sent with
/// other statements; [`ByHand::ended`] once it is committed or rolled back.
/// Dropped before that, it leaves the rollback to the writer's next turn.
#[must_use]
pub(crate) struct ByHand(Arc<AtomicBool>);

impl ByHand {
    pub(crate) fn ended(self) {
        self.0.store(false, Ordering::Release);
    }
}

impl SqliteWriter {
    pub(crate) async fn open(options: &SqliteConnectOptions, wait: Duration) -> Result<SqliteWriter, sqlx::Error> {
        let conn = options.connect().await?;
        Ok(SqliteWriter { conn: Arc::new(Mutex::new(Some(conn))), wait, left_open: Arc::default() })
    }

    /// The connection, once no one else is using it. Never ask for it again
    /// while holding it: that waits for the time limit, then fails.
    pub(crate) async fn lock(&self) -> Result<MappedMutexGuard<'_, SqliteConnection>, StoreError> {
        let guard = tokio::time::timeout(self.wait, self.conn.lock()).await.map_err(|_| sqlx::Error::PoolTimedOut)?;
        let mut conn =
            MutexGuard::try_map(guard, Option::as_mut).map_err(|_| StoreError::Sql(sqlx::Error::PoolClosed))?;
        if self.left_open.swap(false, Ordering::AcqRel) {
            // Fails harmlessly if the transaction never began.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        Ok(conn)
    }

    /// Marks a transaction about to be begun by hand on the connection
    /// (held by the caller, from [`SqliteWriter::lock`]).
    pub(crate) fn by_hand(&self) -> ByHand {
        self.left_open.store(true, Ordering::Release);
        ByHand(self.left_open.clone())
    }

    /// Closes the connection after the statement in flight; later callers get an error.
    pub(crate) async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = conn.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::Connection as _;

    use super::SqliteWriter;

    /// A caller that begins a transaction by hand and goes away before
    /// ending it leaves nothing open for the next: its write is rolled back
    /// and the next transaction begins.
    #[tokio::test]
    async fn a_transaction_left_open_by_hand_is_rolled_back_at_the_next_turn() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("w.db").display());
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
        let writer = SqliteWriter::open(&options, Duration::from_secs(5)).await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&mut *writer.lock().await.unwrap()).await.unwrap();
        {
            let mut conn = writer.lock().await.unwrap();
            let by_hand = writer.by_hand();
            sqlx::query("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)").execute(&mut *conn).await.unwrap();
            drop(by_hand); // gone before its commit
        }
        let mut conn = writer.lock().await.unwrap();
        let mut tx = conn.begin().await.expect("no transaction is left open");
        sqlx::query("INSERT INTO t VALUES (2)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT n FROM t").fetch_all(&mut *conn).await.unwrap();
        assert_eq!(rows, vec![(2,)], "the abandoned insert was rolled back, the next one kept");

        // Ended properly, nothing is rolled back at the next turn.
        {
            let mut conn2 = conn;
            let by_hand = writer.by_hand();
            sqlx::query("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); COMMIT").execute(&mut *conn2).await.unwrap();
            by_hand.ended();
        }
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT n FROM t ORDER BY n").fetch_all(&mut *writer.lock().await.unwrap()).await.unwrap();
        assert_eq!(rows, vec![(2,), (3,)]);
    }
}
