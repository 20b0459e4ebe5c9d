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
    execute(url, backend, (from, to), &statements).await;
}

/// Runs `statements`, each over the numbers `range` (SQLite: as the CTE `c`;
/// PostgreSQL: they name `generate_series` themselves), then on PostgreSQL
/// writes the seeded actions' lookup rows (AOL's enqueue writes its own) and
/// runs ANALYZE (not on SQLite: a real AOL database never runs one either).
async fn execute(url: &str, backend: Backend, (from, to): (i64, i64), statements: &[String]) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            for sql in statements {
                let sql = format!(
                    "WITH RECURSIVE c(x) AS (SELECT {from} UNION ALL SELECT x + 1 FROM c WHERE x < {to}) {sql}"
                );
                sqlx::query(&sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for sql in statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            sqlx::query(crate::common::POSTGRES_LOOKUP_OF_SEEDED).execute(&pool).await.unwrap();
            sqlx::query("ANALYZE").execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// A month of history, `n` actions as a busy account leaves them: statuses
/// mixed (SUCCESS mostly; FAILED, DLQ, CANCELLED, EXPIRED, UNCONFIRMED),
/// created over the last 30 days, each with its two log lines (started,
/// ended), one ledger row per two actions, and for each SUCCESS its PROOF
/// artifact in its ending line, as the daemon writes it (named by a stand-in
/// key, not a real SHA-256: what matters here is the rows, not their
/// verification).
pub async fn history(url: &str, backend: Backend, n: i64) {
    if n <= 0 {
        return;
    }
    let (source, at, key) = match backend {
        Backend::Sqlite => (
            "c",
            format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-30 days', '+' || (x * 2592000 / {n}) || ' seconds')"),
            "printf('%064x', x)".to_string(),
        ),
        Backend::Postgres => (
            "generate_series(1, {n}) AS c(x)",
            format!("now() - interval '30 days' + (x * (2592000.0 / {n})) * interval '1 second'"),
            "lpad(to_hex(x), 64, '0')".to_string(),
        ),
    };
    let source = source.replace("{n}", &n.to_string());
    let status = "CASE WHEN x % 97 = 0 THEN 'DLQ' WHEN x % 89 = 0 THEN 'FAILED' WHEN x % 83 = 0 THEN 'EXPIRED' \
                  WHEN x % 79 = 0 THEN 'UNCONFIRMED' WHEN x % 23 = 0 THEN 'CANCELLED' ELSE 'SUCCESS' END";
    let statements = [
        format!(
            "INSERT INTO aol_actions (idempotency_key, action_type, payload_json, status, attempts, \
             not_before_utc, created_at_utc, updated_at_utc) \
             SELECT 'history-' || x, 'POST_SOCIAL', '{{\"text\":\"an older post\"}}', {status}, 1, {at}, {at}, {at} \
             FROM {source}"
        ),
        "INSERT INTO aol_execution_logs (action_id, ts_utc, level, message) \
         SELECT a.id, a.created_at_utc, 'INFO', 'attempt 1 started (PROOF)' FROM aol_actions a \
         WHERE a.idempotency_key LIKE 'history-%'"
            .to_string(),
        format!(
            "INSERT INTO aol_execution_logs (action_id, ts_utc, level, message, artifact_ref, artifact_sha256, \
               artifact_bytes) \
             SELECT a.id, a.created_at_utc, 'INFO', 'ended ' || a.status, \
               CASE WHEN a.status = 'SUCCESS' THEN 'sha256:' || {key} END, \
               CASE WHEN a.status = 'SUCCESS' THEN {key} END, \
               CASE WHEN a.status = 'SUCCESS' THEN {bytes} END \
             FROM {source} JOIN aol_actions a ON a.idempotency_key = 'history-' || x",
            bytes = match backend {
                Backend::Sqlite => "zeroblob(320)",
                Backend::Postgres => "decode(repeat('00', 320), 'hex')",
            }
        ),
        format!(
            "INSERT INTO aol_tick_ledger (started_at_utc, finished_at_utc, status, actions_attempted, \
             actions_succeeded, notes, daemon_owner) SELECT {at}, {at}, 'SUCCESS', 2, 2, 'history', 'history' \
             FROM {source} WHERE x % 2 = 0"
        ),
    ];
    execute(url, backend, (1, n), &statements).await;
}
