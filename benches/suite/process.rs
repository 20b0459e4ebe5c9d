//! Processing throughput with the safety caps lifted: claim → a no-op adapter
//! → mark success, as fast as the daemon goes (many actions per tick,
//! [`IN_FLIGHT`] at once, no pause between ticks). What is left is the
//! engine's own cost per action: its writes are grouped (one statement for
//! the "started" lines and one transaction for the results of every attempt
//! pending at that moment), so the figure rises with the attempts in flight,
//! most on PostgreSQL, where each commit waits for the disk.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aol::engine::adapters::{Adapter, AdapterError, Done, Job};
use aol::engine::Actor;
use aol::engine::{daemon, Clock, DaemonSettings, Engine, NewItem, Registry, RetentionSettings};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::common::{Backend, TestDb};
use crate::report::{Results, Target};

/// Attempts in flight (AOL_TICK_CONCURRENCY).
const IN_FLIGHT: u32 = 64;

struct Noop;

#[async_trait::async_trait]
impl Adapter for Noop {
    fn action_type(&self) -> &'static str {
        "NOOP"
    }
    fn validate(&self, _payload: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }
    async fn execute(&self, _job: &Job<'_>) -> Result<Done, AdapterError> {
        Ok(Done { message: "done".into(), artifact: None, remote: None })
    }
}

pub async fn run(backend: Backend, actions: usize, runs: usize, results: &mut Results) {
    let t = TestDb::migrated(backend).await;
    let engine = Engine::new(t.db.clone(), Clock::System, Registry::empty().with(Arc::new(Noop))).await.unwrap();
    let payload = Map::new();
    let settings = DaemonSettings {
        tick_interval: Duration::ZERO,
        max_actions_per_tick: 1000,
        tick_concurrency: IN_FLIGHT,
        max_tick: Duration::from_secs(60),
        ..DaemonSettings::default()
    };
    // As `aol serve` and `aol daemon` do: among other things this folds
    // PostgreSQL's counter deltas every second, which keeps the count the
    // loop below polls cheap.
    let maintenance_stop = CancellationToken::new();
    let maintenance = engine.spawn_maintenance(RetentionSettings::default(), maintenance_stop.clone());
    let mut rates = Vec::new();
    for run in 0..runs {
        let keys: Vec<String> = (0..actions).map(|i| format!("noop-{run}-{i}")).collect();
        let items: Vec<NewItem> = keys.iter().map(|key| NewItem::new("NOOP", key, &payload)).collect();
        engine.enqueue_many(&Actor::system("test"), &items).await.unwrap();
        let target = (run + 1) * actions;
        let stop = CancellationToken::new();
        let started = Instant::now();
        let daemon = {
            let (engine, settings, stop) = (engine.clone(), settings.clone(), stop.clone());
            tokio::spawn(async move { daemon::run(&engine, &settings, &stop).await })
        };
        loop {
            let counts = t.db.action_counts().await.unwrap();
            let done = counts.iter().find(|c| c.status == "SUCCESS").map_or(0, |c| c.count) as usize;
            if done >= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        rates.push(actions as f64 / started.elapsed().as_secs_f64());
        stop.cancel();
        daemon.await.unwrap();
    }
    maintenance_stop.cancel();
    maintenance.await.unwrap();
    let db = crate::db_name(backend);
    results.add(
        db,
        &format!("process, caps lifted ({IN_FLIGHT} in flight, no-op)"),
        Some(0),
        &rates,
        "actions/s",
        Target::MedianAbove(5000.0),
    );
    t.remove().await;
}
