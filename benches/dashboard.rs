//! Dashboard speed at a million rows: the Autonomy page's server render and
//! each data call the page makes, against `aol serve` with 1M actions, 1M log
//! rows and 1M ledger rows, on SQLite and PostgreSQL.
//!
//!     cargo bench --bench dashboard          (AOL_BENCH_ROWS=N, AOL_BENCH_TRIALS=N to change)
//!
//! Seeds its own data with one SQL statement per table, starts the real server
//! binary on a free port (ticks an hour apart, so the daemon stays out of the
//! way), then times loopback HTTP requests: median / p95 / max in ms.

#[path = "../tests/common/mod.rs"]
#[allow(unused_macros)]
mod common;
mod support;

use std::time::Instant;

use common::{Backend, TestDb};

const TOKEN: &str = "bench-operator-token-0123456789";

#[tokio::main]
async fn main() {
    let rows: i64 = std::env::var("AOL_BENCH_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let trials: usize = std::env::var("AOL_BENCH_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    println!("dashboard with {rows} actions, {rows} log rows, {rows} ledger rows; {trials} requests each (ms: median / p95 / max)");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let t = TestDb::migrated(backend).await;
        let seeded = Instant::now();
        seed(&t.url, backend, rows).await;
        println!("{backend:?}: seeded in {:.1} s", seeded.elapsed().as_secs_f64());
        let server = support::Server::start(&t.url, TOKEN).await;
        let base = server.base.clone();
        let client = reqwest::Client::new();
        let calls: [(&str, &str, &str); 7] = [
            ("GET /  (server render)", "/", ""),
            ("overview", "/ui/overview", ""),
            ("actions page", "/ui/actions", ""),
            ("actions, status=DLQ", "/ui/actions", "filter[status]=DLQ"),
            ("actions, page 1000", "/ui/actions", "filter[before_id]=500000"),
            ("tick activity (chart)", "/ui/activity", ""),
            ("action detail", "/ui/action", "id=500000"),
        ];
        for (name, path, body) in calls {
            let mut samples = Vec::with_capacity(trials);
            for _ in 0..trials {
                let started = Instant::now();
                let response = if path == "/" {
                    client.get(format!("{base}/")).send().await.unwrap()
                } else {
                    client
                        .post(format!("{base}{path}"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.to_string())
                        .send()
                        .await
                        .unwrap()
                };
                assert!(response.status().is_success(), "{name}: {}", response.status());
                response.bytes().await.unwrap();
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            println!("  {:<24} {}", name, support::summary(&samples, 2));
        }
        drop(server);
        t.remove().await;
    }
}

/// One statement per table; statuses spread like a busy year (mostly SUCCESS).
async fn seed(url: &str, backend: Backend, rows: i64) {
    let status = "CASE WHEN x % 100 = 0 THEN 'DLQ' WHEN x % 50 = 0 THEN 'FAILED' \
                  WHEN x % 20 = 0 THEN 'CANCELLED' ELSE 'SUCCESS' END";
    let actions = format!(
        "INSERT INTO aol_actions (idempotency_key, action_type, payload_json, status, attempts, \
         not_before_utc, created_at_utc, updated_at_utc) \
         SELECT 'seed-' || x, 'POST_SOCIAL', '{{\"text\":\"seed\"}}', {status}, 1, {t}, {t}, {t} FROM {src}",
        t = ts(backend),
        src = source(backend, rows)
    );
    let logs = format!(
        "INSERT INTO aol_execution_logs (action_id, ts_utc, level, message) \
         SELECT x, {t}, 'INFO', 'seeded attempt' FROM {src}",
        t = ts(backend),
        src = source(backend, rows)
    );
    let ledger = format!(
        "INSERT INTO aol_tick_ledger (started_at_utc, finished_at_utc, status, actions_attempted, \
         actions_succeeded, notes, daemon_owner) SELECT {t}, {t}, 'SUCCESS', 3, 3, 'seed', 'seed' FROM {src}",
        t = ts(backend),
        src = source(backend, rows)
    );
    for sql in [actions, logs, ledger] {
        let sql = with_prefix(backend, rows, &sql);
        match backend {
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

fn ts(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "'2026-01-01T00:00:00+00:00'",
        Backend::Postgres => "'2026-01-01T00:00:00+00:00'::timestamptz",
    }
}

fn source(backend: Backend, rows: i64) -> String {
    match backend {
        Backend::Sqlite => "c".to_string(),
        Backend::Postgres => format!("generate_series(1, {rows}) AS c(x)"),
    }
}

/// SQLite counts with a recursive CTE in front of the INSERT.
fn with_prefix(backend: Backend, rows: i64, sql: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) {sql}")
        }
        Backend::Postgres => sql.to_string(),
    }
}
