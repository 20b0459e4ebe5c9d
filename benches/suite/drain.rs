//! Real drain: the real `aol daemon --proof` binary working through queued
//! POST_SOCIAL posts as users run it (64 attempts in flight, up to 1,000
//! actions a tick, a tick every 10 ms): each post's payload checked, its
//! PROOF artifact made and stored with its SUCCESS, its log lines written.
//! Measured from the moment the operator resumes the paused daemon until
//! the last post of the round is SUCCESS, round after round on the same
//! process, on an empty database and on one holding a month of history.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aol::engine::{Actor, Engine, NewItem};
use aol::model::FlagCommand;
use serde_json::{json, Map, Value};

use crate::common::{Backend, TestCtx, TestDb};
use crate::report::{Results, Target};

/// Attempts in flight (AOL_TICK_CONCURRENCY): 64, or AOL_BENCH_IN_FLIGHT.
fn in_flight() -> u32 {
    std::env::var("AOL_BENCH_IN_FLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

/// The figure's name, for the ratios (`peer`).
pub fn metric(actions: usize) -> String {
    format!("drain, PROOF POST_SOCIAL (aol daemon, {} in flight, {actions} queued)", in_flight())
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Per-round rates (actions/s), after seeding `history` rows.
pub async fn run(backend: Backend, actions: usize, rounds: usize, history: i64, results: &mut Results) -> Vec<f64> {
    let t = TestDb::migrated(backend).await;
    crate::seed::history(&t.url, backend, history).await;
    let engine = crate::common::engine(&t.db).await;
    let ops = Actor::system("bench");
    engine.apply_flag_command(FlagCommand::Pause, &ops).await.unwrap();
    let daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_aol"))
            .args(["daemon", "--proof", "--tick-concurrency", &in_flight().to_string()])
            .args(["--max-actions-per-tick", "1000"])
            .args(["--tick-interval-seconds", "0.01"])
            .env("DATABASE_URL", &t.url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aol daemon"),
    );
    let ctx = TestCtx { db: t.db.clone(), url: t.url.clone(), backend };
    let mut rates = Vec::new();
    let mut cpu = Vec::new();
    let pid = daemon.0.id();
    for round in 0..rounds {
        let first = enqueue(&engine, round, actions).await;
        let cpu_before = crate::idle::cpu_ticks(pid);
        let started = Instant::now();
        engine.apply_flag_command(FlagCommand::Resume, &ops).await.unwrap();
        let deadline = started + Duration::from_secs(600);
        // Polled from the dashboard's counters on the engine's own pool: a
        // new connection per poll (a process per poll on PostgreSQL) took
        // CPU from the daemon on this 2-core machine.
        loop {
            let counts = engine.db().action_counts().await.unwrap();
            let left: i64 = counts
                .iter()
                .filter(|c| ["PENDING", "RETRY", "RUNNING"].contains(&c.status.as_str()))
                .map(|c| c.count)
                .sum();
            if left == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: {left} posts still not done after 10 minutes");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        rates.push(actions as f64 / started.elapsed().as_secs_f64());
        let failed: Vec<(i64,)> = ctx
            .fetch_all_raw(&format!("SELECT COUNT(*) FROM aol_actions WHERE id >= {first} AND status <> 'SUCCESS'"))
            .await;
        assert_eq!(failed[0].0, 0, "round {round}: every post SUCCESS");
        // The daemon's CPU (both cores count) per 1,000 posts, in ms.
        cpu.push((crate::idle::cpu_ticks(pid) - cpu_before) as f64 * 10.0 / (actions as f64 / 1000.0));
        engine.apply_flag_command(FlagCommand::Pause, &ops).await.unwrap();
        // Every post of the round has its artifact, stored and named by its log.
        let stored: Vec<(i64,)> = ctx
            .fetch_all_raw(&format!(
                "SELECT COUNT(*) FROM aol_execution_logs l \
                 WHERE l.action_id >= {first} AND l.artifact_sha256 IS NOT NULL AND l.artifact_bytes IS NOT NULL"
            ))
            .await;
        assert_eq!(stored[0].0, actions as i64, "round {round}: every SUCCESS has its stored artifact");
    }
    let rows = Some(history);
    let name = metric(actions);
    let db = crate::db_name(backend);
    println!("{db}: {name}, {history} rows before: rounds {rates:.0?} actions/s");
    results.add(db, &name, rows, &rates, "actions/s", Target::None);
    results.add(db, "drain, the daemon's CPU per 1,000 posts", rows, &cpu, "ms", Target::None);
    let (first, last) = (rates[0], rates[rates.len() - 1]);
    results.add(db, "drain, last round / first round", rows, &[last / first], "ratio", Target::MedianAbove(0.8));
    drop(daemon);
    t.remove().await;
    rates
}

/// Queues round `round`'s posts; the id of its first.
async fn enqueue(engine: &Engine, round: usize, actions: usize) -> i64 {
    let keys: Vec<String> = (0..actions).map(|i| format!("drain-{round}-{i}")).collect();
    let payloads: Vec<Map<String, Value>> = (0..actions)
        .map(|i| {
            let text = format!("Launch day, post {i} of round {round}: see https://example.com/launch #aol");
            json!({ "text": text, "langs": ["en"] }).as_object().unwrap().clone()
        })
        .collect();
    let mut first = None;
    for (keys, payloads) in keys.chunks(1000).zip(payloads.chunks(1000)) {
        let items: Vec<NewItem> = keys.iter().zip(payloads).map(|(k, p)| NewItem::new("POST_SOCIAL", k, p)).collect();
        let done = engine.enqueue_many(&Actor::system("bench"), &items).await.unwrap();
        first = first.or_else(|| done.first().map(|d| d.as_ref().unwrap().action.id));
    }
    first.expect("posts enqueued")
}
