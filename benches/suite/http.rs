//! Enqueue over HTTP: requests per second against the real `aol serve` on
//! loopback. Each run sends N `POST /api/v1/actions` with new keys from C
//! concurrent clients (keep-alive connections) and counts 201s; then five
//! times as many actions through `POST /api/v1/actions/batch`, 100 per call
//! (as the peer's addJobs run does: with as many as the singles, a run was
//! 40 calls, a fifth of a second, and moved by a third between runs).

use std::time::Instant;

use serde_json::json;

use crate::common::{Backend, TestDb};
use crate::report::{Results, Target};

pub async fn run(backend: Backend, requests: usize, runs: usize, clients: usize, results: &mut Results) {
    let t = TestDb::migrated(backend).await;
    let server = crate::support::Server::start(&t.url, crate::TOKEN).await;
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
                        let r = client.post(&url).bearer_auth(crate::TOKEN).json(&body).send().await.unwrap();
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
    let db = crate::db_name(backend);
    results.add(db, &format!("HTTP enqueue ({clients} clients)"), Some(0), &rates, "req/s", Target::None);
    // The same bound on both databases: 8 clients each waiting for its answer.
    results.add(db, "HTTP enqueue latency", Some(0), &latencies, "ms", Target::P99Below(15.0));
    let rates = batches(&server.base, requests * BATCH_TIMES, runs, clients).await;
    let name = format!("HTTP batch enqueue ({BATCH} per call, {clients} clients)");
    results.add(db, &name, Some((requests * runs) as i64), &rates, "actions/s", Target::None);
    drop(server);
    t.remove().await;
}

/// Actions per batch call.
const BATCH: usize = 100;
/// A batch run's actions, in single requests of a run.
const BATCH_TIMES: usize = 5;

/// `requests` actions per run, in calls of [`BATCH`], from `clients` at once;
/// actions per second of each run.
async fn batches(base: &str, requests: usize, runs: usize, clients: usize) -> Vec<f64> {
    let client = reqwest::Client::new();
    let calls = requests.div_ceil(BATCH);
    let mut rates = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let client = client.clone();
                let url = format!("{base}/api/v1/actions/batch");
                tokio::spawn(async move {
                    for call in (c..calls).step_by(clients) {
                        let actions: Vec<_> = (0..BATCH)
                            .map(|i| {
                                json!({
                                    "action_type": "POST_SOCIAL",
                                    "idempotency_key": format!("batch-{run}-{call}-{i}"),
                                    "payload": { "text": "benchmark post" },
                                })
                            })
                            .collect();
                        let body = json!({ "actions": actions });
                        let r = client.post(&url).bearer_auth(crate::TOKEN).json(&body).send().await.unwrap();
                        assert_eq!(r.status(), 201);
                        r.bytes().await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        rates.push((calls * BATCH) as f64 / started.elapsed().as_secs_f64());
    }
    rates
}
