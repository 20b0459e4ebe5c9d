//! `aol_execution_logs`: what happened on each attempt, written with the result
//! it belongs to.

use chrono::{DateTime, Utc};

use super::{on_pool, on_read_pool, Db, StoreError};
use crate::model::{ExecutionLog, LogLevel};

/// The columns every log insert fills, in order.
pub(super) const INSERT_HEAD: &str = "INSERT INTO aol_execution_logs (action_id, ts_utc, level, message, \
     artifact_ref, artifact_sha256, lease_epoch, artifact_bytes) ";

/// How a log line names the artifact it holds (`sha256:<hex>`); lines
/// written before artifacts moved into the database name a file's path.
pub const ARTIFACT_REF_PREFIX: &str = "sha256:";

/// The types of a log line's values as rows carry them: action id, level,
/// message, artifact reference, artifact SHA-256, artifact bytes.
pub(crate) const LINE_TYPES: [&str; 6] = ["bigint", "text", "text", "text", "text", "bytea"];

/// Binds to `$query` the columns of [`LINE_TYPES`] after the action id, one
/// array each (PostgreSQL's `unnest` rows), for `$logs`, an iterator of
/// `&NewLog`. Evaluates to the query.
macro_rules! bind_line_arrays {
    ($query:expr, $logs:expr) => {{
        let logs: Vec<&$crate::storage::NewLog> = $logs.collect();
        $query
            .bind(logs.iter().map(|&log| log.level.as_str()).collect::<Vec<&str>>())
            .bind(logs.iter().map(|&log| log.message.as_str()).collect::<Vec<&str>>())
            .bind(logs.iter().map(|&log| log.artifact_ref.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(logs.iter().map(|&log| log.artifact_sha256.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(logs.iter().map(|&log| log.artifact_bytes.as_deref()).collect::<Vec<Option<&[u8]>>>())
    }};
}
pub(crate) use bind_line_arrays;

const FOR_ACTION: &str = "SELECT id, action_id, ts_utc, level, message, artifact_ref, artifact_sha256, lease_epoch \
     FROM aol_execution_logs WHERE action_id = $1 ORDER BY id";

const ARTIFACT_BYTES: &str = "SELECT artifact_bytes FROM aol_execution_logs WHERE id = $1";

const LATEST: &str = "SELECT id, action_id, ts_utc, level, message, artifact_ref, artifact_sha256, lease_epoch \
     FROM aol_execution_logs ORDER BY id DESC LIMIT $1";

/// A log line to append. Each one is also an event of the audit trail,
/// written in the same statement's transaction: `event` names it, `actor`
/// says who (none: the daemon term that writes it, or AOL itself).
#[derive(Clone, Debug)]
pub struct NewLog {
    pub level: LogLevel,
    pub message: String,
    pub artifact_ref: Option<String>,
    pub artifact_sha256: Option<String>,
    /// The artifact's bytes: kept in the line itself, so written in the
    /// transaction of the result it belongs to (see [`NewLog::with_artifact`]).
    pub artifact_bytes: Option<Vec<u8>>,
    pub event: &'static str,
    pub actor: Option<String>,
    /// More for the audit event (a post's remote id, a request's SHA-256).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl NewLog {
    pub fn new(level: LogLevel, message: impl Into<String>) -> NewLog {
        NewLog {
            level,
            message: message.into(),
            artifact_ref: None,
            artifact_sha256: None,
            artifact_bytes: None,
            event: "log",
            actor: None,
            extra: Default::default(),
        }
    }

    /// The line as a row of [`LINE_TYPES`] for `action_id`, as JSON rows carry it.
    pub(crate) fn json_row(&self, action_id: i64) -> serde_json::Value {
        let bytes = self.artifact_bytes.as_deref().map(hex::encode);
        serde_json::json!([
            action_id,
            self.level.as_str(),
            self.message,
            self.artifact_ref,
            self.artifact_sha256,
            bytes
        ])
    }

    /// The artifact this line's attempt made, `bytes` with their SHA-256
    /// `sha256`: named by the line as `sha256:<hex>` and stored with it.
    pub fn with_artifact(mut self, sha256: String, bytes: Vec<u8>) -> NewLog {
        self.artifact_ref = Some(format!("{ARTIFACT_REF_PREFIX}{sha256}"));
        self.artifact_sha256 = Some(sha256);
        self.artifact_bytes = Some(bytes);
        self
    }

    /// A fact the audit event carries besides the line.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> NewLog {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// The audit event this line records, and who caused it.
    pub fn event(mut self, event: &'static str, actor: Option<&str>) -> NewLog {
        self.event = event;
        self.actor = actor.map(str::to_string);
        self
    }

    /// The line as an event of the audit trail, for `action_id`, written by
    /// the daemon term `epoch` (none: an operator's change).
    pub fn audit_entry(&self, action_id: i64, epoch: Option<i64>) -> super::AuditEntry {
        let actor = match (&self.actor, epoch) {
            (Some(actor), _) => actor.clone(),
            (None, Some(_)) => "aol:daemon".to_string(),
            (None, None) => "aol".to_string(),
        };
        let mut data = serde_json::json!({ "level": self.level.as_str(), "message": self.message });
        if let Some(sha) = &self.artifact_sha256 {
            data["sha256"] = serde_json::Value::String(sha.clone());
        }
        if let Some(epoch) = epoch {
            data["epoch"] = serde_json::Value::from(epoch);
        }
        for (key, value) in &self.extra {
            data[key.as_str()] = value.clone();
        }
        super::AuditEntry::new(&actor, Some(action_id), self.event, data)
    }
}

/// Appends log lines, `(action_id, &NewLog)` each, all stamped `now` and with
/// the daemon term `epoch` that writes them (`None` for an operator's), on
/// `executor` (`&mut *tx` inside a transaction, or a pool): one statement,
/// its rows one JSON parameter. Evaluates to the statements' `Result`.
macro_rules! insert_logs {
    ($executor:expr, $now:expr, $epoch:expr, $lines:expr) => {
        async {
            let lines = $lines;
            if lines.is_empty() {
                return Ok::<(), sqlx::Error>(());
            }
            if $crate::storage::Placeholders::binds_rows(&*$executor) {
                $crate::storage::insert_bound!(
                    $executor,
                    $crate::storage::logs::INSERT_HEAD,
                    8,
                    "",
                    lines,
                    |q, (action_id, log)| q
                        .bind(*action_id)
                        .bind($now)
                        .bind(log.level.as_str())
                        .bind(log.message.as_str())
                        .bind(log.artifact_ref.as_deref())
                        .bind(log.artifact_sha256.as_deref())
                        .bind($epoch)
                        .bind(log.artifact_bytes.as_deref())
                )
                .await?;
            } else {
                let sql = format!(
                    "{}SELECT v.column1, $1, v.column2, v.column3, v.column4, v.column5, $2, v.column6 FROM {}",
                    $crate::storage::logs::INSERT_HEAD,
                    $crate::storage::Placeholders::json_rows(&*$executor, 3, &$crate::storage::logs::LINE_TYPES)
                );
                let rows = lines.iter().map(|(action_id, log)| log.json_row(*action_id)).collect();
                sqlx::query(&sql)
                    .bind($now)
                    .bind($epoch)
                    .bind($crate::storage::json_rows_of(rows))
                    .execute(&mut *$executor)
                    .await?;
            }
            let events: Vec<$crate::storage::AuditEntry> =
                lines.iter().map(|(action_id, log)| log.audit_entry(*action_id, $epoch)).collect();
            $crate::storage::audit::append_audit!($executor, $now, &events).await?;
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use insert_logs;

impl Db {
    /// An action's log lines, oldest first.
    pub async fn logs_for_action(&self, action_id: i64) -> Result<Vec<ExecutionLog>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(FOR_ACTION).bind(action_id).fetch_all(&mut *conn).await?))
    }

    /// The newest log lines of all actions, newest first.
    pub async fn logs_latest(&self, limit: i64) -> Result<Vec<ExecutionLog>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(LATEST).bind(limit).fetch_all(&mut *conn).await?))
    }

    /// The artifact log line `log_id` holds, if it is there and holds one.
    pub async fn artifact_bytes(&self, log_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let found: Option<Option<Vec<u8>>> =
            on_read_pool!(self, |conn| sqlx::query_scalar(ARTIFACT_BYTES).bind(log_id).fetch_optional(conn).await)?;
        Ok(found.flatten())
    }

    /// Appends a log line outside any result (e.g. an operator's action).
    pub async fn log_append(&self, action_id: i64, now: DateTime<Utc>, log: &NewLog) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            let mut tx = sqlx::Connection::begin(conn).await?;
            insert_logs!(&mut *tx, now, None::<i64>, [(action_id, log)]).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
