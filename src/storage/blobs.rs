//! `aol_blobs`: the content store, files named by the SHA-256 of their bytes:
//! uploaded media, and PROOF artifacts (written with the result they prove,
//! see `insert_artifacts!`). `aol_action_media` says which actions use which
//! media. A file is written once however often it is stored, cannot be
//! deleted while an action names it or a log line names it as its artifact
//! (counted in its `log_refs`, migration 0018), and is pruned once none does
//! (and it is older than the grace period).

use chrono::{DateTime, Utc};

use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::MediaInfo;

const INFO_COLS: &str = "sha256, size, mime, width, height, created_at_utc";

const INSERT: &str = "INSERT INTO aol_blobs (sha256, size, mime, width, height, bytes, created_at_utc) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING";
const BYTES: &str = "SELECT bytes, mime FROM aol_blobs WHERE sha256 = $1";
/// Files stored before `$1` that no log line names (`log_refs`, kept by the
/// artifacts' insert and a trigger on deleted lines) and no action's media,
/// at most `$2` of them. The count is checked again on the row deleted: on
/// PostgreSQL a line naming the file may commit while the delete waits for it.
const PRUNE: &str = "DELETE FROM aol_blobs WHERE sha256 IN (SELECT b.sha256 FROM aol_blobs b \
     WHERE b.log_refs = 0 AND b.created_at_utc < $1 \
     AND NOT EXISTS (SELECT 1 FROM aol_action_media m WHERE m.sha256 = b.sha256) LIMIT $2) AND log_refs = 0";

/// The artifacts' insert, followed by its rows (see `insert_artifacts!`).
pub(crate) const INSERT_ARTIFACTS_HEAD: &str =
    "INSERT INTO aol_blobs (sha256, size, mime, bytes, created_at_utc, log_refs) ";
/// A file already stored gains the lines that now name it too.
pub(crate) const INSERT_ARTIFACTS_TAIL: &str =
    " ON CONFLICT (sha256) DO UPDATE SET log_refs = aol_blobs.log_refs + excluded.log_refs";

/// What PROOF artifacts are: JSON documents (the requests REAL would send, or the post).
pub const ARTIFACT_MIME: &str = "application/json";
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

/// Stores the artifacts of `lines` (`&[(action_id, &NewLog)]`, those with
/// bytes) in the content store, on `$executor`: inside the transaction that
/// writes the lines and their results, so each SUCCESS and its artifact
/// commit together or not at all. Each file counts the lines naming it
/// (`log_refs`, what keeps it from the prune); bytes already stored are not
/// written again. Evaluates to the statements' `Result`.
macro_rules! insert_artifacts {
    ($executor:expr, $now:expr, $lines:expr) => {
        async {
            // (sha256, bytes, lines naming it), in the order first named.
            let mut blobs: Vec<(&str, &[u8], i64)> = Vec::new();
            let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
            for (_, log) in $lines.iter() {
                let (Some(sha), Some(bytes)) = (log.artifact_sha256.as_deref(), log.artifact_bytes.as_deref()) else {
                    continue;
                };
                match at.entry(sha) {
                    std::collections::hash_map::Entry::Occupied(place) => blobs[*place.get()].2 += 1,
                    std::collections::hash_map::Entry::Vacant(place) => {
                        place.insert(blobs.len());
                        blobs.push((sha, bytes, 1));
                    }
                }
            }
            if blobs.is_empty() {
                return Ok::<(), sqlx::Error>(());
            }
            if $crate::storage::Placeholders::binds_rows(&*$executor) {
                $crate::storage::insert_bound!(
                    $executor,
                    $crate::storage::blobs::INSERT_ARTIFACTS_HEAD,
                    6,
                    $crate::storage::blobs::INSERT_ARTIFACTS_TAIL,
                    blobs,
                    |q, (sha, bytes, refs)| q
                        .bind(*sha)
                        .bind(bytes.len() as i64)
                        .bind($crate::storage::blobs::ARTIFACT_MIME)
                        .bind(*bytes)
                        .bind($now)
                        .bind(*refs)
                )
                .await?;
            } else {
                let sql = format!(
                    "{}SELECT v.column1, v.column2, $1, v.column3, $2, v.column4 FROM {} WHERE true{}",
                    $crate::storage::blobs::INSERT_ARTIFACTS_HEAD,
                    $crate::storage::Placeholders::json_rows(&*$executor, 3, &["text", "bigint", "bytea", "bigint"]),
                    $crate::storage::blobs::INSERT_ARTIFACTS_TAIL
                );
                let rows = blobs
                    .iter()
                    .map(|(sha, bytes, refs)| serde_json::json!([sha, bytes.len(), hex::encode(bytes), refs]))
                    .collect();
                sqlx::query(&sql)
                    .bind($crate::storage::blobs::ARTIFACT_MIME)
                    .bind($now)
                    .bind($crate::storage::json_rows_of(rows))
                    .execute(&mut *$executor)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use insert_artifacts;

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

    /// A stored artifact's bytes, if it is there (media are not artifacts).
    pub async fn artifact_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_scalar(
            "SELECT bytes FROM aol_blobs WHERE sha256 = $1 AND mime = $2"
        )
        .bind(sha256)
        .bind(ARTIFACT_MIME)
        .fetch_optional(&mut *conn)
        .await?))
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
