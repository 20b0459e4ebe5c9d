//! Many at once: the daemon's group write of results, and an enqueue of a
//! batch (the rest of tests/queue.rs, in the same test binary).

use aol::engine::{Actor, EnqueueError, NewItem};
use aol::model::LogLevel;
use aol::storage::{Finish, NewLog};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use super::{lead, payload};
use crate::common::{self, TestCtx};
use crate::on_both_databases;

/// The daemon's group write: one call finishes several attempts of every
/// kind, each exactly as alone, and skips (writes nothing for) an action that
/// is no longer RUNNING under this term. Started lines likewise.
async fn group_write_finishes_each_as_alone(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let mut ids = Vec::new();
    for key in ["ok", "failed", "retry", "dlq", "unclaim", "cancelled-meanwhile"] {
        ids.push(engine.enqueue("POST_SOCIAL", key, &payload(key)).await.unwrap().action.id);
    }
    let epoch = lead(&engine).await;
    assert_eq!(ctx.db.actions_claim(&engine.fence(epoch), 10).await.unwrap().len(), 6);
    let gone = ids[5];
    ctx.execute_raw(&format!("UPDATE aol_actions SET status = 'CANCELLED' WHERE id = {gone}")).await;

    let line = |m: &str| NewLog::new(LogLevel::Info, m);
    let started: Vec<NewLog> = ids.iter().map(|id| line(&format!("started {id}"))).collect();
    let lines: Vec<(i64, &NewLog)> = ids.iter().copied().zip(started.iter()).collect();
    let mut written = ctx.db.actions_log_if_mine(&engine.fence(epoch), &lines).await.unwrap();
    written.sort();
    assert_eq!(written, ids[..5].to_vec(), "no line for the action that left RUNNING");

    let later = Utc::now() + TimeDelta::minutes(5);
    let finishes = [
        Finish::Success,
        Finish::Failed { error: "refused".into() },
        Finish::Retry { error: "busy".into(), not_before: later, max_attempts: 3 },
        Finish::Retry { error: "busy again".into(), not_before: later, max_attempts: 1 },
        Finish::Unclaim,
        Finish::Success,
    ];
    let logs: Vec<NewLog> = ids.iter().map(|id| line(&format!("ended {id}"))).collect();
    let results: Vec<(i64, &Finish, &NewLog)> =
        ids.iter().zip(finishes.iter()).zip(logs.iter()).map(|((id, f), l)| (*id, f, l)).collect();
    let done = ctx.db.actions_finish(&engine.fence(epoch), &results).await.unwrap();
    assert_eq!(done.len(), 5);

    let get = |id: i64| {
        let db = ctx.db.clone();
        async move { db.action_get(id).await.unwrap().unwrap() }
    };
    let shape = |a: &aol::model::Action| (a.status.clone(), a.attempts, a.last_error.clone());
    assert_eq!(shape(&get(ids[0]).await), ("SUCCESS".into(), 1, None));
    assert_eq!(shape(&get(ids[1]).await), ("FAILED".into(), 1, Some("refused".into())));
    let retry = get(ids[2]).await;
    assert_eq!(shape(&retry), ("RETRY".into(), 1, Some("busy".into())));
    assert_eq!(retry.not_before_utc.timestamp_micros(), later.timestamp_micros());
    assert_eq!(shape(&get(ids[3]).await), ("DLQ".into(), 1, Some("busy again".into())));
    assert_eq!(shape(&get(ids[4]).await), ("PENDING".into(), 0, None), "unclaim: attempt not counted");
    assert_eq!(get(gone).await.status, "CANCELLED", "the group write left it alone");
    for (n, id) in ids.iter().enumerate() {
        let messages: Vec<String> = ctx.db.logs_for_action(*id).await.unwrap().into_iter().map(|l| l.message).collect();
        let expected: Vec<String> =
            if n < 5 { vec![format!("started {id}"), format!("ended {id}")] } else { Vec::new() };
        assert_eq!(messages, expected, "action {id}: one started line, then its result's line");
    }
    // The same results again: all are finished now, nothing more is written.
    assert!(ctx.db.actions_finish(&engine.fence(epoch), &results).await.unwrap().is_empty());
    assert_eq!(ctx.db.logs_for_action(ids[0]).await.unwrap().len(), 2);
}

async fn a_batch_is_checked_whole_then_written_in_one_go(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let good = json!({ "text": "hi" }).as_object().unwrap().clone();
    let bad = json!({ "body": "no text" }).as_object().unwrap().clone();
    engine.enqueue("POST_SOCIAL", "known", &good).await.unwrap();
    let item = |key, payload| NewItem::new("POST_SOCIAL", key, payload);

    let refused =
        engine.enqueue_many(&Actor::system("test"), &[item("b-1", &good), item("b-2", &good), item("b-3", &bad)]).await;
    match refused {
        Err(EnqueueError::Item { index: 2, error }) => assert!(error.to_string().contains("\"text\""), "{error}"),
        other => panic!("expected item 2 to be refused: {other:?}"),
    }
    assert!(ctx.db.action_by_key("b-1").await.unwrap().is_none(), "nothing of a refused batch is written");

    let done = engine
        .enqueue_many(&Actor::system("test"), &[item("b-1", &good), item("known", &good), item("b-2", &good)])
        .await
        .unwrap();
    let outcomes: Vec<(String, bool)> =
        done.into_iter().map(|r| r.map(|e| (e.action.idempotency_key, e.duplicate)).unwrap()).collect();
    assert_eq!(outcomes, [("b-1".into(), false), ("known".into(), true), ("b-2".into(), false)]);
    assert_eq!(ctx.db.actions_recent(None, 10).await.unwrap().len(), 3);

    // Larger than one INSERT statement carries (SQLite binds 500 rows a
    // statement), with a key given twice and a known key in the first
    // statement (so that it adds fewer rows than it was given).
    let keys: Vec<String> = (0..1200).map(|i| format!("many-{i}")).collect();
    let mut items: Vec<NewItem> = keys.iter().map(|k| item(k, &good)).collect();
    items.insert(700, item("many-3", &good));
    items.insert(250, item("known", &good));
    let done = engine.enqueue_many(&Actor::system("test"), &items).await.unwrap();
    assert_eq!(done.len(), 1202);
    let done: Vec<_> = done.into_iter().map(Result::unwrap).collect();
    assert!(done.iter().enumerate().all(|(i, d)| d.action.idempotency_key == items[i].idempotency_key));
    assert!(!done[3].duplicate && done[701].duplicate && done[701].action.id == done[3].action.id);
    assert!(done[250].duplicate, "the known key finds its action");
    assert_eq!(done.iter().filter(|d| !d.duplicate).count(), 1200);
    let ids: Vec<i64> = done.iter().filter(|d| !d.duplicate).map(|d| d.action.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "new actions are numbered in the order given");
    // Each answer's id is the stored action of its key.
    let stored: std::collections::HashMap<i64, String> =
        ctx.db.actions_recent(None, 2000).await.unwrap().into_iter().map(|a| (a.id, a.idempotency_key)).collect();
    assert_eq!(stored.len(), 1203);
    for d in &done {
        assert_eq!(stored.get(&d.action.id), Some(&d.action.idempotency_key), "id {}", d.action.id);
    }

    // Batches between SQLite's statement sizes (padded with rows of nulls),
    // each with a known key: only the given actions are added, each answered
    // with its own id.
    for size in [9, 31, 40, 97] {
        let keys: Vec<String> = (0..size).map(|i| format!("size-{size}-{i}")).collect();
        let mut items: Vec<NewItem> = keys.iter().map(|k| NewItem::new("POST_SOCIAL", k, &good)).collect();
        items[1] = NewItem::new("POST_SOCIAL", "known", &good);
        let done: Vec<_> = engine
            .enqueue_many(&Actor::system("test"), &items)
            .await
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(done.iter().filter(|d| !d.duplicate).count(), size - 1, "{size}");
        for (d, item) in done.iter().zip(&items) {
            let stored = ctx.db.action_by_key(item.idempotency_key).await.unwrap().unwrap();
            assert_eq!((d.action.id, &d.action.idempotency_key), (stored.id, &stored.idempotency_key), "{size}");
        }
    }
    let total: usize = [9, 31, 40, 97].iter().map(|s| s - 1).sum();
    assert_eq!(ctx.db.actions_recent(None, 5000).await.unwrap().len(), 1203 + total, "no row of nulls was added");
}

on_both_databases!(group_write_finishes_each_as_alone, a_batch_is_checked_whole_then_written_in_one_go);
