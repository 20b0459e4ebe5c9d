//! The audit trail over random runs (issue 20), on both databases: posts
//! enqueued, approved, rejected, edited, cancelled, re-queued and run in
//! random order against the platform stand-in (which sometimes fails);
//! afterwards every action in a final state has its whole story in the
//! chain (how it entered, each attempt that started ended, and the event of
//! its final state, by whom), and the chain verifies.

mod common;
mod fake_platform;
mod real_setup;

use aol::engine::Actor;
use aol::model::{Principal, Role};
use aol::storage::AuditCheck;
use common::{Backend, TestCtx, TestDb};
use fake_platform::Answer;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use real_setup::{post, setup};

#[derive(Clone, Debug)]
enum Op {
    Enqueue,
    Approve(usize),
    Reject(usize),
    Edit(usize),
    Cancel(usize),
    Requeue(usize),
    Tick,
    PlatformFails(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Enqueue),
        3 => (0usize..8).prop_map(Op::Approve),
        1 => (0usize..8).prop_map(Op::Reject),
        1 => (0usize..8).prop_map(Op::Edit),
        1 => (0usize..8).prop_map(Op::Cancel),
        1 => (0usize..8).prop_map(Op::Requeue),
        3 => Just(Op::Tick),
        1 => any::<bool>().prop_map(Op::PlatformFails),
    ]
}

/// The events that say an action reached its final status.
fn final_event(status: &str) -> &'static [&'static str] {
    match status {
        "SUCCESS" => &["succeeded", "settled"],
        "FAILED" => &["failed"],
        "DLQ" => &["dead_lettered"],
        "CANCELLED" => &["cancelled", "rejected"],
        "EXPIRED" => &["expired"],
        _ => &[],
    }
}

async fn run(ctx: &TestCtx, ops: &[Op]) {
    let s = setup(ctx).await;
    let (ana, ben) =
        (Actor::new(Principal::person("ana", Role::Approver)), Actor::new(Principal::person("ben", Role::Approver)));
    let mut ids: Vec<i64> = Vec::new();
    let pick = |ids: &[i64], n: usize| (!ids.is_empty()).then(|| ids[n % ids.len()]);
    for (i, op) in ops.iter().enumerate() {
        // Errors (a wrong status, four eyes) are part of the game: only what happened must be recorded.
        match op {
            Op::Enqueue => {
                let key = format!("model-{i}");
                ids.push(s.engine.enqueue("POST_SOCIAL", &key, &post(&format!("Post {i}"))).await.unwrap().action.id);
            }
            Op::Approve(n) => {
                if let Some(id) = pick(&ids, *n) {
                    let _ = s.engine.approve(id, None, if n % 2 == 0 { &ana } else { &ben }).await;
                }
            }
            Op::Reject(n) => {
                if let Some(id) = pick(&ids, *n) {
                    let _ = s.engine.reject(id, &ben).await;
                }
            }
            Op::Edit(n) => {
                if let Some(id) = pick(&ids, *n) {
                    let _ = s.engine.edit(id, &post(&format!("Edited {i}")), &ana).await;
                }
            }
            Op::Cancel(n) => {
                if let Some(id) = pick(&ids, *n) {
                    let _ = s.engine.cancel(id, &ben).await;
                }
            }
            Op::Requeue(n) => {
                if let Some(id) = pick(&ids, *n) {
                    let _ = s.engine.requeue(id, &ben).await;
                }
            }
            Op::Tick => common::run_ticks(&s.engine, 1).await,
            Op::PlatformFails(server_error) => {
                // The next request fails: for good (400), or maybe not (503).
                let code = if *server_error { 503 } else { 400 };
                s.platform.script([Answer::Raw(code, Vec::new(), r#"{"error":"no"}"#.into())]);
            }
        }
    }
    for id in ids {
        let action = s.engine.db().action_get(id).await.unwrap().unwrap();
        let story = s.engine.audit_of_action(id).await.unwrap();
        let events: Vec<&str> = story.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events.first(), Some(&"enqueued"), "action {id}: {events:?}");
        let started = events.iter().filter(|e| **e == "attempt_started").count();
        let ended = events
            .iter()
            .filter(|e| {
                [
                    "succeeded",
                    "failed",
                    "retry",
                    "dead_lettered",
                    "deferred",
                    "unconfirmed",
                    "awaiting_approval",
                    "expired",
                ]
                .contains(e)
            })
            .count();
        assert!(ended >= started, "action {id}: an attempt that started never ended: {events:?}");
        let wanted = final_event(&action.status);
        if !wanted.is_empty() {
            assert!(
                wanted.contains(events.last().unwrap()),
                "action {id} is {} but its story ends {events:?}",
                action.status
            );
        }
        for row in &story {
            if ["approved", "rejected", "cancelled", "requeued", "edited"].contains(&row.event.as_str()) {
                assert!(["ana", "ben"].contains(&row.actor.as_str()), "action {id}: {} by {}", row.event, row.actor);
            }
        }
    }
    assert!(matches!(s.engine.db().audit_verify().await.unwrap(), AuditCheck::Intact { .. }));
}

fn check(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(8);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        runtime.block_on(async {
            let t = TestDb::migrated(backend).await;
            let ctx = TestCtx { db: t.db.clone(), url: t.url.clone(), backend };
            run(&ctx, &ops).await;
            t.remove().await;
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn every_final_action_has_its_whole_story_on_sqlite() {
    check(Backend::Sqlite);
}

#[test]
fn every_final_action_has_its_whole_story_on_postgres() {
    check(Backend::Postgres);
}
