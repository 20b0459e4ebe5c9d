//! `aol_counters`: counts kept by triggers (migrations 0004, 0006). A count is
//! the SUM of its name's rows: one row on SQLite; on PostgreSQL a row per
//! change until [`Db::counters_fold`] folds them back into one.

use super::{on_pool, Db, Pool, StoreError};

/// Sums, so that the reading is right whether or not the rows were folded.
pub(super) const STATUS_COUNTS: &str = "SELECT substr(name, 9) AS status, CAST(SUM(value) AS BIGINT) AS count \
     FROM aol_counters WHERE name LIKE 'actions:%' GROUP BY name HAVING SUM(value) <> 0 ORDER BY name";
pub(super) const TICKS: &str =
    "SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) FROM aol_counters WHERE name = 'tick_ledger'";

/// Replaces every name's rows by one row holding their sum. Rows appended
/// meanwhile by other transactions are left for the next fold.
const FOLD: &str = "WITH gone AS (DELETE FROM aol_counters RETURNING name, value) \
     INSERT INTO aol_counters (name, value) SELECT name, SUM(value) FROM gone GROUP BY name";

impl Db {
    /// Folds PostgreSQL's counter deltas (a no-op on SQLite); returns the rows removed.
    pub async fn counters_fold(&self) -> Result<u64, StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(0),
            Pool::Postgres(pool) => Ok(sqlx::query(FOLD).execute(pool).await?.rows_affected()),
        }
    }

    /// How many rows `aol_counters` holds (tests: the fold keeps it small).
    pub async fn counters_rows(&self) -> Result<i64, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query_scalar("SELECT COUNT(*) FROM aol_counters").fetch_one(&mut *conn).await?))
    }
}
