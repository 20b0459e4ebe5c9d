//! `aol_audit`: the audit trail, one row per event, append-only and chained:
//! each row's `hash` is SHA-256 of the previous row's hash and the row's
//! canonical bytes (see [`canonical`] and docs/audit.md), so changing,
//! removing or slipping in a row shows at that row. Appends first move the
//! one-row `aol_audit_head`, which takes them one at a time on both
//! databases, in every process; they are written in the transaction of the
//! change they record, so both are kept or neither.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

mod append;

pub(crate) use append::{append_audit, chained, prepare_append, sqlite_append_and_commit, AppendRows, TAKE_HEAD};

use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::audit_time;
pub use crate::model::{AuditCheck, AuditFind, AuditRow};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event to append.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// As the records name them ("ana", "agent:bot", "aol:daemon").
    pub actor: String,
    pub action_id: Option<i64>,
    pub event: &'static str,
    /// What happened, never a secret (null for an entry made by
    /// [`AuditEntry::written`]: its data is text already).
    pub data: serde_json::Value,
    written: Option<Written>,
}

/// The data of an entry made by [`AuditEntry::written`], and the
/// notification it is, decided by its maker from the typed data it wrote.
#[derive(Clone, Debug, PartialEq)]
struct Written {
    text: String,
    notice: Option<&'static str>,
}

impl AuditEntry {
    pub fn new(actor: &str, action_id: Option<i64>, event: &'static str, data: serde_json::Value) -> AuditEntry {
        AuditEntry { actor: actor.to_string(), action_id, event, data, written: None }
    }

    /// An entry whose data is JSON text already, written from a typed struct
    /// without a `serde_json::Value` (building and printing one per event
    /// was the largest part of AOL's own work in an enqueue group's SQLite
    /// turn). `notice` is the notification it is (see [`Self::notice`]).
    pub(super) fn written(
        actor: &str,
        action_id: Option<i64>,
        event: &'static str,
        text: String,
        notice: Option<&'static str>,
    ) -> AuditEntry {
        let written = Some(Written { text, notice });
        AuditEntry { actor: actor.to_string(), action_id, event, data: serde_json::Value::Null, written }
    }

    /// The notification this event is, if it is one.
    pub(super) fn notice(&self) -> Option<&'static str> {
        match &self.written {
            Some(written) => written.notice,
            None => super::outbox::notice_of(self),
        }
    }

    /// The data as the row stores it (borrowed when written already).
    pub(super) fn data_json(&self) -> std::borrow::Cow<'_, str> {
        match &self.written {
            Some(written) => std::borrow::Cow::Borrowed(&written.text),
            None => std::borrow::Cow::Owned(self.data.to_string()),
        }
    }

    /// The data as a value (read back from its text when written already).
    pub(super) fn data_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        match &self.written {
            Some(written) => serde_json::from_str(&written.text),
            None => Ok(self.data.clone()),
        }
    }
}

/// A row's canonical bytes: each field as a netstring (`<byte length>:<bytes>,`)
/// in the order id, at_utc, actor, action_id (empty when none), event, data_json.
pub fn canonical(id: i64, at_utc: &str, actor: &str, action_id: Option<i64>, event: &str, data_json: &str) -> Vec<u8> {
    let mut out = canonical_id(id);
    out.extend_from_slice(&canonical_after_id(at_utc, actor, action_id, event, data_json));
    out
}

/// [`canonical`]'s first field, the id.
pub(crate) fn canonical_id(id: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    push_netstring(&mut out, id.to_string().as_bytes());
    out
}

/// [`canonical`] without its first field, the id: what an append can
/// prepare before it takes the chain's head (and learns its ids).
pub(crate) fn canonical_after_id(
    at_utc: &str,
    actor: &str,
    action_id: Option<i64>,
    event: &str,
    data_json: &str,
) -> Vec<u8> {
    let action = action_id.map(|a| a.to_string()).unwrap_or_default();
    let mut out = Vec::with_capacity(64 + actor.len() + data_json.len());
    for field in [at_utc, actor, &action, event, data_json] {
        push_netstring(&mut out, field.as_bytes());
    }
    out
}

/// Appends `<byte length>:<bytes>,` to `out`.
fn push_netstring(out: &mut Vec<u8>, bytes: &[u8]) {
    use std::io::Write as _;
    write!(out, "{}:", bytes.len()).expect("writing to a Vec cannot fail");
    out.extend_from_slice(bytes);
    out.push(b',');
}

/// `hex(SHA-256(prev_hash as ASCII ‖ canonical bytes))`.
pub fn chain(prev_hash: &str, canonical: &[u8]) -> String {
    chain_of_parts(prev_hash, &[canonical])
}

/// [`chain`] of canonical bytes given in consecutive parts.
pub(crate) fn chain_of_parts(prev_hash: &str, canonical: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    for part in canonical {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

const ROWS_AFTER: &str = "SELECT id, at_utc, actor, action_id, event, data_json, prev_hash, hash FROM aol_audit \
     WHERE id > $1 ORDER BY id LIMIT $2";
/// Rows read per statement while verifying or exporting.
const PAGE: i64 = 10_000;

impl Db {
    /// Appends `entries` in a transaction of their own (events with no other
    /// row to go with: a sign-in, a person added).
    pub async fn audit_append(&self, entries: &[AuditEntry], now: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            let mut tx = sqlx::Connection::begin(conn).await?;
            append_audit!(tx, now, entries).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Up to `limit` rows after id `after`, oldest first.
    pub async fn audit_rows_after(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(ROWS_AFTER).bind(after).bind(limit).fetch_all(conn).await?))
    }

    /// The events `find` names, newest first.
    pub async fn audit_find(&self, find: &AuditFind) -> Result<Vec<AuditRow>, StoreError> {
        on_read_pool!(self, |conn| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id, at_utc, actor, action_id, event, data_json, prev_hash, hash FROM aol_audit WHERE 1 = 1",
            );
            if let Some(id) = find.action_id {
                q.push(" AND action_id IN (").push_bind(id);
                q.push(", (SELECT enqueued_with FROM aol_actions WHERE id = ").push_bind(id);
                q.push(")) AND (event = 'enqueued' OR action_id = ").push_bind(id).push(")");
            }
            if let Some(actor) = &find.actor {
                q.push(" AND actor = ").push_bind(actor.as_str());
            }
            if let Some(event) = &find.event {
                q.push(" AND event = ").push_bind(event.as_str());
            }
            if let Some(since) = &find.since {
                q.push(" AND at_utc >= ").push_bind(since.as_str());
            }
            if let Some(until) = &find.until {
                q.push(" AND at_utc < ").push_bind(until.as_str());
            }
            if let Some(before) = find.before_id {
                q.push(" AND id < ").push_bind(before);
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(find.limit);
            Ok(q.build_query_as().fetch_all(conn).await?)
        })
    }

    /// Records the verdict of a check of the whole chain.
    pub async fn audit_checked(&self, now: DateTime<Utc>, verdict: &str) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query("UPDATE aol_audit_head SET checked_at_utc = $1, checked_verdict = $2 WHERE id = 1")
                .bind(audit_time(now))
                .bind(verdict)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// When the whole chain was last checked, and what was found.
    pub async fn audit_last_check(&self) -> Result<Option<(String, String)>, StoreError> {
        const LAST: &str = "SELECT checked_at_utc, checked_verdict FROM aol_audit_head \
             WHERE id = 1 AND checked_at_utc IS NOT NULL";
        on_read_pool!(self, |conn| Ok(sqlx::query_as(LAST).fetch_optional(conn).await?))
    }

    /// An action's events, oldest first: its own rows, and the `enqueued`
    /// row of the call that added it with others, which names the first of
    /// them (`enqueued_with`, migration 0029). [`Db::audit_find`] by action
    /// finds the same.
    pub async fn audit_of_action(&self, action_id: i64) -> Result<Vec<AuditRow>, StoreError> {
        const OF_ACTION: &str = "SELECT id, at_utc, actor, action_id, event, data_json, prev_hash, hash \
             FROM aol_audit WHERE action_id IN ($1, (SELECT enqueued_with FROM aol_actions WHERE id = $1)) \
             AND (event = 'enqueued' OR action_id = $1) ORDER BY id";
        on_read_pool!(self, |conn| Ok(sqlx::query_as(OF_ACTION).bind(action_id).fetch_all(conn).await?))
    }

    /// The chain's end: how many rows it has had, and the last hash.
    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as("SELECT seq, hash FROM aol_audit_head WHERE id = 1")
            .fetch_one(conn)
            .await?))
    }

    /// Removes up to `limit` of the oldest rows written before `before`
    /// (never the newest row), and appends an `audit_pruned` event that
    /// carries the last removed row's id and hash forward: the chain still
    /// verifies from there. Returns how many rows went.
    pub async fn audit_prune(&self, before: DateTime<Utc>, limit: i64, now: DateTime<Utc>) -> Result<u64, StoreError> {
        const LOCK: &str = "UPDATE aol_audit_head SET seq = seq WHERE id = 1 RETURNING seq";
        const LAST_OLD: &str = "SELECT MAX(id) FROM (SELECT id FROM aol_audit WHERE at_utc < $1 AND id < $2 \
             ORDER BY id LIMIT $3) AS old";
        on_pool!(self, |conn| {
            let mut tx = sqlx::Connection::begin(conn).await?;
            let head: i64 = sqlx::query_scalar(LOCK).fetch_one(&mut *tx).await?;
            let last: Option<i64> = sqlx::query_scalar(LAST_OLD)
                .bind(audit_time(before))
                .bind(head)
                .bind(limit)
                .fetch_one(&mut *tx)
                .await?;
            let Some(last) = last else { return Ok(0) };
            let hash: String =
                sqlx::query_scalar("SELECT hash FROM aol_audit WHERE id = $1").bind(last).fetch_one(&mut *tx).await?;
            let gone = sqlx::query("DELETE FROM aol_audit WHERE id <= $1").bind(last).execute(&mut *tx).await?;
            let data = serde_json::json!({"through": last, "hash": hash, "rows": gone.rows_affected()});
            let event = AuditEntry::new("aol:retention", None, CHECKPOINT, data);
            append_audit!(tx, now, std::slice::from_ref(&event)).await?;
            tx.commit().await?;
            Ok(gone.rows_affected())
        })
    }

    /// Where the chain starts: the hash before its first row (row 1's is
    /// [`GENESIS`]; after a prune, the newest checkpoint's).
    async fn audit_start(&self, first_id: i64) -> Result<Result<String, String>, StoreError> {
        if first_id == 1 {
            return Ok(Ok(GENESIS.to_string()));
        }
        const NEWEST: &str = "SELECT data_json FROM aol_audit WHERE event = $1 ORDER BY id DESC LIMIT 1";
        let data: Option<String> =
            on_read_pool!(self, |conn| sqlx::query_scalar(NEWEST).bind(CHECKPOINT).fetch_optional(conn).await)?;
        let data: serde_json::Value = data.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default();
        match (data["through"].as_i64(), data["hash"].as_str()) {
            (Some(through), Some(hash)) if through + 1 == first_id => Ok(Ok(hash.to_string())),
            _ => Ok(Err(format!(
                "the chain starts at row {first_id}, and no {CHECKPOINT} event says rows before it were pruned"
            ))),
        }
    }

    /// Recomputes the whole chain, a page at a time.
    pub async fn audit_verify(&self) -> Result<AuditCheck, StoreError> {
        let (head_seq, head_hash) = self.audit_head().await?;
        let mut prev: Option<(i64, String)> = None;
        let mut rows = 0;
        loop {
            let after = prev.as_ref().map_or(0, |(id, _)| *id);
            let page = self.audit_rows_after(after, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for row in page {
                let start = match &prev {
                    Some(_) => None,
                    None => match self.audit_start(row.id).await? {
                        Ok(start) => Some(start),
                        Err(why) => return Ok(AuditCheck::Broken { id: row.id, why }),
                    },
                };
                if let Some(why) = mismatch(&row, prev.as_ref(), start.as_deref()) {
                    return Ok(AuditCheck::Broken { id: row.id, why });
                }
                rows += 1;
                prev = Some((row.id, row.hash));
            }
        }
        let (last_id, last_hash) = prev.unwrap_or((0, GENESIS.to_string()));
        if last_id > head_seq {
            let why = format!("row {} is past the chain's end (row {head_seq}): it was slipped in", head_seq + 1);
            return Ok(AuditCheck::Broken { id: head_seq + 1, why });
        }
        if (last_id, last_hash.as_str()) != (head_seq, head_hash.as_str()) {
            let why = format!("the chain ends at row {last_id} but its head says row {head_seq}: rows are missing");
            return Ok(AuditCheck::Broken { id: last_id + 1, why });
        }
        Ok(AuditCheck::Intact { rows, head: last_hash })
    }
}

/// The event that carries a pruned chain's last hash forward.
pub const CHECKPOINT: &str = "audit_pruned";

/// Why `row` does not follow `prev` (its id and hash), or for the first row
/// the hash the chain starts from (`start`), if it does not.
pub fn mismatch(row: &AuditRow, prev: Option<&(i64, String)>, start: Option<&str>) -> Option<String> {
    let expected_prev = match prev {
        Some((id, hash)) => {
            if row.id != id + 1 {
                return Some(format!("row {} follows row {id}: rows {}..{} are missing", row.id, id + 1, row.id - 1));
            }
            hash.clone()
        }
        None => start.unwrap_or(GENESIS).to_string(),
    };
    if row.prev_hash != expected_prev {
        return Some(format!("its prev_hash is not the hash of the row before ({expected_prev})"));
    }
    let bytes = canonical(row.id, &row.at_utc, &row.actor, row.action_id, &row.event, &row.data_json);
    let hash = chain(&row.prev_hash, &bytes);
    if hash != row.hash {
        return Some(format!("its content does not match its hash (recomputed {hash})"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_are_netstrings() {
        let bytes = canonical(7, "2026-12-02T10:00:00.000000Z", "ana", None, "flag", r#"{"a":1}"#);
        assert_eq!(bytes, b"1:7,27:2026-12-02T10:00:00.000000Z,3:ana,0:,4:flag,7:{\"a\":1},".to_vec());
        assert_eq!(chain(GENESIS, b"").len(), 64);
    }
}
