//! `aol_secrets`: SHA-256 hashes of operator secrets, by name.

use chrono::{DateTime, Utc};

use super::{on_pool, Db, StoreError};

const GET: &str = "SELECT sha256 FROM aol_secrets WHERE name = $1";
const INSERT_IF_ABSENT: &str =
    "INSERT INTO aol_secrets (name, sha256, created_at_utc) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
const REPLACE: &str = "INSERT INTO aol_secrets (name, sha256, created_at_utc) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, created_at_utc = excluded.created_at_utc";

const NAMED_LIKE: &str =
    "SELECT name, created_at_utc FROM aol_secrets WHERE substr(name, 1, length($1)) = $1 ORDER BY name";
const NAME_BY_HASH: &str = "SELECT name FROM aol_secrets WHERE sha256 = $2 AND substr(name, 1, length($1)) = $1";
const DELETE: &str = "DELETE FROM aol_secrets WHERE name = $1";

impl Db {
    /// The stored hash for `name`, if any.
    pub async fn secret_hash(&self, name: &str) -> Result<Option<String>, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query_scalar(GET).bind(name).fetch_optional(&mut *conn).await?))
    }

    /// Stores `sha256` under `name` unless one is there already; true if stored.
    pub async fn secret_hash_insert(&self, name: &str, sha256: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let done = sqlx::query(INSERT_IF_ABSENT).bind(name).bind(sha256).bind(now).execute(&mut *conn).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Stores `sha256` under `name`, replacing any earlier one.
    pub async fn secret_hash_replace(&self, name: &str, sha256: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(REPLACE).bind(name).bind(sha256).bind(now).execute(&mut *conn).await?;
            Ok(())
        })
    }

    /// Names (starting with `prefix`) and creation times of stored secrets.
    pub async fn secrets_named_like(&self, prefix: &str) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query_as(NAMED_LIKE).bind(prefix).fetch_all(&mut *conn).await?))
    }

    /// The name (starting with `prefix`) stored with `sha256`, if any.
    pub async fn secret_name_by_hash(&self, prefix: &str, sha256: &str) -> Result<Option<String>, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query_scalar(NAME_BY_HASH)
            .bind(prefix)
            .bind(sha256)
            .fetch_optional(&mut *conn)
            .await?))
    }

    /// Deletes the secret `name`; true if there was one.
    pub async fn secret_delete(&self, name: &str) -> Result<bool, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query(DELETE).bind(name).execute(&mut *conn).await?.rows_affected() == 1))
    }
}
