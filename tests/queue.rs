//! The queue (SPEC §3, §6): enqueue with idempotency and validation, claim of
//! due actions, success / retry / failure / DLQ, operator re-queue and cancel.

mod common;
#[path = "queue/groups.rs"]
mod groups;

use std::collections::HashSet;

use aol::engine::lease::DAEMON_LEASE;
use aol::engine::queue::{parse_payload, MAX_PAYLOAD_BYTES};
use aol::engine::Actor;
use aol::engine::{Engine, EnqueueError, OperatorError};
use aol::model::{ActionFilter, LogLevel};
use aol::storage::{Fence, Finish, NewLog};
use chrono::{TimeDelta, Utc};
use common::TestCtx;
use serde_json::json;

fn payload(text: &str) -> serde_json::Map<String, serde_json::Value> {
    parse_payload(&json!({ "text": text }).to_string()).unwrap()
}

async fn count(engine: &Engine) -> i64 {
    engine.db().action_counts().await.unwrap().iter().map(|c| c.count).sum()
}

/// Takes the lease for `engine` and returns its epoch.
async fn lead(engine: &Engine) -> i64 {
    engine.lease_acquire(std::time::Duration::from_secs(30)).await.unwrap().expect("lease").epoch
}

async fn enqueue_action(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let first = engine.enqueue("POST_SOCIAL", "launch-1", &payload("We launched!")).await.unwrap();
    assert!(!first.duplicate);
    let a = &first.action;
    assert_eq!((a.status.as_str(), a.attempts, a.action_type.as_str()), ("PENDING", 0, "POST_SOCIAL"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&a.payload_json).unwrap(), json!({"text": "We launched!"}));
    assert!(a.last_error.is_none());
    assert_eq!(ctx.db.action_get(a.id).await.unwrap().as_ref(), Some(a), "row round-trips");

    let again = engine.enqueue("POST_SOCIAL", "launch-1", &payload("something else")).await.unwrap();
    assert!(again.duplicate, "same key is a duplicate");
    assert_eq!(again.action, first.action, "the existing action is returned unchanged");
    assert_eq!(count(&engine).await, 1);
}

async fn concurrent_duplicates_make_one_row(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(
            async move { engine.enqueue("POST_SOCIAL", "same-key", &payload("hi")).await.unwrap() },
        ));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let e = t.await.unwrap();
        ids.insert(e.action.id);
        created += usize::from(!e.duplicate);
    }
    assert_eq!(ids.len(), 1, "every caller got the same action");
    assert_eq!(created, 1, "exactly one caller created it");
    assert_eq!(count(&engine).await, 1);
}

async fn bad_input_is_refused_and_nothing_written(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let cases: Vec<(&str, String, serde_json::Map<String, serde_json::Value>, &str)> = vec![
        ("TWEET", "k".into(), payload("x"), "unknown action type \"TWEET\": expected one of POST_SOCIAL"),
        ("POST_SOCIAL", "".into(), payload("x"), "invalid idempotency key"),
        ("POST_SOCIAL", "k".repeat(201), payload("x"), "at most 200"),
        ("POST_SOCIAL", "bad\u{7}key".into(), payload("x"), "control character"),
        ("POST_SOCIAL", "k".into(), parse_payload("{}").unwrap(), "needs a \"text\" field"),
        ("POST_SOCIAL", "k".into(), parse_payload(r#"{"text": 5}"#).unwrap(), "\"text\" must be a string"),
        ("POST_SOCIAL", "k".into(), payload("   "), "\"text\" is empty"),
        ("POST_SOCIAL", "k".into(), payload(&"x".repeat(MAX_PAYLOAD_BYTES)), "at most 65536 allowed"),
    ];
    for (action_type, key, payload, expected) in cases {
        let err = engine.enqueue(action_type, &key, &payload).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{action_type} {key:?}: {err}");
    }
    assert!(matches!(parse_payload("[1]"), Err(EnqueueError::Payload(_))));
    assert_eq!(count(&engine).await, 0);
}

async fn dequeue_next(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let first = engine.enqueue("POST_SOCIAL", "a", &payload("1")).await.unwrap().action;
    let second = engine.enqueue("POST_SOCIAL", "b", &payload("2")).await.unwrap().action;
    let epoch = lead(&engine).await;

    let claimed = ctx.db.actions_claim(&engine.fence(epoch), 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let a = &claimed[0];
    assert_eq!(a.id, first.id, "oldest first");
    assert_eq!((a.status.as_str(), a.attempts, a.lease_epoch), ("RUNNING", 1, Some(epoch)));

    let rest = ctx.db.actions_claim(&engine.fence(epoch), 10).await.unwrap();
    assert_eq!(rest.iter().map(|a| a.id).collect::<Vec<_>>(), vec![second.id]);
    assert!(ctx.db.actions_claim(&engine.fence(epoch), 10).await.unwrap().is_empty(), "nothing left");
}

async fn retry_waits_for_its_time(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let id = engine.enqueue("POST_SOCIAL", "a", &payload("1")).await.unwrap().action.id;
    let epoch = lead(&engine).await;
    ctx.db.actions_claim(&engine.fence(epoch), 1).await.unwrap();
    let later = Utc::now() + TimeDelta::minutes(10);
    let finish = Finish::Retry { error: "busy".into(), not_before: later, max_attempts: 3 };
    let log = NewLog::new(LogLevel::Warning, "retry");
    let a = ctx.db.action_finish(&engine.fence(epoch), id, &finish, &log).await.unwrap().unwrap();
    assert_eq!((a.status.as_str(), a.last_error.as_deref()), ("RETRY", Some("busy")));
    assert!(ctx.db.actions_claim(&engine.fence(epoch), 5).await.unwrap().is_empty(), "not due yet");
    // Ten minutes later it is due.
    let mut f = engine.fence(epoch);
    f.now = later;
    ctx.db
        .lease_renew(DAEMON_LEASE, engine.identity(), epoch, Utc::now(), later + TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(ctx.db.actions_claim(&f, 5).await.unwrap().len(), 1);
}

async fn mark_success_failed_retry_and_dlq(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let ok = engine.enqueue("POST_SOCIAL", "ok", &payload("1")).await.unwrap().action.id;
    let bad = engine.enqueue("POST_SOCIAL", "bad", &payload("2")).await.unwrap().action.id;
    let flaky = engine.enqueue("POST_SOCIAL", "flaky", &payload("3")).await.unwrap().action.id;
    let epoch = lead(&engine).await;
    let fence = || engine.fence(epoch);
    let log = |m: &str| NewLog::new(LogLevel::Info, m);
    assert_eq!(ctx.db.actions_claim(&fence(), 3).await.unwrap().len(), 3);

    let a = ctx.db.action_finish(&fence(), ok, &Finish::Success, &log("done")).await.unwrap().unwrap();
    assert_eq!(a.status, "SUCCESS");
    let a = ctx
        .db
        .action_finish(&fence(), bad, &Finish::Failed { error: "bad payload".into() }, &log("no"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.status.as_str(), a.last_error.as_deref()), ("FAILED", Some("bad payload")));
    // A finished action cannot be finished again.
    assert!(ctx
        .db
        .action_finish(&fence(), ok, &Finish::Failed { error: "x".into() }, &log("x"))
        .await
        .unwrap()
        .is_none());

    // Three attempts allowed: RETRY, RETRY, then DLQ with the last error.
    for attempt in 1..=3 {
        if attempt > 1 {
            assert_eq!(ctx.db.actions_claim(&fence(), 3).await.unwrap().len(), 1);
        }
        let finish =
            Finish::Retry { error: "timeout".into(), not_before: Utc::now() - TimeDelta::seconds(1), max_attempts: 3 };
        let a = ctx.db.action_finish(&fence(), flaky, &finish, &log("retry")).await.unwrap().unwrap();
        assert_eq!(a.attempts, attempt);
        assert_eq!(a.status, if attempt < 3 { "RETRY" } else { "DLQ" });
    }
    let dlq = ctx.db.action_get(flaky).await.unwrap().unwrap();
    assert_eq!(dlq.last_error.as_deref(), Some("timeout"));
    assert!(ctx.db.actions_claim(&fence(), 3).await.unwrap().is_empty(), "DLQ is never claimed");
    assert_eq!(ctx.db.logs_for_action(flaky).await.unwrap().len(), 3, "one log line per result");
}

async fn unstarted_claims_go_back_uncounted(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let id = engine.enqueue("POST_SOCIAL", "a", &payload("1")).await.unwrap().action.id;
    let epoch = lead(&engine).await;
    ctx.db.actions_claim(&engine.fence(epoch), 1).await.unwrap();
    let log = NewLog::new(LogLevel::Info, "returned");
    let a = ctx.db.action_finish(&engine.fence(epoch), id, &Finish::Unclaim, &log).await.unwrap().unwrap();
    assert_eq!((a.status.as_str(), a.attempts), ("PENDING", 0));
}

async fn two_claimers_never_share_an_action(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    for i in 0..60 {
        engine.enqueue("POST_SOCIAL", &format!("k{i}"), &payload("x")).await.unwrap();
    }
    let epoch = lead(&engine).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = engine.db().actions_claim(&engine.fence(epoch), 4).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|a| a.id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 60, "every action claimed once");
    assert_eq!(distinct.len(), 60, "no action claimed twice");
}

async fn operator_requeue_and_cancel(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let failed = engine.enqueue("POST_SOCIAL", "f", &payload("1")).await.unwrap().action.id;
    let pending = engine.enqueue("POST_SOCIAL", "p", &payload("2")).await.unwrap().action.id;
    let epoch = lead(&engine).await;
    ctx.db.actions_claim(&engine.fence(epoch), 1).await.unwrap();
    let log = NewLog::new(LogLevel::Error, "failed");
    ctx.db
        .action_finish(&engine.fence(epoch), failed, &Finish::Failed { error: "e".into() }, &log)
        .await
        .unwrap()
        .unwrap();

    let a = engine.requeue(failed, &Actor::system("ops")).await.unwrap();
    assert_eq!((a.status.as_str(), a.attempts), ("PENDING", 0));
    assert!(ctx.db.logs_for_action(failed).await.unwrap().iter().any(|l| l.message == "re-queued by aol:ops"));
    let a = engine.cancel(pending, &Actor::system("ops")).await.unwrap();
    assert_eq!(a.status, "CANCELLED");
    assert!(ctx.db.actions_claim(&engine.fence(epoch), 5).await.unwrap().iter().all(|a| a.id != pending));

    match engine.requeue(pending, &Actor::system("ops")).await {
        Err(OperatorError::WrongStatus { status, .. }) => assert_eq!(status, "CANCELLED"),
        other => panic!("re-queue of a CANCELLED action: {other:?}"),
    }
    assert!(matches!(engine.cancel(999_999, &Actor::system("ops")).await, Err(OperatorError::NotFound(999_999))));
}

async fn list_filters_and_pages(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    for i in 0..25 {
        engine.enqueue("POST_SOCIAL", &format!("page-{i:02}"), &payload("x")).await.unwrap();
    }
    let cancelled = engine.db().action_by_key("page-07").await.unwrap().unwrap().id;
    engine.cancel(cancelled, &Actor::system("ops")).await.unwrap();
    let page = |f: ActionFilter| {
        let db = ctx.db.clone();
        async move { db.actions_page(&f, 10).await.unwrap().iter().map(|a| a.idempotency_key.clone()).collect::<Vec<_>>() }
    };
    let first = page(ActionFilter::default()).await;
    assert_eq!(first.first().map(String::as_str), Some("page-24"), "newest first");
    assert_eq!(first.len(), 10);
    let last_id = ctx.db.action_by_key(first.last().unwrap()).await.unwrap().unwrap().id;
    let second = page(ActionFilter { before_id: Some(last_id), ..Default::default() }).await;
    assert_eq!(second.first().map(String::as_str), Some("page-14"), "the next page starts right after");
    assert!(second.iter().all(|k| !first.contains(k)));

    let by_status = page(ActionFilter { status: Some("CANCELLED".into()), ..Default::default() }).await;
    assert_eq!(by_status, vec!["page-07"]);
    let by_key = page(ActionFilter { key: Some("page-03".into()), ..Default::default() }).await;
    assert_eq!(by_key, vec!["page-03"]);
    let by_type = page(ActionFilter { action_type: Some("OTHER".into()), ..Default::default() }).await;
    assert!(by_type.is_empty());
    // One of another type (written below the engine's checks) is all its type finds.
    let other = aol::storage::NewAction::pending("other-1", "OTHER", r#"{"text":"x"}"#, Utc::now());
    ctx.db.action_insert(&other, Utc::now()).await.unwrap();
    let by_type = page(ActionFilter { action_type: Some("OTHER".into()), ..Default::default() }).await;
    assert_eq!(by_type, ["other-1"]);
    let posts = page(ActionFilter { action_type: Some("POST_SOCIAL".into()), ..Default::default() }).await;
    assert_eq!(posts.first().map(String::as_str), Some("page-24"));
    let typed_page =
        ActionFilter { action_type: Some("POST_SOCIAL".into()), before_id: Some(last_id), ..Default::default() };
    assert_eq!(page(typed_page).await, second, "a type filter pages as the plain list does");
    let both =
        page(ActionFilter { status: Some("PENDING".into()), key: Some("page-07".into()), ..Default::default() }).await;
    assert!(both.is_empty(), "filters combine");
}

/// The counts the dashboard reads come from trigger-kept counters: after every
/// kind of status change they must equal a real COUNT(*).
async fn counters_match_a_real_count(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    for i in 0..12 {
        engine.enqueue("POST_SOCIAL", &format!("c{i}"), &payload("x")).await.unwrap();
    }
    let epoch = lead(&engine).await;
    let claimed = ctx.db.actions_claim(&engine.fence(epoch), 8).await.unwrap();
    let log = NewLog::new(LogLevel::Info, "x");
    for (n, a) in claimed.iter().enumerate() {
        let finish = match n % 4 {
            0 => Finish::Success,
            1 => Finish::Failed { error: "no".into() },
            2 => Finish::Retry { error: "later".into(), not_before: Utc::now(), max_attempts: 1 },
            _ => Finish::Unclaim,
        };
        ctx.db.action_finish(&engine.fence(epoch), a.id, &finish, &log).await.unwrap().unwrap();
    }
    let failed = claimed[1].id;
    engine.requeue(failed, &Actor::system("ops")).await.unwrap();
    let pending = ctx.db.actions_recent(Some("PENDING"), 1).await.unwrap()[0].id;
    engine.cancel(pending, &Actor::system("ops")).await.unwrap();
    engine.enqueue("POST_SOCIAL", "c0", &payload("dup")).await.unwrap();

    let real: Vec<(String, i64)> =
        ctx.fetch_all_raw("SELECT status, COUNT(*) FROM aol_actions GROUP BY status ORDER BY status").await;
    let counted: Vec<(String, i64)> =
        ctx.db.action_counts().await.unwrap().into_iter().map(|c| (c.status, c.count)).collect();
    assert_eq!(counted, real);
    assert!(counted.len() >= 5, "the workload reached several statuses: {counted:?}");

    // Folding PostgreSQL's deltas changes no count and leaves a row per name.
    ctx.db.counters_fold().await.unwrap();
    let folded: Vec<(String, i64)> =
        ctx.db.action_counts().await.unwrap().into_iter().map(|c| (c.status, c.count)).collect();
    assert_eq!(folded, real);
    assert_eq!(ctx.db.counters_rows().await.unwrap(), 11, "10 statuses and the ledger");
}

/// Keeps the fence type in use for readers: claims are always fenced.
fn _fence_type(_: Fence<'_>) {}

on_both_databases!(
    enqueue_action,
    concurrent_duplicates_make_one_row,
    bad_input_is_refused_and_nothing_written,
    dequeue_next,
    retry_waits_for_its_time,
    mark_success_failed_retry_and_dlq,
    unstarted_claims_go_back_uncounted,
    two_claimers_never_share_an_action,
    operator_requeue_and_cancel,
    list_filters_and_pages,
    counters_match_a_real_count,
);
