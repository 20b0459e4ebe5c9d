//! The daemon running actions (SPEC §3, §6, issue 3): PROOF artifacts, REAL
//! unconfigured, kill and the tick deadline cancelling attempts in flight,
//! adapter failures that never stop the daemon, one active daemon among
//! several, rescue after a dead daemon, standby and takeover.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aol::engine::adapters::{Adapter, AdapterError, Done, Job};
use aol::engine::lease::DAEMON_LEASE;
use aol::engine::queue::parse_payload;
use aol::engine::Actor;
use aol::engine::{daemon, Clock, DaemonExit, DaemonSettings, Engine, Registry};
use aol::model::{Action, FlagCommand};
use aol::storage::{Db, Fence};
use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use common::TestCtx;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

fn ops() -> Actor {
    Actor::system("test")
}

/// A test adapter for action type `name`.
struct Fake {
    name: &'static str,
    behaviour: fn() -> Result<Done, AdapterError>,
    delay: Duration,
}

#[async_trait]
impl Adapter for Fake {
    fn action_type(&self) -> &'static str {
        self.name
    }
    fn validate(&self, _: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
        Ok(())
    }
    async fn execute(&self, _: &Job<'_>) -> Result<Done, AdapterError> {
        tokio::time::sleep(self.delay).await;
        (self.behaviour)()
    }
}

fn ok() -> Result<Done, AdapterError> {
    Ok(Done { message: "done".into(), artifact: None, remote: None })
}
fn transient() -> Result<Done, AdapterError> {
    Err(AdapterError::Transient("platform busy".into()))
}
fn panics() -> Result<Done, AdapterError> {
    panic!("adapter bug")
}

/// An engine with the standard adapters plus SLOW (30 s), FLAKY and PANICKY.
async fn engine_with_fakes(db: &Db) -> Engine {
    let registry = Registry::standard()
        .with(Arc::new(Fake { name: "SLOW", behaviour: ok, delay: Duration::from_secs(30) }))
        .with(Arc::new(Fake { name: "FLAKY", behaviour: transient, delay: Duration::ZERO }))
        .with(Arc::new(Fake { name: "PANICKY", behaviour: panics, delay: Duration::ZERO }));
    Engine::new(db.clone(), Clock::System, registry).await.unwrap()
}

fn fast(max_ticks: Option<u64>) -> DaemonSettings {
    DaemonSettings {
        tick_interval: Duration::from_millis(10),
        heartbeat: Duration::from_millis(100),
        lease_ttl: Duration::from_secs(2),
        max_ticks,
        ..DaemonSettings::default()
    }
}

async fn enqueue(engine: &Engine, action_type: &str, key: &str, text: &str) -> i64 {
    let payload = parse_payload(&serde_json::json!({ "text": text }).to_string()).unwrap();
    engine.enqueue(action_type, key, &payload).await.unwrap().action.id
}

async fn action(db: &Db, id: i64) -> Action {
    db.action_get(id).await.unwrap().unwrap()
}

/// Polls `check` every 10 ms for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn proof_post_social_writes_artifact_with_sha256(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    let id = enqueue(&engine, "POST_SOCIAL", "launch/2026 #1", "We launched!").await;
    let exit = daemon::run(&engine, &fast(Some(1)), &CancellationToken::new()).await;
    assert_eq!(exit, DaemonExit::TickLimit);

    let a = action(&ctx.db, id).await;
    assert_eq!((a.status.as_str(), a.attempts), ("SUCCESS", 1));
    let logs = ctx.db.logs_for_action(id).await.unwrap();
    assert_eq!(logs.len(), 1, "a PROOF attempt's one line: {logs:?}");
    assert!(logs[0].message.starts_with("attempt 1 (PROOF): made what would be posted ("), "{logs:?}");
    let reference = logs[0].artifact_ref.clone().expect("artifact named by the log");
    let sha = logs[0].artifact_sha256.clone().expect("artifact SHA-256 logged");
    assert_eq!(reference, format!("sha256:{sha}"), "named by its SHA-256");
    let bytes = ctx.db.artifact_bytes(logs[0].id).await.unwrap().expect("stored with the SUCCESS");
    assert_eq!(hex::encode(Sha256::digest(&bytes)), sha, "logged SHA-256 matches the stored bytes");
    let written: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(written["would_post"]["text"], "We launched!");
    assert_eq!(written["idempotency_key"], "launch/2026 #1");
    let ticks = ctx.db.ticks_recent(1).await.unwrap();
    assert_eq!((ticks[0].status.as_str(), ticks[0].actions_attempted, ticks[0].actions_succeeded), ("SUCCESS", 1, 1));
}

async fn real_mode_unconfigured_fails_and_posts_nothing(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();
    let id = enqueue(&engine, "POST_SOCIAL", "k", "hello").await;
    daemon::run(&engine, &fast(Some(1)), &CancellationToken::new()).await;

    let a = action(&ctx.db, id).await;
    assert_eq!((a.status.as_str(), a.attempts), ("FAILED", 1), "permanent: no retry");
    assert!(a.last_error.unwrap().contains("real run unconfigured"));
    let logs_now = ctx.db.logs_for_action(id).await.unwrap();
    assert!(logs_now.iter().all(|l| l.artifact_sha256.is_none()), "no artifact in REAL mode");
    let logs = ctx.db.logs_for_action(id).await.unwrap();
    assert_eq!(logs[0].message, "attempt 1 started (REAL)");
    assert_eq!(logs[1].level, "ERROR");
    assert_eq!(ctx.db.ticks_recent(1).await.unwrap()[0].status, "FAIL");
}

async fn kill_cancels_the_attempt_in_flight(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    let slow = enqueue(&engine, "SLOW", "slow", "x").await;
    let run = {
        let engine = engine.clone();
        tokio::spawn(async move { daemon::run(&engine, &fast(None), &CancellationToken::new()).await })
    };
    eventually("the slow action to start", || async { action(&ctx.db, slow).await.status == "RUNNING" }).await;

    let killed_at = Instant::now();
    engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(1), run).await.expect("kill did not stop the daemon").unwrap();
    assert_eq!(exit, DaemonExit::Killed);
    assert!(killed_at.elapsed() < Duration::from_secs(1));

    let a = action(&ctx.db, slow).await;
    assert_eq!((a.status.as_str(), a.attempts), ("RETRY", 1));
    assert!(a.last_error.unwrap().contains("kill flag"));
    let lease = ctx.db.lease_get(DAEMON_LEASE).await.unwrap().unwrap();
    assert!(lease.expires_at_utc <= Utc::now(), "the lease was released on kill");
}

async fn tick_deadline_cuts_off_and_returns_the_rest(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    let first = enqueue(&engine, "SLOW", "s1", "x").await;
    let second = enqueue(&engine, "SLOW", "s2", "x").await;
    let settings = DaemonSettings { max_tick: Duration::from_millis(300), ..fast(Some(1)) };
    let started = Instant::now();
    daemon::run(&engine, &settings, &CancellationToken::new()).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the 30 s adapter was not cut off");

    let a = action(&ctx.db, first).await;
    assert_eq!((a.status.as_str(), a.attempts), ("RETRY", 1));
    assert!(a.last_error.unwrap().contains("MAX_TICK_SECONDS"));
    let b = action(&ctx.db, second).await;
    assert_eq!((b.status.as_str(), b.attempts), ("PENDING", 0), "never started, not counted");
    let tick = &ctx.db.ticks_recent(1).await.unwrap()[0];
    assert_eq!(tick.status, "FAIL");
    assert!(tick.notes.contains("returned unstarted"), "{}", tick.notes);
}

async fn adapter_errors_and_panics_are_never_fatal(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    let flaky = enqueue(&engine, "FLAKY", "f", "x").await;
    let panicky = enqueue(&engine, "PANICKY", "p", "x").await;
    let fine = enqueue(&engine, "POST_SOCIAL", "ok", "x").await;
    let settings = DaemonSettings { max_retries: 1, ..fast(Some(3)) };
    let exit = daemon::run(&engine, &settings, &CancellationToken::new()).await;
    assert_eq!(exit, DaemonExit::TickLimit, "the daemon kept ticking");
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 3);

    let f = action(&ctx.db, flaky).await;
    assert_eq!((f.status.as_str(), f.last_error.as_deref()), ("DLQ", Some("platform busy")));
    let p = action(&ctx.db, panicky).await;
    assert_eq!(p.status, "DLQ");
    assert!(p.last_error.unwrap().contains("adapter bug"));
    assert_eq!(action(&ctx.db, fine).await.status, "SUCCESS");
    assert_eq!(ctx.db.ticks_recent(3).await.unwrap().last().unwrap().status, "PARTIAL");
}

async fn transient_errors_retry_with_backoff(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    let id = enqueue(&engine, "FLAKY", "f", "x").await;
    let before = Utc::now();
    daemon::run(&engine, &fast(Some(2)), &CancellationToken::new()).await;
    let a = action(&ctx.db, id).await;
    assert_eq!((a.status.as_str(), a.attempts), ("RETRY", 1), "not due again within two quick ticks");
    let wait = a.not_before_utc - before;
    assert!(wait >= TimeDelta::milliseconds(900) && wait <= TimeDelta::seconds(3), "backoff {wait}");
}

async fn two_daemons_never_both_run_actions(ctx: TestCtx) {
    let a = engine_with_fakes(&ctx.db).await;
    let other_db = Db::connect(&ctx.url).await.unwrap();
    let b = engine_with_fakes(&other_db).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(enqueue(&a, "POST_SOCIAL", &format!("k{i}"), "x").await);
    }
    let stop_a = CancellationToken::new();
    let stop_b = CancellationToken::new();
    let run_a = {
        let (e, s) = (a.clone(), stop_a.clone());
        tokio::spawn(async move { daemon::run(&e, &fast(None), &s).await })
    };
    let run_b = {
        let (e, s) = (b.clone(), stop_b.clone());
        tokio::spawn(async move { daemon::run(&e, &fast(None), &s).await })
    };
    eventually("all actions done", || async { ctx.db.actions_recent(Some("SUCCESS"), 100).await.unwrap().len() == 30 })
        .await;

    for id in &ids {
        let act = action(&ctx.db, *id).await;
        assert_eq!(act.attempts, 1, "action {id} ran more than once");
        let attempts =
            ctx.db.logs_for_action(*id).await.unwrap().iter().filter(|l| l.message.starts_with("attempt ")).count();
        assert_eq!(attempts, 1, "one attempt's line");
    }
    let ticks = ctx.db.ticks_recent(10_000).await.unwrap();
    let owners: std::collections::HashSet<_> = ticks.iter().map(|t| t.daemon_owner.clone()).collect();
    assert_eq!(owners.len(), 1, "only the lease holder writes ticks: {owners:?}");
    let leader = owners.into_iter().next().unwrap();

    // The leader stops (and releases); the other takes over.
    let (stop_leader, stop_follower, follower) = if leader == a.identity() {
        (stop_a.clone(), stop_b.clone(), b.identity().to_string())
    } else {
        (stop_b.clone(), stop_a.clone(), a.identity().to_string())
    };
    stop_leader.cancel();
    eventually("the standby to take over", || async {
        ctx.db.ticks_recent(1).await.unwrap()[0].daemon_owner == follower
    })
    .await;
    assert_eq!(ctx.db.ticks_recent(1).await.unwrap()[0].lease_epoch, Some(2));
    stop_follower.cancel();
    run_a.await.unwrap();
    run_b.await.unwrap();
    other_db.close().await;
}

async fn a_new_daemon_rescues_what_a_dead_one_left_running(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    let id = enqueue(&engine, "POST_SOCIAL", "orphan", "x").await;
    // A daemon with a 100 ms lease claims it and dies without a word.
    let then = Utc::now();
    ctx.db.lease_acquire(DAEMON_LEASE, "dead:1:0", then, then + TimeDelta::milliseconds(100)).await.unwrap().unwrap();
    let dead = Fence { lease: DAEMON_LEASE, owner: "dead:1:0", epoch: 1, now: then };
    ctx.db.actions_claim(&dead, 1).await.unwrap();
    assert_eq!(action(&ctx.db, id).await.status, "RUNNING");
    tokio::time::sleep(Duration::from_millis(150)).await;

    daemon::run(&engine, &fast(Some(1)), &CancellationToken::new()).await;
    let a = action(&ctx.db, id).await;
    assert_eq!((a.status.as_str(), a.attempts), ("SUCCESS", 2));
    let logs = ctx.db.logs_for_action(id).await.unwrap();
    assert!(logs.iter().any(|l| l.message.contains("rescued")), "{logs:?}");
    assert!(ctx.db.ticks_recent(1).await.unwrap()[0].notes.contains("rescued"));
}

async fn stands_by_while_another_holds_the_lease(ctx: TestCtx) {
    let engine = engine_with_fakes(&ctx.db).await;
    let now = Utc::now();
    ctx.db.lease_acquire(DAEMON_LEASE, "elsewhere", now, now + TimeDelta::seconds(30)).await.unwrap().unwrap();
    let run = {
        let e = engine.clone();
        tokio::spawn(async move { daemon::run(&e, &fast(Some(1)), &CancellationToken::new()).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!run.is_finished(), "a standby daemon must not crash or exit");
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 0, "a standby writes nothing");

    ctx.db.lease_release(DAEMON_LEASE, "elsewhere", 1, Utc::now()).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(2), run).await.expect("no takeover").unwrap();
    assert_eq!(exit, DaemonExit::TickLimit);
    assert_eq!(ctx.db.ticks_recent(1).await.unwrap()[0].lease_epoch, Some(2));
}

/// AOL_TICK_CONCURRENCY: attempts overlap, every result lands once, and a
/// kill still cancels all of them.
async fn concurrent_attempts_overlap_and_each_lands_once(ctx: TestCtx) {
    let registry = Registry::empty()
        .with(Arc::new(Fake { name: "QUARTER", behaviour: ok, delay: Duration::from_millis(250) }))
        .with(Arc::new(Fake { name: "SLOW", behaviour: ok, delay: Duration::from_secs(30) }));
    let engine = Engine::new(ctx.db.clone(), Clock::System, registry).await.unwrap();
    let ids: Vec<i64> = enqueue_many_of(&engine, "QUARTER", 8).await;
    let settings = DaemonSettings { max_actions_per_tick: 8, tick_concurrency: 4, ..fast(Some(1)) };
    let started = Instant::now();
    daemon::run(&engine, &settings, &CancellationToken::new()).await;
    let took = started.elapsed();
    // 8 attempts of 250 ms, 4 at a time: two rounds, not eight.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    for id in &ids {
        let a = action(&ctx.db, *id).await;
        assert_eq!((a.status.as_str(), a.attempts), ("SUCCESS", 1));
        assert_eq!(ctx.db.logs_for_action(*id).await.unwrap().len(), 1, "a PROOF attempt's one line");
    }
    let tick = &ctx.db.ticks_recent(1).await.unwrap()[0];
    assert_eq!((tick.actions_attempted, tick.actions_succeeded), (8, 8));

    let slow = enqueue_many_of(&engine, "SLOW", 4).await;
    let run = {
        let (engine, settings) = (engine.clone(), DaemonSettings { max_ticks: None, ..settings });
        tokio::spawn(async move { daemon::run(&engine, &settings, &CancellationToken::new()).await })
    };
    eventually("four slow attempts in flight", || async {
        ctx.db.action_counts().await.unwrap().iter().any(|c| c.status == "RUNNING" && c.count == 4)
    })
    .await;
    engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(2), run).await.expect("kill stops all attempts").unwrap();
    assert_eq!(exit, DaemonExit::Killed);
    for id in slow {
        assert_eq!(action(&ctx.db, id).await.status, "RETRY");
    }
}

async fn enqueue_many_of(engine: &Engine, action_type: &str, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(enqueue(engine, action_type, &format!("{action_type}-{i}"), "x").await);
    }
    ids
}

on_both_databases!(
    concurrent_attempts_overlap_and_each_lands_once,
    proof_post_social_writes_artifact_with_sha256,
    real_mode_unconfigured_fails_and_posts_nothing,
    kill_cancels_the_attempt_in_flight,
    tick_deadline_cuts_off_and_returns_the_rest,
    adapter_errors_and_panics_are_never_fatal,
    transient_errors_retry_with_backoff,
    two_daemons_never_both_run_actions,
    a_new_daemon_rescues_what_a_dead_one_left_running,
    stands_by_while_another_holds_the_lease,
);

mod artifact_check {
    use super::*;
    use aol::model::ArtifactState;

    async fn detail_rechecks_the_artifact(ctx: TestCtx) {
        let engine = engine_with_fakes(&ctx.db).await;
        let id = enqueue(&engine, "POST_SOCIAL", "check-me", "hello").await;
        daemon::run(&engine, &fast(Some(1)), &CancellationToken::new()).await;

        let state = |d: Option<aol::model::ActionDetail>| d.unwrap().artifact.expect("artifact").state;
        let detail = engine.action_detail(id).await.unwrap();
        let check = detail.as_ref().unwrap().artifact.clone().unwrap();
        assert_eq!(state(detail), ArtifactState::Verified);
        assert!(check.preview.unwrap().contains("hello"));

        // Bytes changed behind AOL's back are shown as changed, and not given out.
        let sha = check.logged_sha256;
        sqlx_exec(&ctx, "UPDATE aol_execution_logs SET artifact_bytes = $1 WHERE artifact_sha256 = $2", b"{}", &sha)
            .await;
        assert!(matches!(state(engine.action_detail(id).await.unwrap()), ArtifactState::Changed { .. }));
        let err = engine.artifact_for(&ops(), id).await.unwrap_err();
        assert!(err.to_string().contains("not the ones logged"), "{err}");
        let gone = "UPDATE aol_execution_logs SET artifact_bytes = NULL WHERE artifact_sha256 = $2 AND $1 IS NOT NULL";
        sqlx_exec(&ctx, gone, b"{}", &sha).await;
        assert_eq!(state(engine.action_detail(id).await.unwrap()), ArtifactState::Missing);
        assert!(engine.action_detail(999_999).await.unwrap().is_none());
    }

    /// Runs `sql` with `$1` = `bytes` and `$2` = `text` on `ctx`'s database.
    async fn sqlx_exec(ctx: &TestCtx, sql: &str, bytes: &[u8], text: &str) {
        match ctx.backend {
            common::Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&ctx.url).await.unwrap();
                sqlx::query(sql).bind(bytes).bind(text).execute(&pool).await.unwrap();
            }
            common::Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&ctx.url).await.unwrap();
                sqlx::query(sql).bind(bytes).bind(text).execute(&pool).await.unwrap();
            }
        }
    }

    on_both_databases!(detail_rechecks_the_artifact);
}
