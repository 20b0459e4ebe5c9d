//! `aol_policies`: append-only. A channel's policy for an action type is its
//! latest row; the rows before it are its history (who, when, why).

use chrono::{DateTime, Utc};

use super::durable::on_disk;
use super::{on_pool, on_read_pool, Actor, Db, StoreError};
use crate::model::{Policy, PolicyRow};

macro_rules! policy_cols {
    () => {
        "id, channel, action_type, mode, set_at_utc, set_by, reason, approvals"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO aol_policies (channel, action_type, mode, set_at_utc, set_by, reason, approvals) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
    policy_cols!()
);
const LATEST: &str = concat!(
    "SELECT ",
    policy_cols!(),
    " FROM aol_policies WHERE channel = $1 AND action_type = $2 ORDER BY id DESC LIMIT 1"
);
/// The latest row of every (channel, action type).
const CURRENT: &str = concat!(
    "SELECT ",
    policy_cols!(),
    " FROM aol_policies p WHERE id = (SELECT MAX(id) FROM aol_policies q \
       WHERE q.channel = p.channel AND q.action_type = p.action_type) ORDER BY channel, action_type"
);

impl Db {
    /// Sets the policy of `channel` for `action_type`.
    pub async fn policy_set(
        &self,
        channel: &str,
        action_type: &str,
        mode: Policy,
        approvals: i64,
        now: DateTime<Utc>,
        actor: &Actor<'_>,
    ) -> Result<PolicyRow, StoreError> {
        on_pool!(self, |conn| {
            // An operator's decision: on disk before it returns (durable.rs).
            on_disk!(conn, |tx| {
                let row: PolicyRow = sqlx::query_as(INSERT)
                    .bind(channel)
                    .bind(action_type)
                    .bind(mode.as_str())
                    .bind(now)
                    .bind(actor.who)
                    .bind(actor.reason)
                    .bind(approvals)
                    .fetch_one(&mut *tx)
                    .await?;
                let data = serde_json::json!({"channel": channel, "type": action_type, "mode": mode.as_str(),
                "approvals": approvals, "reason": actor.reason});
                let event = super::AuditEntry::new(actor.who, None, "policy", data);
                super::audit::append_audit!(tx, now, std::slice::from_ref(&event)).await?;
                tx.commit().await?;
                Ok::<_, StoreError>(row)
            })
        })
    }

    /// The policy set for `channel` and `action_type`, if one was.
    pub async fn policy_get(&self, channel: &str, action_type: &str) -> Result<Option<PolicyRow>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(LATEST)
            .bind(channel)
            .bind(action_type)
            .fetch_optional(&mut *conn)
            .await?))
    }

    /// Every policy in force, by channel and action type.
    pub async fn policies(&self) -> Result<Vec<PolicyRow>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(CURRENT).fetch_all(&mut *conn).await?))
    }
}
