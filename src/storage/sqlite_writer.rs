//! SQLite's one writing connection per process, taken in turn.
//!
//! Not a pool of one: sqlx's pool pings a connection on a task of its own
//! after each use before anyone may use it again, and with one connection
//! every write waited for that: a single enqueue's p99 was 2–3 times that of
//! the same statements on the connection itself (docs/scaling.md).

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
}

impl SqliteWriter {
    pub(crate) async fn open(options: &SqliteConnectOptions, wait: Duration) -> Result<SqliteWriter, sqlx::Error> {
        let conn = options.connect().await?;
        Ok(SqliteWriter { conn: Arc::new(Mutex::new(Some(conn))), wait })
    }

    /// The connection, once no one else is using it. Never ask for it again
    /// while holding it: that waits for the time limit, then fails.
    pub(crate) async fn lock(&self) -> Result<MappedMutexGuard<'_, SqliteConnection>, StoreError> {
        let guard = tokio::time::timeout(self.wait, self.conn.lock()).await.map_err(|_| sqlx::Error::PoolTimedOut)?;
        MutexGuard::try_map(guard, Option::as_mut).map_err(|_| StoreError::Sql(sqlx::Error::PoolClosed))
    }

    /// Closes the connection after the statement in flight; later callers get an error.
    pub(crate) async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = conn.close().await;
        }
    }
}
