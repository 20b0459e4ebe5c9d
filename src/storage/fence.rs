//! Fencing: a daemon's writes only land while it holds the lease at its epoch.
//!
//! Every fenced statement starts its placeholders with the four values of a
//! [`Fence`] (`$1` lease name, `$2` owner, `$3` epoch, `$4` now) and ends its
//! WHERE clause with the lease check. On PostgreSQL the check also takes a
//! share lock on the lease row, so a takeover committing at the same moment
//! waits for the write (or the write sees the takeover and matches nothing).

use chrono::{DateTime, Utc};

/// The daemon's proof of leadership, bound to every result it writes.
#[derive(Clone, Copy, Debug)]
pub struct Fence<'a> {
    pub lease: &'a str,
    pub owner: &'a str,
    pub epoch: i64,
    pub now: DateTime<Utc>,
}

/// One statement spelled for each dialect.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PerDialect {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl PerDialect {
    /// The spelling for `dialect`.
    pub fn on(self, dialect: super::Dialect) -> &'static str {
        match dialect {
            super::Dialect::Sqlite => self.sqlite,
            super::Dialect::Postgres => self.postgres,
        }
    }
}

/// The lease check itself, as a literal; `$lock` is `""` or `" FOR SHARE"`.
macro_rules! lease_check {
    ($lock:literal) => {
        concat!(
            " AND EXISTS (SELECT 1 FROM aol_lease WHERE name = $1 AND owner = $2 AND epoch = $3 AND expires_at_utc > $4",
            $lock,
            ") "
        )
    };
}
pub(crate) use lease_check;

/// The lease check for statements built at run time (multi-row writes).
pub(crate) const LEASE_CHECK: PerDialect =
    PerDialect { sqlite: lease_check!(""), postgres: lease_check!(" FOR SHARE") };

/// `fenced!("UPDATE … WHERE …", "RETURNING …")` puts the lease check between the two parts.
macro_rules! fenced {
    ($head:expr, $tail:expr) => {
        $crate::storage::fence::PerDialect {
            sqlite: concat!($head, $crate::storage::fence::lease_check!(""), $tail),
            postgres: concat!($head, $crate::storage::fence::lease_check!(" FOR SHARE"), $tail),
        }
    };
}
pub(crate) use fenced;

/// Binds a [`Fence`]'s four values, in order, as `$1`…`$4`.
macro_rules! bind_fence {
    ($query:expr, $fence:expr) => {
        $query.bind($fence.lease).bind($fence.owner).bind($fence.epoch).bind($fence.now)
    };
}
pub(crate) use bind_fence;
