//! Reads of whole actions: by id, by key, a page with filters, the counts
//! per status; and the statement pieces the other modules read actions with.
//! PostgreSQL finds actions by key, type and who enqueued through
//! `aol_action_lookup` (migrations 0021, 0022), SQLite through indexes of
//! `aol_actions`.

use super::fence::PerDialect;
use super::{on_read_pool, Db, StoreError};
use crate::model::{Action, ActionFilter, StatusCount};

macro_rules! cols {
    () => {
        "id, idempotency_key, action_type, payload_json, status, attempts, not_before_utc, last_error, \
         created_at_utc, updated_at_utc, lease_epoch, prepared_sha256, remote_id, remote_url, channel, \
         scheduled_for_utc, not_after_utc, policy, facts_json, first_sent_at_utc, reached_at_utc, enqueued_by, \
         edited_by, time_zone"
    };
}
pub(super) use cols;

/// `$head WHERE` the key is among the JSON array of keys `$1` `$tail`: one
/// statement text for any number of keys. With a bind per key, PostgreSQL
/// got a new statement, prepared and planned anew, for each count of keys,
/// and every enqueue group looks its new keys up once.
macro_rules! among_keys {
    ($head:expr, $tail:literal) => {
        $crate::storage::fence::PerDialect {
            sqlite: concat!($head, " WHERE idempotency_key IN (SELECT value FROM json_each($1))", $tail),
            postgres: concat!(
                $head,
                " WHERE idempotency_key = ANY(ARRAY(SELECT jsonb_array_elements_text($1)))",
                $tail
            ),
        }
    };
}
pub(super) use among_keys;

/// [`among_keys!`] for actions: PostgreSQL indexes their keys in
/// `aol_action_lookup`, not on the actions (migrations 0021, 0022).
macro_rules! actions_among_keys {
    ($tail:literal) => {
        $crate::storage::fence::PerDialect {
            sqlite: $crate::storage::action_reads::among_keys!($crate::storage::action_reads::actions_head!(), $tail)
                .sqlite,
            postgres: concat!(
                $crate::storage::action_reads::actions_head!(),
                " WHERE id IN (SELECT action_id FROM aol_action_lookup \
                  WHERE idempotency_key = ANY(ARRAY(SELECT jsonb_array_elements_text($1))))",
                $tail
            ),
        }
    };
}
pub(super) use actions_among_keys;

/// `SELECT` an action's columns `FROM aol_actions`: every read of whole actions starts so.
macro_rules! actions_head {
    () => {
        concat!("SELECT ", $crate::storage::action_reads::cols!(), " FROM aol_actions")
    };
}
pub(super) use actions_head;
/// `SELECT` a retired key's columns `FROM aol_retired_keys`.
macro_rules! retired_head {
    () => {
        "SELECT idempotency_key, action_id, status, finished_at_utc, retired_at_utc FROM aol_retired_keys"
    };
}
pub(super) use retired_head;

/// The actions with any of the keys `$1` (a JSON array).
pub(super) const BY_KEYS: PerDialect = actions_among_keys!("");
/// The retired keys among `$1` (a JSON array).
pub(super) const RETIRED_AMONG: PerDialect = among_keys!(retired_head!(), "");
/// ` AND $column = ` (a bind, then [`LOOKUP_END`]): a filter by key, by type
/// or by who enqueued. PostgreSQL indexes these in `aol_action_lookup`, not
/// on the actions (migrations 0021, 0022).
macro_rules! lookup_eq {
    ($column:literal) => {
        PerDialect {
            sqlite: concat!(" AND ", $column, " = "),
            postgres: concat!(" AND id IN (SELECT action_id FROM aol_action_lookup WHERE ", $column, " = "),
        }
    };
}
const BY_KEY_FILTER: PerDialect = lookup_eq!("idempotency_key");
const BY_TYPE: PerDialect = lookup_eq!("action_type");
const BY_ENQUEUER: PerDialect = lookup_eq!("enqueued_by");
const LOOKUP_END: PerDialect = PerDialect { sqlite: "", postgres: ")" };
const BY_KEY: PerDialect = PerDialect {
    sqlite: concat!(actions_head!(), " WHERE idempotency_key = $1"),
    postgres: concat!(
        actions_head!(),
        " WHERE id = (SELECT action_id FROM aol_action_lookup WHERE idempotency_key = $1)"
    ),
};
const BY_ID: &str = concat!(actions_head!(), " WHERE id = $1");

impl Db {
    pub async fn action_get(&self, id: i64) -> Result<Option<Action>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(BY_ID).bind(id).fetch_optional(&mut *conn).await?))
    }

    pub async fn action_by_key(&self, key: &str) -> Result<Option<Action>, StoreError> {
        let sql = BY_KEY.on(self.dialect());
        on_read_pool!(self, |conn| Ok(sqlx::query_as(sql).bind(key).fetch_optional(&mut *conn).await?))
    }

    /// A page of actions, newest first. Each filter is an indexed equality and
    /// paging is by id (keyset), so a page costs the same at any table size.
    pub async fn actions_page(&self, filter: &ActionFilter, limit: i64) -> Result<Vec<Action>, StoreError> {
        let dialect = self.dialect();
        on_read_pool!(self, |conn| {
            let mut q = sqlx::QueryBuilder::new(concat!(actions_head!(), " WHERE 1 = 1"));
            if let Some(status) = &filter.status {
                q.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(action_type) = &filter.action_type {
                q.push(BY_TYPE.on(dialect)).push_bind(action_type.as_str()).push(LOOKUP_END.on(dialect));
            }
            if let Some(key) = &filter.key {
                q.push(BY_KEY_FILTER.on(dialect)).push_bind(key.as_str()).push(LOOKUP_END.on(dialect));
            }
            if let Some(before) = filter.before_id {
                q.push(" AND id < ").push_bind(before);
            }
            if let Some(by) = &filter.enqueued_by {
                q.push(BY_ENQUEUER.on(dialect)).push_bind(by.as_str()).push(LOOKUP_END.on(dialect));
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
            Ok(q.build_query_as().fetch_all(&mut *conn).await?)
        })
    }

    /// The newest actions, optionally of one status.
    pub async fn actions_recent(&self, status: Option<&str>, limit: i64) -> Result<Vec<Action>, StoreError> {
        let filter = ActionFilter { status: status.map(str::to_string), ..ActionFilter::default() };
        self.actions_page(&filter, limit).await
    }

    /// Number of actions per status (statuses with none are absent).
    pub async fn action_counts(&self) -> Result<Vec<StatusCount>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(super::counters::STATUS_COUNTS).fetch_all(&mut *conn).await?))
    }
}
