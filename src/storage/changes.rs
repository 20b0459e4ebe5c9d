//! A cheap marker of "something the dashboard shows has changed": the newest
//! row id of each growing table and the stamps of the single-row tables. Every
//! write the dashboard can see moves at least one of them (every change of an
//! action writes a log line), and reading it uses only primary keys.

use chrono::{DateTime, Utc};

use super::{on_read_pool, Db, StoreError};

const MARKER: &str = "SELECT \
       (SELECT MAX(id) FROM aol_actions) AS last_action, \
       (SELECT MAX(id) FROM aol_execution_logs) AS last_log, \
       (SELECT MAX(id) FROM aol_tick_ledger) AS last_tick, \
       (SELECT MAX(id) FROM aol_flag_changes) AS last_flag_change, \
       (SELECT MAX(id) FROM aol_channel_changes) AS last_channel_change, \
       (SELECT MAX(id) FROM aol_policies) AS last_policy, \
       (SELECT updated_at_utc FROM aol_control_flags WHERE id = 1) AS flags_updated, \
       (SELECT renewed_at_utc FROM aol_lease WHERE name = $1) AS lease_renewed, \
       (SELECT expires_at_utc FROM aol_lease WHERE name = $1) AS lease_expires";

/// Equal markers: nothing the dashboard shows has changed in between (apart
/// from the passing of time, which [`ChangeMarker::lease_live`] covers).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ChangeMarker {
    pub last_action: Option<i64>,
    pub last_log: Option<i64>,
    pub last_tick: Option<i64>,
    pub last_flag_change: Option<i64>,
    pub last_channel_change: Option<i64>,
    pub last_policy: Option<i64>,
    pub flags_updated: Option<DateTime<Utc>>,
    pub lease_renewed: Option<DateTime<Utc>>,
    pub lease_expires: Option<DateTime<Utc>>,
}

impl ChangeMarker {
    /// Whether the lease `name` was held at `now`: its running out is a change
    /// that no row records.
    pub fn lease_live(&self, now: DateTime<Utc>) -> bool {
        self.lease_expires.is_some_and(|e| e > now)
    }
}

impl Db {
    /// The current [`ChangeMarker`], with the stamps of the lease `lease_name`.
    pub async fn change_marker(&self, lease_name: &str) -> Result<ChangeMarker, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(MARKER).bind(lease_name).fetch_one(&mut *conn).await?))
    }
}
