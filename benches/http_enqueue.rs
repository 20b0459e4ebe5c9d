//! Enqueue over HTTP: requests per second against the real `aol serve` on
//! loopback, on SQLite and PostgreSQL.
//!
//!     cargo bench --bench http_enqueue     (AOL_BENCH_REQUESTS=N, AOL_BENCH_RUNS=N, AOL_BENCH_CLIENTS=N)
//!
//! Each run sends N `POST /api/v1/actions` with new keys from C concurrent
//! clients (keep-alive connections) and counts 201s; prints the median run's
//! rate and per-request latency (median / p99 over all runs).

#[path = "../tests/common/mod.rs"]
#[allow(unused_macros)]
mod common;
mod support;

use std::time::Instant;

use common::{Backend, TestDb};
use serde_json::json;

const TOKEN: &str = "bench-operator-token-0123456789";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let requests = env_or("AOL_BENCH_REQUESTS", 4000);
    let runs = env_or("AOL_BENCH_RUNS", 5);
    let clients = env_or("AOL_BENCH_CLIENTS", 8);
    println!("HTTP enqueue: {runs} runs of {requests} requests from {clients} clients");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let t = TestDb::migrated(backend).await;
        let server = support::Server::start(&t.url, TOKEN).await;
        let client = reqwest::Client::new();
        let mut rates = Vec::new();
        let mut latencies = Vec::new();
        for run in 0..runs {
            let started = Instant::now();
            let tasks: Vec<_> = (0..clients)
                .map(|c| {
                    let client = client.clone();
                    let url = format!("{}/api/v1/actions", server.base);
                    tokio::spawn(async move {
                        let mut took = Vec::new();
                        for i in (c..requests).step_by(clients) {
                            let body = json!({
                                "action_type": "POST_SOCIAL",
                                "idempotency_key": format!("bench-{run}-{i}"),
                                "payload": { "text": "benchmark post" },
                            });
                            let sent = Instant::now();
                            let r = client.post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
                            assert_eq!(r.status(), 201);
                            r.bytes().await.unwrap();
                            took.push(sent.elapsed().as_secs_f64() * 1000.0);
                        }
                        took
                    })
                })
                .collect();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            rates.push(requests as f64 / started.elapsed().as_secs_f64());
        }
        let rates = support::sorted(&rates);
        let lat = support::sorted(&latencies);
        println!(
            "  {backend:?}: {:.0} req/s median (runs: {}), latency ms median {:.2} / p99 {:.2}",
            support::quantile(&rates, 0.5),
            rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", "),
            support::quantile(&lat, 0.5),
            support::quantile(&lat, 0.99),
        );
        drop(server);
        t.remove().await;
    }
}
