//! Enqueue through the engine: one at a time (latency) and in batches of
//! many in one transaction (throughput), at a given table size.

use std::time::Instant;

use aol::engine::Actor;
use aol::engine::{Engine, NewItem};

use crate::common::Backend;
use crate::report::{Results, Target};

pub async fn measure(
    backend: Backend,
    engine: &Engine,
    rows: i64,
    singles: usize,
    batches: usize,
    batch_size: usize,
    results: &mut Results,
) {
    let payload = serde_json::json!({ "text": "benchmark post" }).as_object().unwrap().clone();
    let db = crate::db_name(backend);
    let sqlite = matches!(backend, Backend::Sqlite);

    let mut latencies = Vec::with_capacity(singles);
    for i in 0..singles {
        let key = format!("single-{rows}-{i}");
        let started = Instant::now();
        engine.enqueue("POST_SOCIAL", &key, &payload).await.unwrap();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // PostgreSQL's commit waits for its WAL to reach the disk (SQLite's, in
    // WAL mode with synchronous=NORMAL, does not), and each statement is a
    // round trip: twice SQLite's bound.
    let target = Target::P99Below(if sqlite { 1.0 } else { 2.0 });
    results.add(db, "enqueue one (latency)", Some(rows), &latencies, "ms", target);

    let mut rates = Vec::with_capacity(batches);
    for b in 0..batches {
        let keys: Vec<String> = (0..batch_size).map(|i| format!("batch-{rows}-{b}-{i}")).collect();
        let items: Vec<NewItem> = keys.iter().map(|key| NewItem::new("POST_SOCIAL", key, &payload)).collect();
        let started = Instant::now();
        let done = engine.enqueue_many(&Actor::system("test"), &items).await.unwrap();
        rates.push(batch_size as f64 / started.elapsed().as_secs_f64());
        assert!(done.iter().all(|d| d.as_ref().is_ok_and(|e| !e.duplicate)));
    }
    let target = Target::MedianAbove(20_000.0);
    results.add(db, &format!("enqueue batched ({batch_size} per batch)"), Some(rows), &rates, "actions/s", target);
}
