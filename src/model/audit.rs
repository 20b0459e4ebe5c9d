//! The audit trail's rows and the verdict of checking them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A time as the audit trail stores and hashes it: RFC 3339, microseconds, `Z`.
pub fn audit_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A row of the audit trail, as stored (see docs/audit.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditRow {
    pub id: i64,
    pub at_utc: String,
    pub actor: String,
    pub action_id: Option<i64>,
    pub event: String,
    pub data_json: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What `aol audit verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditCheck {
    Intact {
        rows: i64,
        head: String,
    },
    /// The first row that does not match, and how.
    Broken {
        id: i64,
        why: String,
    },
}

/// As `aol audit verify` says it: "intact, N rows, head H" or "broken at row N: why".
impl std::fmt::Display for AuditCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditCheck::Intact { rows, head } => write!(f, "intact, {rows} rows, head {head}"),
            AuditCheck::Broken { id, why } => write!(f, "broken at row {id}: {why}"),
        }
    }
}

/// Which events to list (newest first); every field narrows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFind {
    pub action_id: Option<i64>,
    /// Exactly this actor ("ana", "agent:bot").
    pub actor: Option<String>,
    pub event: Option<String>,
    /// From this time (as stored: RFC 3339, `Z`).
    pub since: Option<String>,
    /// Before this time.
    pub until: Option<String>,
    /// Rows older than this id (the last of the page before).
    pub before_id: Option<i64>,
    pub limit: i64,
}
