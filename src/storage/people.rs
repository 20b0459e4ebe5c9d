//! `aol_people` and `aol_sessions`: who may use AOL, and the browsers they
//! signed in from. Only hashes are stored: a token's and a session's SHA-256,
//! a password's argon2id.

use chrono::{DateTime, Utc};

use super::{on_pool, on_read_pool, Db, StoreError};

/// A stored person (their token and password are never read back).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonRow {
    pub name: String,
    pub role: String,
    pub has_password: bool,
    pub created_at_utc: DateTime<Utc>,
    pub created_by: String,
}

/// A session found by its hash, with its person's current role.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    /// NULL: the operator token's session.
    pub person: Option<String>,
    pub role: Option<String>,
    /// The operator token's sessions: which token opened it.
    pub token_check: Option<String>,
    pub last_seen_at_utc: DateTime<Utc>,
    pub expires_at_utc: DateTime<Utc>,
}

const PERSON_COLS: &str = "name, role, password_hash IS NOT NULL AS has_password, created_at_utc, created_by";

const INSERT: &str = "INSERT INTO aol_people (name, role, token_sha256, created_at_utc, created_by, updated_at_utc) \
     VALUES ($1, $2, $3, $4, $5, $4) ON CONFLICT (name) DO NOTHING";
const SET_ROLE: &str = "UPDATE aol_people SET role = $2, updated_at_utc = $3 WHERE name = $1";
const SET_PASSWORD: &str = "UPDATE aol_people SET password_hash = $2, updated_at_utc = $3 WHERE name = $1";
const DELETE: &str = "DELETE FROM aol_people WHERE name = $1";
const PASSWORD_OF: &str = "SELECT role, password_hash FROM aol_people WHERE name = $1";
const BY_TOKEN: &str = "SELECT name, role FROM aol_people WHERE token_sha256 = $1";

const SESSION_INSERT: &str = "INSERT INTO aol_sessions (id_sha256, person, token_check, created_at_utc, \
     last_seen_at_utc, expires_at_utc) VALUES ($1, $2, $3, $4, $4, $5)";
const SESSION_GET: &str =
    "SELECT s.person, p.role, s.token_check, s.last_seen_at_utc, s.expires_at_utc FROM aol_sessions s \
     LEFT JOIN aol_people p ON p.name = s.person WHERE s.id_sha256 = $1";
const SESSION_SEEN: &str = "UPDATE aol_sessions SET last_seen_at_utc = $2 WHERE id_sha256 = $1";
const SESSION_DELETE: &str = "DELETE FROM aol_sessions WHERE id_sha256 = $1";
const SESSIONS_OF_PERSON_DELETE: &str = "DELETE FROM aol_sessions WHERE person = $1";
const SESSIONS_OF_TOKEN_DELETE: &str = "DELETE FROM aol_sessions WHERE person IS NULL";
const SESSIONS_ENDED_DELETE: &str = "DELETE FROM aol_sessions WHERE expires_at_utc <= $1 OR last_seen_at_utc <= $2";

impl Db {
    /// Adds a person; false if the name is taken.
    pub async fn person_insert(
        &self,
        name: &str,
        role: &str,
        token_sha256: &str,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let done =
                sqlx::query(INSERT).bind(name).bind(role).bind(token_sha256).bind(now).bind(by).execute(conn).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Every person, by name.
    pub async fn people(&self) -> Result<Vec<PersonRow>, StoreError> {
        let sql = format!("SELECT {PERSON_COLS} FROM aol_people ORDER BY name");
        on_read_pool!(self, |conn| Ok(sqlx::query_as(&sql).fetch_all(conn).await?))
    }

    /// A new role for `name`; false if there is no such person.
    pub async fn person_set_role(&self, name: &str, role: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query(SET_ROLE)
            .bind(name)
            .bind(role)
            .bind(now)
            .execute(conn)
            .await?
            .rows_affected()
            == 1))
    }

    /// A new password hash for `name` (their sessions end: whoever knew the
    /// old password is signed out); false if there is no such person.
    pub async fn person_set_password(&self, name: &str, hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = sqlx::Connection::begin(conn).await?;
            let set = sqlx::query(SET_PASSWORD).bind(name).bind(hash).bind(now).execute(&mut *tx).await?;
            sqlx::query(SESSIONS_OF_PERSON_DELETE).bind(name).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(set.rows_affected() == 1)
        })
    }

    /// Removes `name` and ends their sessions; false if there was no such person.
    pub async fn person_delete(&self, name: &str) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = sqlx::Connection::begin(conn).await?;
            sqlx::query(SESSIONS_OF_PERSON_DELETE).bind(name).execute(&mut *tx).await?;
            let gone = sqlx::query(DELETE).bind(name).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(gone.rows_affected() == 1)
        })
    }

    /// `name`'s role and password hash (None: no such person).
    pub async fn person_password(&self, name: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(PASSWORD_OF).bind(name).fetch_optional(conn).await?))
    }

    /// The person (name, role) whose token hashes to `token_sha256`.
    pub async fn person_by_token(&self, token_sha256: &str) -> Result<Option<(String, String)>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(BY_TOKEN).bind(token_sha256).fetch_optional(conn).await?))
    }

    /// Opens a session: a person's, or (`token_check`) the operator token's.
    pub async fn session_insert(
        &self,
        id_sha256: &str,
        person: Option<&str>,
        token_check: Option<&str>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(SESSION_INSERT)
                .bind(id_sha256)
                .bind(person)
                .bind(token_check)
                .bind(now)
                .bind(expires_at)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    pub async fn session_get(&self, id_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SESSION_GET).bind(id_sha256).fetch_optional(conn).await?))
    }

    pub async fn session_seen(&self, id_sha256: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(SESSION_SEEN).bind(id_sha256).bind(now).execute(conn).await?;
            Ok(())
        })
    }

    pub async fn session_delete(&self, id_sha256: &str) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(SESSION_DELETE).bind(id_sha256).execute(conn).await?;
            Ok(())
        })
    }

    /// Ends every session opened with the operator token (a new token).
    pub async fn sessions_of_token_delete(&self) -> Result<u64, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query(SESSIONS_OF_TOKEN_DELETE).execute(conn).await?.rows_affected()))
    }

    /// Forgets sessions past their end or idle since `idle_since`.
    pub async fn sessions_ended_delete(
        &self,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query(SESSIONS_ENDED_DELETE)
            .bind(now)
            .bind(idle_since)
            .execute(conn)
            .await?
            .rows_affected()))
    }
}
