//! Appending to the chain: the head is taken, each row's hash made from the
//! one before, the rows written and the head moved, in the transaction of
//! the change the rows record.

use super::{canonical_after_id, canonical_id, chain_of_parts, AuditEntry};

/// The audit row insert, followed by its rows.
const INSERT_HEAD: &str = "INSERT INTO aol_audit (id, at_utc, actor, action_id, event, data_json, prev_hash, hash) ";

/// A row of an append, its head taken: id, entry, data, prev_hash, hash.
pub(crate) type AppendRow<'a> = (i64, &'a AuditEntry, std::borrow::Cow<'a, str>, String, String);

/// How each database writes an append's rows (all at `at`) and moves the
/// head's hash to `head`, the last row's.
pub(crate) trait AppendRows {
    fn append_rows(
        &mut self,
        at: &str,
        rows: &[AppendRow<'_>],
        head: &str,
    ) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send;
}

impl AppendRows for sqlx::SqliteConnection {
    async fn append_rows(&mut self, at: &str, rows: &[AppendRow<'_>], head: &str) -> Result<(), sqlx::Error> {
        sqlite_append(self, at, rows, (head, None), SQLITE_HEAD).await
    }
}

/// What follows SQLite's last audit rows: the head's hash and, if given,
/// its seq (bound after the rows), in the same trip.
const SQLITE_HEAD: &str = "; UPDATE aol_audit_head SET hash = ?, seq = coalesce(?, seq) WHERE id = 1";
/// The same, and the commit of a transaction begun by hand (see
/// `storage::enqueue::sqlite_trips`, which takes the head before it knows
/// how many rows it appends, and gives the seq).
const SQLITE_HEAD_AND_COMMIT: &str =
    "; UPDATE aol_audit_head SET hash = ?, seq = coalesce(?, seq) WHERE id = 1; COMMIT";

/// SQLite: writes an append's rows, moves the head to `seq` and `head`
/// and commits the transaction begun by hand, all in one trip for up to
/// [`crate::storage::BOUND_ROWS`] rows.
pub(crate) async fn sqlite_append_and_commit(
    conn: &mut sqlx::SqliteConnection,
    at: &str,
    rows: &[AppendRow<'_>],
    seq: i64,
    head: &str,
) -> Result<(), sqlx::Error> {
    sqlite_append(conn, at, rows, (head, Some(seq)), SQLITE_HEAD_AND_COMMIT).await
}

/// SQLite's rows, a statement per [`crate::storage::BOUND_ROWS`], the last
/// followed by `then` (which binds the head's hash, and its seq if given)
/// in the same trip.
async fn sqlite_append(
    conn: &mut sqlx::SqliteConnection,
    at: &str,
    rows: &[AppendRow<'_>],
    (head, seq): (&str, Option<i64>),
    then: &'static str,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        // No rows to write (no append makes none); what follows them still runs.
        sqlx::query(then.trim_start_matches("; ")).bind(head).bind(seq).execute(&mut *conn).await?;
        return Ok(());
    }
    crate::storage::insert_bound!(conn, INSERT_HEAD, 8, "", rows, |q, (id, entry, data, prev_hash, hash)| q
        .bind(*id)
        .bind(at)
        .bind(entry.actor.as_str())
        .bind(entry.action_id)
        .bind(entry.event)
        .bind(data.as_ref())
        .bind(prev_hash.as_str())
        .bind(hash.as_str()), last: then, |q| q.bind(head).bind(seq))
    .await
}

/// PostgreSQL's rows and the head's hash in one statement, so that the head
/// (held until commit) is held one round trip less; one array per column,
/// sent in binary (JSON rows were parsed again on the server).
const APPEND_POSTGRES: &str = "WITH added AS (INSERT INTO aol_audit \
     (id, at_utc, actor, action_id, event, data_json, prev_hash, hash) \
     SELECT v.id, $1, v.actor, v.action_id, v.event, v.data, v.prev, v.hash FROM \
     unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[]) \
     AS v(id, actor, action_id, event, data, prev, hash)) \
     UPDATE aol_audit_head SET hash = $9 WHERE id = 1";

impl AppendRows for sqlx::PgConnection {
    async fn append_rows(&mut self, at: &str, rows: &[AppendRow<'_>], head: &str) -> Result<(), sqlx::Error> {
        sqlx::query(APPEND_POSTGRES)
            .bind(at)
            .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
            .bind(rows.iter().map(|r| r.1.actor.as_str()).collect::<Vec<&str>>())
            .bind(rows.iter().map(|r| r.1.action_id).collect::<Vec<Option<i64>>>())
            .bind(rows.iter().map(|r| r.1.event).collect::<Vec<&str>>())
            .bind(rows.iter().map(|r| r.2.as_ref()).collect::<Vec<&str>>())
            .bind(rows.iter().map(|r| r.3.as_str()).collect::<Vec<&str>>())
            .bind(rows.iter().map(|r| r.4.as_str()).collect::<Vec<&str>>())
            .bind(head)
            .execute(self)
            .await?;
        Ok(())
    }
}

/// An entry of an append as made before the chain's head is taken: the
/// entry, its data and its canonical bytes after the id.
pub(crate) type Prepared<'a> = (&'a AuditEntry, std::borrow::Cow<'a, str>, Vec<u8>);

/// What an append can make before it takes the head (at `at`): on
/// PostgreSQL other appends wait from then until commit.
pub(crate) fn prepare_append<'a>(at: &str, entries: &'a [AuditEntry]) -> Vec<Prepared<'a>> {
    entries
        .iter()
        .map(|entry| {
            let data = entry.data_json();
            let after_id = canonical_after_id(at, &entry.actor, entry.action_id, entry.event, &data);
            (entry, data, after_id)
        })
        .collect()
}

/// The rows of an append once the head is taken (`seq` its new value, that
/// of the last row; `prev` its hash before), and the last row's hash.
pub(crate) fn chained(prepared: Vec<Prepared<'_>>, seq: i64, mut prev: String) -> (Vec<AppendRow<'_>>, String) {
    let mut id = seq - prepared.len() as i64;
    let mut rows: Vec<AppendRow<'_>> = Vec::with_capacity(prepared.len());
    for (entry, data, after_id) in prepared {
        id += 1;
        let hash = chain_of_parts(&prev, &[&canonical_id(id), &after_id]);
        rows.push((id, entry, data, std::mem::replace(&mut prev, hash.clone()), hash));
    }
    (rows, prev)
}

/// Takes the head for `$n` rows: its new seq and its hash before.
pub(crate) const TAKE_HEAD: &str = "UPDATE aol_audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash";

/// Appends `entries` at `now` on `$conn` (a connection or `&mut *tx`):
/// evaluates to the statements' `Result`.
macro_rules! append_audit {
    ($conn:expr, $now:expr, $entries:expr) => {
        async {
            let entries: &[$crate::storage::AuditEntry] = $entries;
            if entries.is_empty() {
                return Ok::<(), sqlx::Error>(());
            }
            let at = $crate::model::audit_time($now);
            let prepared = $crate::storage::audit::prepare_append(&at, entries);
            let (seq, prev): (i64, String) = sqlx::query_as($crate::storage::audit::TAKE_HEAD)
                .bind(entries.len() as i64)
                .fetch_one(&mut *$conn)
                .await?;
            let (rows, head) = $crate::storage::audit::chained(prepared, seq, prev);
            $crate::storage::audit::AppendRows::append_rows(&mut *$conn, &at, &rows, &head).await?;
            // The events people are told of, in the same transaction.
            $crate::storage::outbox::append_outbox!($conn, $now, entries).await?;
            Ok(())
        }
    };
}
pub(crate) use append_audit;
