//! What scopes an agent: the channels it may post to (`aol_agent_channels`),
//! and the keys from before AOL recorded who enqueued an action, which every
//! agent's namespace still includes (an agent that sends a key again after
//! an upgrade gets its old action, never a second post).

use super::action_reads::{actions_among_keys, among_keys, retired_head};
use super::enqueue::{Inserted, RetiredKey};
use super::fence::PerDialect;
use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::Action;

impl Db {
    /// The channels `agent` may post to; empty: every channel.
    pub async fn agent_channels(&self, agent: &str) -> Result<Vec<String>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_scalar(
            "SELECT channel FROM aol_agent_channels WHERE agent = $1 ORDER BY channel"
        )
        .bind(agent)
        .fetch_all(conn)
        .await?))
    }

    /// Sets the channels `agent` may post to (empty: every channel).
    pub async fn agent_channels_set(&self, agent: &str, channels: &[String]) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            let mut tx = sqlx::Connection::begin(conn).await?;
            sqlx::query("DELETE FROM aol_agent_channels WHERE agent = $1").bind(agent).execute(&mut *tx).await?;
            for channel in channels {
                sqlx::query("INSERT INTO aol_agent_channels (agent, channel) VALUES ($1, $2)")
                    .bind(agent)
                    .bind(channel)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// For each of `keys`, the action or retired key that had it before AOL
    /// recorded who enqueued (`enqueued_by` NULL), if any.
    pub async fn keys_from_before(&self, keys: &[&str]) -> Result<Vec<(String, Inserted)>, StoreError> {
        const ACTIONS: PerDialect = actions_among_keys!(" AND enqueued_by IS NULL");
        const RETIRED: PerDialect = among_keys!(retired_head!(), " AND enqueued_by IS NULL");
        let dialect = self.dialect();
        let keys = sqlx::types::Json(keys);
        on_read_pool!(self, |conn| {
            let mut found: Vec<(String, Inserted)> = Vec::new();
            let actions: Vec<Action> = sqlx::query_as(ACTIONS.on(dialect)).bind(keys).fetch_all(&mut *conn).await?;
            found.extend(actions.into_iter().map(|a| (a.idempotency_key.clone(), Inserted::Existing(a))));
            let retired: Vec<RetiredKey> = sqlx::query_as(RETIRED.on(dialect)).bind(keys).fetch_all(&mut *conn).await?;
            found.extend(retired.into_iter().map(|r| (r.idempotency_key.clone(), Inserted::Retired(r))));
            Ok(found)
        })
    }
}
