//! `aol_lease`: who is the one active daemon. Each operation is one atomic
//! statement, identical on both dialects.

use chrono::{DateTime, Utc};

use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::Lease;

/// Takes the lease if it is free, expired, or already ours and valid (then it is
/// a renewal). The epoch grows whenever a new term starts: a new owner, or the
/// same owner after its term ran out.
const ACQUIRE: &str = "INSERT INTO aol_lease (name, owner, acquired_at_utc, renewed_at_utc, expires_at_utc, epoch) \
     VALUES ($1, $2, $3, $3, $4, 1) \
     ON CONFLICT (name) DO UPDATE SET \
       owner = excluded.owner, \
       acquired_at_utc = CASE WHEN aol_lease.owner = excluded.owner AND aol_lease.expires_at_utc > excluded.acquired_at_utc \
                              THEN aol_lease.acquired_at_utc ELSE excluded.acquired_at_utc END, \
       epoch = CASE WHEN aol_lease.owner = excluded.owner AND aol_lease.expires_at_utc > excluded.acquired_at_utc \
                    THEN aol_lease.epoch ELSE aol_lease.epoch + 1 END, \
       renewed_at_utc = excluded.renewed_at_utc, \
       expires_at_utc = excluded.expires_at_utc \
     WHERE aol_lease.owner = excluded.owner OR aol_lease.expires_at_utc <= excluded.acquired_at_utc \
     RETURNING name, owner, acquired_at_utc, renewed_at_utc, expires_at_utc, epoch";

/// Extends the current term; matches nothing once the term is over or taken.
const RENEW: &str = "UPDATE aol_lease SET renewed_at_utc = $4, expires_at_utc = $5 \
     WHERE name = $1 AND owner = $2 AND epoch = $3 AND expires_at_utc > $4 \
     RETURNING name, owner, acquired_at_utc, renewed_at_utc, expires_at_utc, epoch";

/// Ends the term now; the row stays so the epoch keeps growing.
const SELECT: &str =
    "SELECT name, owner, acquired_at_utc, renewed_at_utc, expires_at_utc, epoch FROM aol_lease WHERE name = $1";

const RELEASE: &str = "UPDATE aol_lease SET expires_at_utc = $4 \
     WHERE name = $1 AND owner = $2 AND epoch = $3 AND expires_at_utc > $4";

impl Db {
    /// The lease if `owner` holds it after this call, else `None` (someone else does).
    pub async fn lease_acquire(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query_as(ACQUIRE)
            .bind(name)
            .bind(owner)
            .bind(now)
            .bind(expires)
            .fetch_optional(&mut *conn)
            .await?))
    }

    /// The renewed lease, or `None` if the term `epoch` is no longer held.
    pub async fn lease_renew(
        &self,
        name: &str,
        owner: &str,
        epoch: i64,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query_as(RENEW)
            .bind(name)
            .bind(owner)
            .bind(epoch)
            .bind(now)
            .bind(expires)
            .fetch_optional(&mut *conn)
            .await?))
    }

    /// Gives the term up; true if it was still held.
    pub async fn lease_release(
        &self,
        name: &str,
        owner: &str,
        epoch: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let done = sqlx::query(RELEASE).bind(name).bind(owner).bind(epoch).bind(now).execute(&mut *conn).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn lease_get(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SELECT).bind(name).fetch_optional(&mut *conn).await?))
    }
}
