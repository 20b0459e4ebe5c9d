//! `aol_blobs`: the content store of uploaded media, files named by the
//! SHA-256 of their bytes. `aol_action_media` says which actions use which.
//! A file is written once however often it is uploaded, cannot be deleted
//! while an action names it, and is pruned once none does (and it is older
//! than the grace period). PROOF artifacts are not here: each is kept in the
//! log line that names it (`storage::logs`, migration 0019), appended with
//! its result, where a store keyed by random SHA-256s cost the drain a page
//! of its index per artifact.

use chrono::{DateTime, Utc};

use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::MediaInfo;

const INFO_COLS: &str = "sha256, size, mime, width, height, created_at_utc";

const INSERT: &str = "INSERT INTO aol_blobs (sha256, size, mime, width, height, bytes, created_at_utc) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING";
const BYTES: &str = "SELECT bytes, mime FROM aol_blobs WHERE sha256 = $1";
/// Files stored before `$1` that no action's media names, at most `$2` of them.
const PRUNE: &str = "DELETE FROM aol_blobs WHERE sha256 IN (SELECT b.sha256 FROM aol_blobs b \
     WHERE b.created_at_utc < $1 \
     AND NOT EXISTS (SELECT 1 FROM aol_action_media m WHERE m.sha256 = b.sha256) LIMIT $2)";
/// The media action `$1` names.
const MEDIA_OF: &str = "SELECT b.sha256, b.size, b.mime, b.width, b.height, b.created_at_utc \
     FROM aol_action_media m JOIN aol_blobs b ON b.sha256 = m.sha256 WHERE m.action_id = $1 ORDER BY b.sha256";

/// A file to store.
#[derive(Clone, Debug)]
pub struct NewBlob<'a> {
    pub sha256: &'a str,
    pub mime: &'a str,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub bytes: &'a [u8],
}

/// `action_media(action_id, sha256)` rows for `pairs`, on `$executor`; known
/// pairs are skipped. Evaluates to the statement's `Result`.
macro_rules! insert_action_media {
    ($executor:expr, $pairs:expr) => {
        async {
            let pairs: &[(i64, &str)] = $pairs;
            for chunk in pairs.chunks(500) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO aol_action_media (action_id, sha256) ");
                q.push_values(chunk, |mut row, (id, sha)| {
                    row.push_bind(*id).push_bind(*sha);
                });
                q.push(" ON CONFLICT DO NOTHING");
                q.build().execute(&mut *$executor).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use insert_action_media;

impl Db {
    /// Stores a file under its SHA-256; `true` if it was new (a file already
    /// there is the same bytes, so nothing changes).
    pub async fn blob_put(&self, blob: &NewBlob<'_>, now: DateTime<Utc>) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let done = sqlx::query(INSERT)
                .bind(blob.sha256)
                .bind(blob.bytes.len() as i64)
                .bind(blob.mime)
                .bind(blob.width)
                .bind(blob.height)
                .bind(blob.bytes)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// What is known of the files among `shas` that exist (not their bytes).
    pub async fn blobs_info(&self, shas: &[&str]) -> Result<Vec<MediaInfo>, StoreError> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        on_read_pool!(self, |conn| {
            let mut q = sqlx::QueryBuilder::new(format!("SELECT {INFO_COLS} FROM aol_blobs WHERE sha256 IN ("));
            let mut list = q.separated(", ");
            for sha in shas {
                list.push_bind(*sha);
            }
            list.push_unseparated(")");
            Ok(q.build_query_as().fetch_all(&mut *conn).await?)
        })
    }

    /// A file's bytes and type, if it is stored.
    pub async fn blob_bytes(&self, sha256: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(BYTES).bind(sha256).fetch_optional(&mut *conn).await?))
    }

    /// The media an action refers to.
    pub async fn media_of(&self, action_id: i64) -> Result<Vec<MediaInfo>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(MEDIA_OF).bind(action_id).fetch_all(&mut *conn).await?))
    }

    /// Deletes up to `limit` files no action refers to that were stored
    /// before `before`; how many.
    pub async fn blobs_prune(&self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        on_pool!(self, |conn| Ok(sqlx::query(PRUNE)
            .bind(before)
            .bind(limit)
            .execute(&mut *conn)
            .await?
            .rows_affected()))
    }
}
