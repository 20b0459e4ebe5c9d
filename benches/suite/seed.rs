//! Seeding a database with many rows at once: one SQL statement per table,
//! statuses spread like a busy year (mostly SUCCESS), so the measured calls
//! meet tables of a realistic shape.

use crate::common::Backend;

/// Adds actions (and, if `with_logs_and_ticks`, as many log and ledger rows)
/// numbered `from..=to`.
pub async fn seed(url: &str, backend: Backend, from: i64, to: i64, with_logs_and_ticks: bool) {
    if to < from {
        return;
    }
    let ts = match backend {
        Backend::Sqlite => "'2026-01-01T00:00:00+00:00'",
        Backend::Postgres => "'2026-01-01T00:00:00+00:00'::timestamptz",
    };
    let source = match backend {
        Backend::Sqlite => "c".to_string(),
        Backend::Postgres => format!("generate_series({from}, {to}) AS c(x)"),
    };
    let status = "CASE WHEN x % 100 = 0 THEN 'DLQ' WHEN x % 50 = 0 THEN 'FAILED' \
                  WHEN x % 20 = 0 THEN 'CANCELLED' ELSE 'SUCCESS' END";
    let actions = format!(
        "INSERT INTO aol_actions (idempotency_key, action_type, payload_json, status, attempts, \
         not_before_utc, created_at_utc, updated_at_utc) \
         SELECT 'seed-' || x, 'POST_SOCIAL', '{{\"text\":\"seed\"}}', {status}, 1, {ts}, {ts}, {ts} FROM {source}"
    );
    // Each log row belongs to the seeded action of the same number.
    let logs = format!(
        "INSERT INTO aol_execution_logs (action_id, ts_utc, level, message) \
         SELECT a.id, {ts}, 'INFO', 'seeded attempt' FROM {source} \
         JOIN aol_actions a ON a.idempotency_key = 'seed-' || x"
    );
    let ledger = format!(
        "INSERT INTO aol_tick_ledger (started_at_utc, finished_at_utc, status, actions_attempted, \
         actions_succeeded, notes, daemon_owner) SELECT {ts}, {ts}, 'SUCCESS', 3, 3, 'seed', 'seed' FROM {source}"
    );
    let mut statements = vec![actions];
    if with_logs_and_ticks {
        statements.extend([logs, ledger]);
    }
    for sql in statements {
        let sql = match backend {
            Backend::Sqlite => {
                format!("WITH RECURSIVE c(x) AS (SELECT {from} UNION ALL SELECT x + 1 FROM c WHERE x < {to}) {sql}")
            }
            Backend::Postgres => sql,
        };
        match backend {
            // No ANALYZE on SQLite: a real AOL database never runs one either.
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                sqlx::query(&sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query(&sql).execute(&pool).await.unwrap();
                sqlx::query("ANALYZE").execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }
}
