//! Retention: old ledger rows, logs and finished actions go; live actions and
//! DLQ (unless asked) stay; a pruned action's key is never accepted again.

mod common;

use std::time::Duration;

use aol::engine::Actor;
use aol::engine::{daemon, Clock, DaemonSettings, Engine, EnqueueError, Registry, RetentionSettings};
use aol::model::{ActionFilter, ArtifactState, FlagCommand, LogLevel};
use aol::storage::{Db, Finish, NewLog};
use chrono::{TimeDelta, TimeZone, Utc};
use common::{TestCtx, TestServer, OPERATOR_TOKEN};
use serde_json::json;
use sha2::Digest;
use tokio_util::sync::CancellationToken;

fn ops() -> Actor {
    Actor::system("test")
}

fn payload() -> serde_json::Map<String, serde_json::Value> {
    json!({ "text": "hello" }).as_object().unwrap().clone()
}

async fn enqueue(engine: &Engine, key: &str) -> i64 {
    engine.enqueue("POST_SOCIAL", key, &payload()).await.unwrap().action.id
}

/// An engine on a manual clock, and the action `key` it cancelled 31 days
/// before the clock's now (old enough for retention to remove).
async fn cancelled_a_month_ago(ctx: &TestCtx, key: &str) -> (Engine, i64) {
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap());
    let engine = Engine::new(ctx.db.clone(), clock.clone(), Registry::standard()).await.unwrap();
    let id = enqueue(&engine, key).await;
    engine.cancel(id, &ops()).await.unwrap();
    clock.advance(TimeDelta::days(31));
    (engine, id)
}

async fn ticks(engine: &Engine, n: u64) {
    let settings =
        DaemonSettings { max_ticks: Some(n), tick_interval: Duration::from_millis(1), ..DaemonSettings::default() };
    daemon::run(engine, &settings, &CancellationToken::new()).await;
}

/// Test set-up only: puts an action in DLQ as a daemon would after its retries.
async fn force_dlq(ctx: &TestCtx, id: i64) {
    ctx.execute_raw(&format!("UPDATE aol_actions SET status = 'DLQ', last_error = 'gave up' WHERE id = {id}")).await;
}

async fn status_of(db: &Db, key: &str) -> Option<String> {
    db.action_by_key(key).await.unwrap().map(|a| a.status)
}

fn count(counts: &[aol::model::StatusCount], status: &str) -> i64 {
    counts.iter().find(|c| c.status == status).map_or(0, |c| c.count)
}

/// The keys of the actions the type filter finds, sorted. On PostgreSQL it
/// reads `aol_action_lookup`, which the enqueue writes and a trigger prunes
/// with the actions (migrations 0021, 0022): there the lookup must hold one
/// row per action, no more.
async fn by_type(ctx: &TestCtx, action_type: &str) -> Vec<String> {
    let filter = ActionFilter { action_type: Some(action_type.into()), ..ActionFilter::default() };
    let mut keys: Vec<String> =
        ctx.db.actions_page(&filter, 1_000).await.unwrap().into_iter().map(|a| a.idempotency_key).collect();
    keys.sort();
    if matches!(ctx.backend, common::Backend::Postgres) {
        let rows: Vec<(i64, i64)> = ctx
            .fetch_all_raw(
                "SELECT (SELECT COUNT(*) FROM aol_action_lookup l JOIN aol_actions a ON a.id = l.action_id \
                   AND a.action_type = l.action_type AND a.enqueued_by IS NOT DISTINCT FROM l.enqueued_by), \
                        (SELECT COUNT(*) FROM aol_action_lookup) - (SELECT COUNT(*) FROM aol_actions) \
                        - (SELECT COUNT(*) FROM aol_action_lookup l JOIN aol_retired_keys r \
                           ON r.idempotency_key = l.idempotency_key AND r.action_id = l.action_id \
                           AND l.action_type = '' AND l.enqueued_by IS NULL)",
            )
            .await;
        let actions = ctx.db.actions_page(&ActionFilter::default(), 1_000).await.unwrap().len() as i64;
        assert_eq!(rows, [(actions, 0)], "one lookup row per action, matching it, and one per retired key");
    }
    keys
}

async fn old_rows_go_and_live_ones_stay(ctx: TestCtx) {
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap());
    let engine = Engine::new(ctx.db.clone(), clock.clone(), Registry::standard()).await.unwrap();

    // Forty days ago: two posts done, two SUCCESS ticks, two SKIPPED ticks...
    enqueue(&engine, "done-1").await;
    enqueue(&engine, "done-2").await;
    ticks(&engine, 2).await;
    engine.apply_flag_command(FlagCommand::Pause, &ops()).await.unwrap();
    ticks(&engine, 2).await;
    // ...one still waiting, one cancelled, one in the DLQ.
    enqueue(&engine, "waiting").await;
    let cancelled = enqueue(&engine, "cancelled").await;
    engine.cancel(cancelled, &Actor::system("test")).await.unwrap();
    let dead = enqueue(&engine, "dead").await;
    engine.cancel(dead, &Actor::system("test")).await.unwrap(); // for a log line
    force_dlq(&ctx, dead).await;
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 4);

    // Today: a new action and a recent cancellation.
    clock.advance(TimeDelta::days(40));
    enqueue(&engine, "fresh").await;
    let recent = enqueue(&engine, "recently-cancelled").await;
    engine.cancel(recent, &Actor::system("test")).await.unwrap();

    // The done posts' artifacts are held by their log lines...
    let artifacts: Vec<i64> = ctx
        .db
        .logs_latest(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.artifact_sha256.is_some())
        .map(|l| l.id)
        .collect();
    assert_eq!(artifacts.len(), 2);
    for line in &artifacts {
        assert!(ctx.db.artifact_bytes(*line).await.unwrap().is_some(), "line {line} holds its artifact");
    }

    let pruned = engine.prune(&RetentionSettings::default()).await.unwrap();
    assert_eq!((pruned.ticks, pruned.actions), (4, 3), "{pruned:?}");
    // ...and go with them.
    for line in &artifacts {
        assert_eq!(ctx.db.artifact_bytes(*line).await.unwrap(), None, "line {line}'s artifact went with its action");
    }
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 0);
    for gone in ["done-1", "done-2", "cancelled"] {
        assert_eq!(status_of(&ctx.db, gone).await, None, "{gone} should be pruned");
    }
    for (kept, status) in
        [("waiting", "PENDING"), ("dead", "DLQ"), ("fresh", "PENDING"), ("recently-cancelled", "CANCELLED")]
    {
        assert_eq!(status_of(&ctx.db, kept).await.as_deref(), Some(status), "{kept} must stay");
    }
    assert_eq!(
        by_type(&ctx, "POST_SOCIAL").await,
        ["dead", "fresh", "recently-cancelled", "waiting"],
        "the type filter finds what stays and nothing pruned"
    );
    assert!(!ctx.db.logs_for_action(dead).await.unwrap().is_empty(), "DLQ actions keep their logs");
    assert!(!ctx.db.logs_for_action(recent).await.unwrap().is_empty());
    let orphans: Vec<(i64,)> = ctx
        .fetch_all_raw(
            "SELECT COUNT(*) FROM aol_execution_logs l WHERE NOT EXISTS (SELECT 1 FROM aol_actions a WHERE a.id = l.action_id)",
        )
        .await;
    assert_eq!(orphans[0].0, 0, "every line of a pruned action went with it");
    let counts = ctx.db.action_counts().await.unwrap();
    assert_eq!((count(&counts, "SUCCESS"), count(&counts, "CANCELLED"), count(&counts, "PENDING")), (0, 1, 2));
    assert_eq!(ctx.db.retired_keys_count().await.unwrap(), 3);

    // A second pass finds nothing more; a DLQ age takes the dead action too.
    assert_eq!(engine.prune(&RetentionSettings::default()).await.unwrap().total(), 0);
    let with_dlq = RetentionSettings { dlq: Some(Duration::from_secs(86_400)), ..RetentionSettings::default() };
    assert_eq!(engine.prune(&with_dlq).await.unwrap().actions, 1);
    assert_eq!(status_of(&ctx.db, "dead").await, None);
    assert_eq!(ctx.db.retired_keys_count().await.unwrap(), 4);
}

async fn a_pruned_key_is_never_accepted_again(ctx: TestCtx) {
    let (engine, id) = cancelled_a_month_ago(&ctx, "posted-in-january").await;
    assert_eq!(engine.prune(&RetentionSettings::default()).await.unwrap().actions, 1);

    match engine.enqueue("POST_SOCIAL", "posted-in-january", &payload()).await {
        Err(EnqueueError::KeyRetired(r)) => {
            assert_eq!((r.action_id, r.status.as_str()), (id, "CANCELLED"));
        }
        other => panic!("a retired key was accepted: {other:?}"),
    }
    assert_eq!(status_of(&ctx.db, "posted-in-january").await, None, "nothing was written");

    // Over the API: 409, with the reason.
    let server = TestServer::start(&ctx.db).await;
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/actions"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({ "action_type": "POST_SOCIAL", "idempotency_key": "posted-in-january", "payload": payload() }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("removed by retention"), "{body}");
}

async fn logs_can_go_before_their_actions(ctx: TestCtx) {
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap());
    let engine = Engine::new(ctx.db.clone(), clock.clone(), Registry::standard()).await.unwrap();
    let finished = enqueue(&engine, "finished").await;
    engine.cancel(finished, &Actor::system("test")).await.unwrap();
    let dead = enqueue(&engine, "dead").await;
    engine.cancel(dead, &Actor::system("test")).await.unwrap();
    force_dlq(&ctx, dead).await;
    clock.advance(TimeDelta::days(10));
    let keep_actions = RetentionSettings {
        logs: Some(Duration::from_secs(7 * 86_400)),
        actions: None,
        ..RetentionSettings::default()
    };
    let pruned = engine.prune(&keep_actions).await.unwrap();
    assert_eq!((pruned.logs, pruned.actions), (1, 0), "{pruned:?}");
    assert!(ctx.db.logs_for_action(finished).await.unwrap().is_empty());
    assert_eq!(ctx.db.logs_for_action(dead).await.unwrap().len(), 1, "a DLQ action keeps its logs");
    assert_eq!(status_of(&ctx.db, "finished").await.as_deref(), Some("CANCELLED"));
}

async fn each_statement_deletes_one_batch_at_most(ctx: TestCtx) {
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap());
    let engine = Engine::new(ctx.db.clone(), clock.clone(), Registry::standard()).await.unwrap();
    ticks(&engine, 5).await;
    let later = clock.now() + TimeDelta::days(1);
    assert_eq!(ctx.db.ticks_prune(later, None, 2).await.unwrap(), 2);
    assert_eq!(ctx.db.ticks_prune(later, Some("SKIPPED"), 2).await.unwrap(), 0, "no SKIPPED rows");
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 3);
    let oldest_left = ctx.db.ticks_recent(10).await.unwrap().last().unwrap().id;
    assert_eq!(oldest_left, 3, "the oldest go first");
}

/// Each line holds its own artifact, written with its result, even where
/// lines name the same bytes (in one result batch or in two): the content
/// store of media gains nothing, the media prune takes none of them, and an
/// artifact goes exactly when its line does (by its action's cascade or by
/// the log prune).
async fn an_artifact_lives_and_goes_with_its_line(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let mut ids = Vec::new();
    for key in ["same-a", "same-b", "same-c", "other"] {
        ids.push(enqueue(&engine, key).await);
    }
    let epoch = engine.lease_acquire(Duration::from_secs(30)).await.unwrap().expect("lease").epoch;
    assert_eq!(ctx.db.actions_claim(&engine.fence(epoch), 10).await.unwrap().len(), 4);
    let artifact = |bytes: &str| {
        let sha = hex::encode(sha2::Sha256::digest(bytes.as_bytes()));
        NewLog::new(LogLevel::Info, "made").with_artifact(sha, bytes.as_bytes().to_vec())
    };
    let (same, other) = (artifact("the same request"), artifact("another request"));
    let fence = engine.fence(epoch);
    let batch =
        [(ids[0], &Finish::Success, &same), (ids[1], &Finish::Success, &same), (ids[3], &Finish::Success, &other)];
    assert_eq!(ctx.db.actions_finish(&fence, &batch).await.unwrap().len(), 3);
    assert!(ctx.db.action_finish(&fence, ids[2], &Finish::Success, &same).await.unwrap().is_some());
    let line_of = |id: i64| {
        let ctx = &ctx;
        async move {
            let logs = ctx.db.logs_for_action(id).await.unwrap();
            logs.iter().rev().find(|l| l.artifact_sha256.is_some()).map(|l| l.id).expect("an artifact line")
        }
    };
    let mut lines = Vec::new();
    for id in &ids {
        lines.push(line_of(*id).await);
    }
    for (line, bytes) in
        lines.iter().zip(["the same request", "the same request", "the same request", "another request"])
    {
        assert_eq!(ctx.db.artifact_bytes(*line).await.unwrap().as_deref(), Some(bytes.as_bytes()), "line {line}");
    }
    let blobs: Vec<(i64,)> = ctx.fetch_all_raw("SELECT COUNT(*) FROM aol_blobs").await;
    assert_eq!(blobs[0].0, 0, "artifacts are not media");
    let far_future = Utc::now() + TimeDelta::days(3650);
    assert_eq!(ctx.db.blobs_prune(far_future, 100).await.unwrap(), 0);

    ctx.execute_raw(&format!("DELETE FROM aol_actions WHERE id IN ({}, {})", ids[0], ids[3])).await;
    assert_eq!(ctx.db.artifact_bytes(lines[0]).await.unwrap(), None, "gone with its action's cascade");
    assert_eq!(ctx.db.artifact_bytes(lines[3]).await.unwrap(), None);
    assert!(ctx.db.artifact_bytes(lines[1]).await.unwrap().is_some(), "the same bytes stay in another line");
    let read = engine.artifact_of(ids[1]).await.unwrap().expect("an artifact");
    assert_eq!(read.check.state, ArtifactState::Verified, "read back and checked against its line's SHA-256");
    assert_eq!(read.bytes.as_deref(), Some(b"the same request".as_slice()));

    assert!(ctx.db.logs_prune(far_future, 100).await.unwrap() >= 2);
    assert_eq!(ctx.db.artifact_bytes(lines[1]).await.unwrap(), None, "gone with its line");
    assert_eq!(ctx.db.artifact_bytes(lines[2]).await.unwrap(), None);
}

/// SQLite's commits leave the write-ahead log alone (no checkpoint inside a
/// commit); the maintenance that `aol serve` and `aol daemon` run copies it
/// into the database file within about a second. PostgreSQL has nothing to do.
async fn maintenance_checkpoints_the_log(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let Some(path) = ctx.url.strip_prefix("sqlite://").map(std::path::PathBuf::from) else {
        ctx.db.checkpoint().await.expect("a no-op on PostgreSQL");
        return;
    };
    let file_size = || std::fs::metadata(&path).unwrap().len();
    let before = file_size();
    for i in 0..300 {
        enqueue(&engine, &format!("wal-{i}")).await;
    }
    assert_eq!(file_size(), before, "300 commits, no checkpoint: the database file is unchanged");
    let stop = CancellationToken::new();
    let maintenance = engine.spawn_maintenance(RetentionSettings::default(), stop.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while file_size() == before {
        assert!(std::time::Instant::now() < deadline, "maintenance did not checkpoint within 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    maintenance.await.unwrap();
    assert_eq!(ctx.db.action_counts().await.unwrap().iter().map(|c| c.count).sum::<i64>(), 300);
}

/// A key retired by a retention that commits while an enqueue of the same
/// key waits for it is refused all the same: the enqueue's insert meets the
/// retired key's lookup row (migration 0023). Without that row it went
/// ahead once the retention had removed the action's own. PostgreSQL only:
/// on SQLite the two cannot overlap (one write lock, and the writes of one
/// process take turns at one connection); a retired key is refused there by
/// `a_pruned_key_is_never_accepted_again`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_retired_while_its_enqueue_waits_is_refused() {
    common::run_on(common::Backend::Postgres, |ctx| async move {
        let (engine, id) = cancelled_a_month_ago(&ctx, "racing").await;

        // A transaction of the test's own holds the retired key's row, so
        // that the retention stops after removing the action and before it
        // commits.
        use sqlx::Connection as _;
        let mut holder = sqlx::PgConnection::connect(&ctx.url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
        sqlx::query(
            "INSERT INTO aol_retired_keys (idempotency_key, action_id, status, finished_at_utc, retired_at_utc) \
             VALUES ('racing', 0, 'CANCELLED', now(), now())",
        )
        .execute(&mut holder)
        .await
        .unwrap();
        let pruning = tokio::spawn({
            let engine = engine.clone();
            async move { engine.prune(&RetentionSettings::default()).await.unwrap().actions }
        });
        waits_for_lock(&ctx, "%aol_retired_keys%").await;
        let enqueuing = tokio::spawn({
            let engine = engine.clone();
            async move { engine.enqueue("POST_SOCIAL", "racing", &payload()).await }
        });
        waits_for_lock(&ctx, "%aol_action_lookup%").await;
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();

        assert_eq!(pruning.await.unwrap(), 1);
        match enqueuing.await.unwrap() {
            Err(EnqueueError::KeyRetired(r)) => assert_eq!((r.action_id, r.status.as_str()), (id, "CANCELLED")),
            other => panic!("a key retired meanwhile was accepted: {other:?}"),
        }
        assert_eq!(status_of(&ctx.db, "racing").await, None, "nothing was written");
    })
    .await;
}

/// Keys retired before migration 0023 get their lookup rows from it, and are
/// refused as those retired since (PostgreSQL; SQLite's 0023 changes nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_retired_before_0023_are_kept_in_the_lookup() {
    common::run_on(common::Backend::Postgres, |ctx| async move {
        let (engine, id) = cancelled_a_month_ago(&ctx, "retired-long-ago").await;
        assert_eq!(engine.prune(&RetentionSettings::default()).await.unwrap().actions, 1);
        // As a retention before 0023 left it: the retired key, no lookup row.
        ctx.execute_raw("DELETE FROM aol_action_lookup WHERE idempotency_key = 'retired-long-ago'").await;
        ctx.execute_raw(include_str!("../migrations/postgres/0023_retired_keys_in_lookup.sql")).await;

        match engine.enqueue("POST_SOCIAL", "retired-long-ago", &payload()).await {
            Err(EnqueueError::KeyRetired(r)) => assert_eq!(r.action_id, id),
            other => panic!("a key retired before 0023 was accepted: {other:?}"),
        }
        assert_eq!(status_of(&ctx.db, "retired-long-ago").await, None, "nothing was written");
    })
    .await;
}

/// Until a statement like `pattern` of this test's database waits for a lock.
async fn waits_for_lock(ctx: &TestCtx, pattern: &str) {
    let sql = format!(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND query LIKE '{pattern}'"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ctx.fetch_all_raw::<(i64,)>(&sql).await[0].0 == 0 {
        assert!(std::time::Instant::now() < deadline, "nothing like {pattern} waited for a lock within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

on_both_databases!(
    maintenance_checkpoints_the_log,
    old_rows_go_and_live_ones_stay,
    a_pruned_key_is_never_accepted_again,
    logs_can_go_before_their_actions,
    each_statement_deletes_one_batch_at_most,
    an_artifact_lives_and_goes_with_its_line,
);
