//! The daemon: ticks write the ledger, pause writes SKIPPED rows, kill stops it
//! at once (in-process) or within a second (from another process), revive
//! starts it again, and shutdown ends it.

mod common;

use std::time::Duration;

use aol::engine::Actor;
use aol::engine::{daemon, supervise, DaemonExit, DaemonSettings, Engine, NewItem};
use aol::model::{AuditCheck, FlagCommand};
use aol::storage::Db;
use common::TestCtx;
use tokio_util::sync::CancellationToken;

fn ops() -> Actor {
    Actor::system("test")
}

fn settings(interval_ms: u64, max_ticks: Option<u64>) -> DaemonSettings {
    DaemonSettings { tick_interval: Duration::from_millis(interval_ms), max_ticks, ..DaemonSettings::default() }
}

async fn engine(db: &Db) -> Engine {
    common::engine(db).await
}

/// Queues one POST_SOCIAL per key, in one batch.
async fn enqueue_posts(engine: &Engine, keys: &[String]) {
    let payloads: Vec<_> =
        keys.iter().map(|k| serde_json::json!({"text": format!("post {k}")}).as_object().unwrap().clone()).collect();
    let items: Vec<NewItem> = keys.iter().zip(&payloads).map(|(k, p)| NewItem::new("POST_SOCIAL", k, p)).collect();
    for done in engine.enqueue_many(&ops(), &items).await.unwrap() {
        done.unwrap();
    }
}

/// A trigger `name` that makes every update of an action matching `when`
/// (SQL over OLD and NEW, the same on both databases) fail.
async fn refuse_updates(ctx: &TestCtx, name: &str, when: &str) {
    match ctx.backend {
        common::Backend::Sqlite => {
            ctx.execute_raw(&format!(
                "CREATE TRIGGER {name} BEFORE UPDATE ON aol_actions WHEN {when} \
                 BEGIN SELECT RAISE(ABORT, 'test: {name}'); END"
            ))
            .await
        }
        common::Backend::Postgres => {
            ctx.execute_raw(&format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'test: {name}'; END $$"
            ))
            .await;
            ctx.execute_raw(&format!(
                "CREATE TRIGGER {name} BEFORE UPDATE ON aol_actions FOR EACH ROW \
                 WHEN ({when}) EXECUTE FUNCTION {name}()"
            ))
            .await
        }
    }
}

/// Waits (up to 5 s) until the ledger has at least `n` rows.
async fn wait_for_ticks(db: &Db, n: i64) {
    for _ in 0..500 {
        if db.ticks_count().await.unwrap() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the ledger never reached {n} rows");
}

async fn runs_two_ticks_and_exits(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    let exit = daemon::run(&engine, &settings(10, Some(2)), &CancellationToken::new()).await;
    assert_eq!(exit, DaemonExit::TickLimit);
    let ticks = ctx.db.ticks_recent(10).await.unwrap();
    assert_eq!(ticks.len(), 2);
    for t in &ticks {
        assert_eq!(t.status, "SUCCESS");
        assert_eq!(t.daemon_owner, engine.identity());
        assert!(t.finished_at_utc >= t.started_at_utc);
    }
    assert!(ticks[0].id > ticks[1].id, "newest first");
}

async fn respects_the_pause_flag(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    engine.apply_flag_command(FlagCommand::Pause, &ops()).await.unwrap();
    let exit = daemon::run(&engine, &settings(10, Some(2)), &CancellationToken::new()).await;
    assert_eq!(exit, DaemonExit::TickLimit);
    let ticks = ctx.db.ticks_recent(10).await.unwrap();
    assert_eq!(ticks.len(), 2);
    assert!(ticks.iter().all(|t| t.status == "SKIPPED" && t.notes == "paused"), "{ticks:?}");
}

async fn killed_at_start_writes_nothing(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    let exit = daemon::run(&engine, &settings(10, Some(5)), &CancellationToken::new()).await;
    assert_eq!(exit, DaemonExit::Killed);
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 0);
}

async fn kill_ends_the_wait_between_ticks(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    let run = {
        let engine = engine.clone();
        tokio::spawn(async move { daemon::run(&engine, &settings(60_000, None), &CancellationToken::new()).await })
    };
    wait_for_ticks(&ctx.db, 1).await;
    engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    // The tick interval is a minute: only the kill can end this run quickly.
    let exit = tokio::time::timeout(Duration::from_secs(1), run).await.expect("still running after kill");
    assert_eq!(exit.unwrap(), DaemonExit::Killed);
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 1);
}

async fn kill_from_another_process_stops_it_within_a_second(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    let shutdown = CancellationToken::new();
    let watcher = engine.spawn_flag_watcher(shutdown.clone());
    let run = {
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        tokio::spawn(async move { daemon::run(&engine, &settings(60_000, None), &shutdown).await })
    };
    wait_for_ticks(&ctx.db, 1).await;
    let cli_db = Db::connect(&ctx.url).await.unwrap();
    common::engine(&cli_db).await.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(1), run).await.expect("still running 1 s after kill");
    assert_eq!(exit.unwrap(), DaemonExit::Killed);
    shutdown.cancel();
    watcher.await.unwrap();
    cli_db.close().await;
}

async fn shutdown_ends_the_run(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    let shutdown = CancellationToken::new();
    let run = {
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        tokio::spawn(async move { daemon::run(&engine, &settings(60_000, None), &shutdown).await })
    };
    wait_for_ticks(&ctx.db, 1).await;
    shutdown.cancel();
    let exit = tokio::time::timeout(Duration::from_secs(1), run).await.expect("still running after shutdown");
    assert_eq!(exit.unwrap(), DaemonExit::Shutdown);
}

async fn supervisor_stops_on_kill_and_restarts_on_revive(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(supervise(engine.clone(), settings(20, None), shutdown.clone()));
    wait_for_ticks(&ctx.db, 2).await;

    engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_kill = ctx.db.ticks_count().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ctx.db.ticks_count().await.unwrap(), after_kill, "ticks went on while killed");

    engine.apply_flag_command(FlagCommand::Revive, &ops()).await.unwrap();
    wait_for_ticks(&ctx.db, after_kill + 2).await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), task).await.expect("supervisor ignored shutdown").unwrap();
}

async fn overview_tells_running_from_standby(ctx: TestCtx) {
    use aol::model::DaemonState;
    let leader = engine(&ctx.db).await;
    let other_db = Db::connect(&ctx.url).await.unwrap();
    let follower = engine(&other_db).await;
    assert_eq!(leader.overview().await.unwrap().daemon_state().0, DaemonState::Stopped, "no daemon yet");

    let shutdown = CancellationToken::new();
    let run = {
        let (e, s) = (leader.clone(), shutdown.clone());
        tokio::spawn(async move { daemon::run(&e, &settings(20, None), &s).await })
    };
    wait_for_ticks(&ctx.db, 1).await;
    assert_eq!(leader.overview().await.unwrap().daemon_state().0, DaemonState::Running);
    let (state, why) = follower.overview().await.unwrap().daemon_state();
    assert_eq!(state, DaemonState::Standby);
    assert!(why.contains(leader.identity()), "{why}");

    shutdown.cancel();
    run.await.unwrap();
    assert_eq!(follower.overview().await.unwrap().daemon_state().0, DaemonState::Stopped, "released on shutdown");
    other_db.close().await;
}

/// A tick whose results cannot be written (here a trigger refuses them for
/// the first term's attempts) leaves its actions RUNNING under its term,
/// which only a later term's rescue takes: the daemon ends the term at once,
/// the next one rescues them, and every action ends SUCCESS on its second
/// attempt.
async fn a_tick_that_cannot_write_its_results_ends_the_term(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    for i in 0..3 {
        let payload = serde_json::json!({"text": format!("post {i}")}).as_object().unwrap().clone();
        engine.enqueue("POST_SOCIAL", &format!("stranded-{i}"), &payload).await.unwrap();
    }
    refuse_updates(&ctx, "refuse_results", "NEW.status = 'SUCCESS' AND OLD.lease_epoch = 1").await;
    let stop = CancellationToken::new();
    let run = {
        let (engine, stop) = (engine.clone(), stop.clone());
        tokio::spawn(async move { daemon::run(&engine, &settings(20, None), &stop).await })
    };
    let mut actions = Vec::new();
    for _ in 0..500 {
        actions = ctx.db.actions_recent(None, 10).await.unwrap();
        if actions.iter().all(|a| a.status == "SUCCESS") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    run.await.unwrap();
    let ended: Vec<_> = actions.iter().map(|a| (a.status.as_str(), a.attempts, a.lease_epoch)).collect();
    assert_eq!(ended, [("SUCCESS", 2, Some(2)); 3], "rescued by the second term, posted on the second attempt");
    let logs = ctx.db.logs_for_action(actions[0].id).await.unwrap();
    assert!(logs.iter().any(|l| l.message.contains("rescued")), "{logs:?}");
}

/// A tick of 1,200 PROOF posts, 64 in flight: its results are written in
/// several transactions (two at a time on PostgreSQL), and every post still
/// ends SUCCESS once, with one line, its stored artifact and its audit event,
/// in a chain that verifies.
async fn a_big_tick_lands_every_result_once(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    let keys: Vec<String> = (0..1200).map(|i| format!("big-{i}")).collect();
    enqueue_posts(&engine, &keys).await;
    let settings = DaemonSettings { max_actions_per_tick: 1200, tick_concurrency: 64, ..settings(10, Some(1)) };
    assert_eq!(daemon::run(&engine, &settings, &CancellationToken::new()).await, DaemonExit::TickLimit);

    let ended: Vec<(String, i64, i64)> =
        ctx.fetch_all_raw("SELECT status, attempts, COUNT(*) FROM aol_actions GROUP BY status, attempts").await;
    assert_eq!(ended, [("SUCCESS".to_string(), 1, 1200)]);
    let lines: Vec<(i64, i64)> = ctx
        .fetch_all_raw(
            "SELECT COUNT(*), COUNT(DISTINCT l.action_id) FROM aol_execution_logs l \
             WHERE l.artifact_sha256 IS NOT NULL AND l.artifact_bytes IS NOT NULL",
        )
        .await;
    assert_eq!(lines, [(1200, 1200)], "one line per post, each naming its stored artifact");
    let results: Vec<(i64, i64)> = ctx
        .fetch_all_raw("SELECT COUNT(*), COUNT(DISTINCT action_id) FROM aol_audit WHERE event <> 'enqueued' AND action_id IS NOT NULL")
        .await;
    assert_eq!(results, [(1200, 1200)], "each post's result audited once");
    let rows = ctx.db.audit_rows_after(0, 5_000).await.unwrap();
    let enqueued: std::collections::HashSet<i64> = rows.iter().flat_map(|r| r.enqueued_actions()).collect();
    assert_eq!(enqueued.len(), 1200, "each post's enqueue audited");
    assert!(matches!(ctx.db.audit_verify().await.unwrap(), AuditCheck::Intact { .. }));
    let tick = &ctx.db.ticks_recent(1).await.unwrap()[0];
    assert_eq!((tick.status.as_str(), tick.actions_attempted, tick.actions_succeeded), ("SUCCESS", 1200, 1200));
}

/// On PostgreSQL a big claim is two statements side by side: when one fails
/// (here a trigger refuses one row), the other's actions are run, not left
/// RUNNING where no rescue would take them while the term lasts. SQLite's one
/// claim is refused whole and claims nothing.
async fn a_claim_half_that_fails_strands_nothing(ctx: TestCtx) {
    let engine = engine(&ctx.db).await;
    let keys: Vec<String> =
        (0..400).map(|i| if i == 399 { "poison".to_string() } else { format!("half-{i}") }).collect();
    enqueue_posts(&engine, &keys).await;
    refuse_updates(&ctx, "refuse_claim", "NEW.status = 'RUNNING' AND OLD.idempotency_key = 'poison'").await;
    let settings = DaemonSettings { max_actions_per_tick: 400, tick_concurrency: 64, ..settings(10, Some(1)) };
    let stop = CancellationToken::new();
    let ended = tokio::time::timeout(Duration::from_secs(3), daemon::run(&engine, &settings, &stop)).await;
    let counts: Vec<(String, i64)> =
        ctx.fetch_all_raw("SELECT status, COUNT(*) FROM aol_actions GROUP BY status ORDER BY status").await;
    let count = |status: &str| counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
    assert_eq!(count("RUNNING"), 0, "nothing stranded: {counts:?}");
    match ctx.backend {
        common::Backend::Sqlite => {
            assert!(ended.is_err(), "every tick's one claim is refused: no tick is written");
            assert_eq!(count("PENDING"), 400, "{counts:?}");
        }
        common::Backend::Postgres => {
            assert_eq!(ended.ok(), Some(DaemonExit::TickLimit), "the tick ran the half that was claimed");
            assert!((1..=200).contains(&count("SUCCESS")), "{counts:?}");
            assert_eq!(count("SUCCESS") + count("PENDING"), 400, "{counts:?}");
        }
    }
}

on_both_databases!(
    a_claim_half_that_fails_strands_nothing,
    a_big_tick_lands_every_result_once,
    a_tick_that_cannot_write_its_results_ends_the_term,
    overview_tells_running_from_standby,
    runs_two_ticks_and_exits,
    respects_the_pause_flag,
    killed_at_start_writes_nothing,
    kill_ends_the_wait_between_ticks,
    kill_from_another_process_stops_it_within_a_second,
    shutdown_ends_the_run,
    supervisor_stops_on_kill_and_restarts_on_revive,
);
