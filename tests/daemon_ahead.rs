//! A tick with a full claim and a short interval claims the next tick's
//! actions while its results are written (PostgreSQL; SQLite's one writer
//! never does). What was claimed ahead and not started goes back to the queue
//! unstarted, its attempt not counted: at the tick limit, and when a pause
//! stops the tick.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aol::engine::adapters::{Adapter, AdapterError, Done, Job};
use aol::engine::{daemon, Actor, Clock, DaemonExit, DaemonSettings, Engine, NewItem, Registry};
use aol::model::FlagCommand;
use async_trait::async_trait;
use common::TestCtx;
use tokio_util::sync::CancellationToken;

/// NOOP actions that succeed; the first one run pauses AOL, as an operator would.
struct PausesFirst {
    engine: Arc<OnceLock<Engine>>,
}

#[async_trait]
impl Adapter for PausesFirst {
    fn action_type(&self) -> &'static str {
        "NOOP"
    }
    fn validate(&self, _: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
        Ok(())
    }
    async fn execute(&self, _: &Job<'_>) -> Result<Done, AdapterError> {
        let engine = self.engine.get().expect("set before the daemon runs");
        if !engine.flags_now().paused {
            engine.apply_flag_command(FlagCommand::Pause, &Actor::system("test")).await.unwrap();
        }
        Ok(Done { message: "done".into(), artifact: None, remote: None })
    }
}

/// An engine whose NOOP actions succeed, pausing AOL when `pause` is set.
async fn engine(ctx: &TestCtx, pause: bool) -> Engine {
    if !pause {
        return common::engine(&ctx.db).await;
    }
    let cell = Arc::new(OnceLock::new());
    let registry = Registry::empty().with(Arc::new(PausesFirst { engine: cell.clone() }));
    let engine = Engine::new(ctx.db.clone(), Clock::System, registry).await.unwrap();
    let _ = cell.set(engine.clone());
    engine
}

async fn enqueue(engine: &Engine, action_type: &str, n: usize) {
    let payload = serde_json::json!({"text": "a post"}).as_object().unwrap().clone();
    let keys: Vec<String> = (0..n).map(|i| format!("ahead-{i}")).collect();
    let items: Vec<NewItem> = keys.iter().map(|k| NewItem::new(action_type, k, &payload)).collect();
    for done in engine.enqueue_many(&Actor::system("test"), &items).await.unwrap() {
        done.unwrap();
    }
}

/// Two a tick, ten milliseconds apart, one at a time.
fn settings(max_ticks: Option<u64>) -> DaemonSettings {
    DaemonSettings {
        tick_interval: Duration::from_millis(10),
        max_actions_per_tick: 2,
        tick_concurrency: 1,
        max_ticks,
        ..DaemonSettings::default()
    }
}

/// `(status, attempts, count)` of every action, and how many lines say an
/// action went back unstarted for `reason`.
async fn ended(ctx: &TestCtx, reason: &str) -> (Vec<(String, i64, i64)>, i64) {
    let rows = ctx
        .fetch_all_raw("SELECT status, attempts, COUNT(*) FROM aol_actions GROUP BY status, attempts ORDER BY status")
        .await;
    let like =
        format!("SELECT COUNT(*) FROM aol_execution_logs WHERE message = 'returned to the queue unstarted: {reason}'");
    let returned: Vec<(i64,)> = ctx.fetch_all_raw(&like).await;
    (rows, returned[0].0)
}

async fn the_tick_limit_returns_what_was_claimed_ahead(ctx: TestCtx) {
    let engine = engine(&ctx, false).await;
    enqueue(&engine, "POST_SOCIAL", 5).await;
    assert_eq!(daemon::run(&engine, &settings(Some(1)), &CancellationToken::new()).await, DaemonExit::TickLimit);
    let (rows, returned) = ended(&ctx, "the daemon reached its tick limit").await;
    let expected = [("PENDING".to_string(), 0, 3), ("SUCCESS".to_string(), 1, 2)];
    assert_eq!(rows, expected, "two run, the rest back in the queue, attempts not counted");
    match ctx.backend {
        common::Backend::Sqlite => assert_eq!(returned, 0, "SQLite never claims ahead"),
        common::Backend::Postgres => assert_eq!(returned, 2, "the next tick's two were claimed ahead and given back"),
    }
    let tick = &ctx.db.ticks_recent(1).await.unwrap()[0];
    assert_eq!((tick.actions_attempted, tick.actions_succeeded), (2, 2));
}

async fn a_pause_returns_what_was_claimed_ahead(ctx: TestCtx) {
    let engine = engine(&ctx, true).await;
    enqueue(&engine, "NOOP", 5).await;
    let stop = CancellationToken::new();
    let run = {
        let (engine, stop) = (engine.clone(), stop.clone());
        tokio::spawn(async move { daemon::run(&engine, &settings(None), &stop).await })
    };
    // The first tick: one run (it pauses), one returned, two claimed ahead and returned.
    for _ in 0..500 {
        if ctx.db.ticks_count().await.unwrap() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    assert_eq!(run.await.unwrap(), DaemonExit::Shutdown);
    let (rows, returned) = ended(&ctx, "paused").await;
    let expected = [("PENDING".to_string(), 0, 4), ("SUCCESS".to_string(), 1, 1)];
    assert_eq!(rows, expected, "nothing started after the pause, nothing left RUNNING");
    let ahead = match ctx.backend {
        common::Backend::Sqlite => 0,
        common::Backend::Postgres => 2,
    };
    assert_eq!(returned, 1 + ahead, "the tick's unstarted one and what it claimed ahead went back");
    let ticks = ctx.db.ticks_recent(10).await.unwrap();
    assert!(ticks.iter().all(|t| t.actions_attempted <= 1), "{ticks:?}");
}

on_both_databases!(the_tick_limit_returns_what_was_claimed_ahead, a_pause_returns_what_was_claimed_ahead);
