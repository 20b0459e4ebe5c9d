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

impl AuditRow {
    /// The actions an `enqueued` row records, in their call's order: the
    /// ids its data lists when its call added several (docs/audit.md),
    /// else its own action. None for any other event.
    pub fn enqueued_actions(&self) -> Vec<i64> {
        if self.event != "enqueued" {
            return Vec::new();
        }
        #[derive(Deserialize)]
        struct Listed {
            ids: Option<Vec<i64>>,
        }
        match serde_json::from_str::<Listed>(&self.data_json) {
            Ok(Listed { ids: Some(ids) }) => ids,
            _ => self.action_id.into_iter().collect(),
        }
    }

    /// Its data as a page shows it: as stored, except the `enqueued` row of
    /// a call that added several actions, which lists them all: on the page
    /// of one of them (`action`) that action's own entry, elsewhere how
    /// many and which (`aol audit export` gives the row in full).
    pub fn shown_data(&self, action: Option<i64>) -> String {
        let ids = self.enqueued_actions();
        if ids.len() < 2 {
            return self.data_json.clone();
        }
        let own = action.and_then(|id| ids.iter().position(|i| *i == id)).and_then(|at| {
            let data: serde_json::Value = serde_json::from_str(&self.data_json).ok()?;
            Some(data["actions"].get(at)?.to_string())
        });
        match own {
            Some(own) => format!("{own} (one of {} actions enqueued in one call)", ids.len()),
            None => format!("{} actions enqueued in one call: #{} to #{}", ids.len(), ids[0], ids[ids.len() - 1]),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::AuditRow;

    fn row(event: &str, action_id: Option<i64>, data_json: &str) -> AuditRow {
        AuditRow {
            id: 7,
            at_utc: "2026-12-07T10:00:00.000000Z".into(),
            actor: "agent:bot".into(),
            action_id,
            event: event.into(),
            data_json: data_json.into(),
            prev_hash: "0".repeat(64),
            hash: "1".repeat(64),
        }
    }

    #[test]
    fn a_calls_row_names_its_actions_and_shows_each_its_own_entry() {
        let call = row("enqueued", Some(41), r#"{"actions":[{"key":"a"},{"key":"b"},{"key":"c"}],"ids":[41,42,44]}"#);
        assert_eq!(call.enqueued_actions(), vec![41, 42, 44]);
        assert_eq!(call.shown_data(Some(42)), r#"{"key":"b"} (one of 3 actions enqueued in one call)"#);
        assert_eq!(call.shown_data(None), "3 actions enqueued in one call: #41 to #44");
        assert_eq!(call.shown_data(Some(43)), "3 actions enqueued in one call: #41 to #44");

        let one = row("enqueued", Some(9), r#"{"key":"x"}"#);
        assert_eq!(one.enqueued_actions(), vec![9]);
        assert_eq!(one.shown_data(Some(9)), r#"{"key":"x"}"#);
        let other = row("approved", Some(9), r#"{"ids":[1,2]}"#);
        assert!(other.enqueued_actions().is_empty());
        assert_eq!(other.shown_data(None), r#"{"ids":[1,2]}"#);
    }
}
