//! `aol_control_flags` (one row) and its history `aol_flag_changes`.

use chrono::{DateTime, Utc};

use super::durable::on_disk;
use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::{ControlFlags, Flag, FlagChange};

/// The columns of [`ControlFlags`], as every read of the row returns them.
macro_rules! flag_columns {
    () => {
        "paused, killed, proof_mode, updated_at_utc, updated_by, reason, version"
    };
}

const SELECT_FLAGS: &str = concat!("SELECT ", flag_columns!(), " FROM aol_control_flags WHERE id = 1");

/// Sets one flag only if it differs, so a row comes back exactly when something changed.
macro_rules! set_flag_sql {
    ($column:literal) => {
        concat!(
            "UPDATE aol_control_flags SET ",
            $column,
            " = $1, updated_at_utc = $2, updated_by = $3, reason = $4, version = version + 1 \
             WHERE id = 1 AND ",
            $column,
            " <> $1 RETURNING ",
            flag_columns!()
        )
    };
}

const INSERT_CHANGE: &str = "INSERT INTO aol_flag_changes \
     (changed_at_utc, changed_by, flag, old_value, new_value, reason) VALUES ($1, $2, $3, $4, $5, $6)";

const SELECT_CHANGES: &str = "SELECT id, changed_at_utc, changed_by, flag, old_value, new_value, reason \
     FROM aol_flag_changes ORDER BY id DESC LIMIT $1";

/// Who asks for a change, and why: recorded with it.
#[derive(Clone, Debug)]
pub struct Actor<'a> {
    pub who: &'a str,
    pub reason: Option<&'a str>,
}

impl<'a> Actor<'a> {
    /// With a reason as typed in a form or a request: trimmed, and none if blank.
    pub fn with_typed_reason(who: &'a str, reason: Option<&'a str>) -> Actor<'a> {
        Actor { who, reason: reason.map(str::trim).filter(|r| !r.is_empty()) }
    }
}

impl Db {
    pub async fn flags_get(&self) -> Result<ControlFlags, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SELECT_FLAGS).fetch_one(&mut *conn).await?))
    }

    /// Sets `flag` to `value` and records the change, atomically. Returns the new
    /// flags, or `None` when the flag already had that value (nothing is written).
    pub async fn flags_set(
        &self,
        flag: Flag,
        value: bool,
        now: DateTime<Utc>,
        actor: &Actor<'_>,
    ) -> Result<Option<ControlFlags>, StoreError> {
        let sql = match flag {
            Flag::Paused => set_flag_sql!("paused"),
            Flag::Killed => set_flag_sql!("killed"),
            Flag::ProofMode => set_flag_sql!("proof_mode"),
        };
        on_pool!(self, |conn| {
            // The UPDATE is the transaction's first statement, so on SQLite it takes
            // the write lock at once (no read-to-write upgrade that could fail busy).
            // An operator's decision: on disk before it returns (durable.rs).
            on_disk!(conn, |tx| {
                let updated: Option<ControlFlags> = sqlx::query_as(sql)
                    .bind(value)
                    .bind(now)
                    .bind(actor.who)
                    .bind(actor.reason)
                    .fetch_optional(&mut *tx)
                    .await?;
                if updated.is_some() {
                    sqlx::query(INSERT_CHANGE)
                        .bind(now)
                        .bind(actor.who)
                        .bind(flag.column())
                        .bind(!value)
                        .bind(value)
                        .bind(actor.reason)
                        .execute(&mut *tx)
                        .await?;
                    let data =
                        serde_json::json!({"flag": flag.column(), "from": !value, "to": value, "reason": actor.reason});
                    let event = super::AuditEntry::new(actor.who, None, "flag", data);
                    super::audit::append_audit!(tx, now, std::slice::from_ref(&event)).await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(updated)
            })
        })
    }

    /// The newest flag changes first.
    pub async fn flag_changes_recent(&self, limit: i64) -> Result<Vec<FlagChange>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SELECT_CHANGES).bind(limit).fetch_all(&mut *conn).await?))
    }
}
