//! Groups in the chain (the rest of tests/audit.rs, in the same test
//! binary): an enqueue's and the daemon's results' rows name their actions
//! in order, and large groups beside another process's appends keep one
//! chain.

use aol::engine::{Actor, NewItem};
use aol::model::LogLevel;
use aol::storage::{AuditCheck, AuditRow, Finish, NewLog};

use crate::common::{self, TestCtx};
use crate::on_both_databases;

/// Enqueues of every kind of group, with keys and an actor beyond ASCII:
/// each new action's `enqueued` row names it and its key, in the items'
/// order, and the chain verifies (on PostgreSQL a group whose keys are all
/// new is chained in the server, migration 0025; one with a known key the
/// long way).
async fn enqueued_rows_name_their_actions_and_chain(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let ops = Actor::system("tëst-ø");
    let payload = serde_json::json!({"text": "café ☕"}).as_object().unwrap().clone();
    let keys: Vec<String> = (0..70).map(|i| format!("clé-{i}-ß")).collect();
    let big: Vec<NewItem> = keys.iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let few: Vec<NewItem> = ["ü-1", "ü-2", "ü-3"].iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let mixed: Vec<NewItem> =
        ["n-1", "clé-0-ß", "n-2"].iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let mut enqueued = Vec::new();
    for items in [&big, &few, &mixed] {
        let outcomes = engine.enqueue_many(&ops, items).await.unwrap();
        enqueued.extend(outcomes.into_iter().map(|o| o.unwrap()));
    }
    let duplicates: Vec<bool> = enqueued.iter().map(|e| e.duplicate).collect();
    assert_eq!(duplicates.iter().filter(|d| **d).count(), 1);
    assert!(duplicates[74], "the known key of the last group");
    assert_eq!(enqueued[74].action.id, enqueued[0].action.id);
    let counts = ctx.db.action_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 75);

    let rows = ctx.db.audit_rows_after(0, 1_000).await.unwrap();
    assert_eq!(rows.len(), 76);
    for (row, e) in rows.iter().zip(&enqueued) {
        let event = if e.duplicate { "enqueue_duplicate" } else { "enqueued" };
        assert_eq!((row.event.as_str(), row.action_id), (event, Some(e.action.id)), "row {}", row.id);
        assert_eq!(row.actor, ops.who());
        let data: serde_json::Value = serde_json::from_str(&row.data_json).unwrap();
        assert_eq!(data["key"], e.action.idempotency_key.as_str(), "row {}", row.id);
    }
    match ctx.db.audit_verify().await.unwrap() {
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, 76),
        broken => panic!("{broken:?}"),
    }
}

/// A group of attempts' results appends one event per result written, in
/// the results' order, in the results' transaction, whether people are
/// told of an event (a failure) or not; a result no longer the term's
/// writes none, and writing the same results again appends nothing.
async fn results_rows_name_their_actions_and_chain(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let payload = serde_json::json!({"text": "x"}).as_object().unwrap().clone();
    let keys: Vec<String> = (0..73).map(|i| format!("r-{i}")).collect();
    let items: Vec<NewItem> = keys.iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let ids: Vec<i64> = engine
        .enqueue_many(&Actor::system("ops"), &items)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.unwrap().action.id)
        .collect();
    let epoch = engine.lease_acquire(std::time::Duration::from_secs(30)).await.unwrap().expect("lease").epoch;
    let fence = engine.fence(epoch);
    assert_eq!(ctx.db.actions_claim(&fence, 100).await.unwrap().len(), 73);
    let gone = ids[7];
    ctx.execute_raw(&format!("UPDATE aol_actions SET status = 'CANCELLED' WHERE id = {gone}")).await;

    // 70 made their PROOF artifacts (a group large enough to commit before
    // it waits for the disk: storage::durable); of the last three, one failed.
    let line = |id: i64, event: &'static str| {
        NewLog::new(LogLevel::Info, format!("café ☕ {id}"))
            .with_artifact(format!("{id:064x}"), format!("artifact {id}").into_bytes())
            .event(event, None)
    };
    let (big, small) = ids.split_at(70);
    let big_lines: Vec<NewLog> = big.iter().map(|id| line(*id, "succeeded")).collect();
    let small_lines: Vec<NewLog> =
        vec![line(small[0], "succeeded"), line(small[1], "failed"), line(small[2], "succeeded")];
    let failed = Finish::Failed { error: "refused".into() };
    let small_finish = [&Finish::Success, &failed, &Finish::Success];
    let big_results: Vec<(i64, &Finish, &NewLog)> =
        big.iter().rev().zip(big_lines.iter().rev()).map(|(id, log)| (*id, &Finish::Success, log)).collect();
    let small_results: Vec<(i64, &Finish, &NewLog)> =
        small.iter().zip(small_finish).zip(&small_lines).map(|((id, f), log)| (*id, f, log)).collect();
    assert_eq!(ctx.db.actions_finish(&fence, &big_results).await.unwrap().len(), 69);
    assert_eq!(ctx.db.actions_finish(&fence, &small_results).await.unwrap().len(), 3);
    for results in [&big_results, &small_results] {
        assert!(ctx.db.actions_finish(&fence, results).await.unwrap().is_empty(), "finished already");
    }

    let rows = ctx.db.audit_rows_after(0, 1_000).await.unwrap();
    let ended: Vec<&AuditRow> = rows.iter().filter(|r| r.event != "enqueued").collect();
    let expected: Vec<(i64, &str)> = big_results
        .iter()
        .chain(&small_results)
        .filter(|(id, _, _)| *id != gone)
        .map(|(id, _, log)| (*id, log.event))
        .collect();
    let got: Vec<(i64, &str)> = ended.iter().map(|r| (r.action_id.unwrap(), r.event.as_str())).collect();
    assert_eq!(got, expected, "one event per result written, in the results' order");
    for row in &ended {
        let id = row.action_id.unwrap();
        assert_eq!(row.actor, "aol:daemon");
        let data: serde_json::Value = serde_json::from_str(&row.data_json).unwrap();
        assert_eq!(data["message"], format!("café ☕ {id}"));
        assert_eq!(
            (data["epoch"].as_i64(), data["sha256"].as_str()),
            (Some(epoch), Some(format!("{id:064x}").as_str()))
        );
    }
    assert!(ctx.db.audit_of_action(gone).await.unwrap().iter().all(|r| r.event == "enqueued"));
    match ctx.db.audit_verify().await.unwrap() {
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, 73 + 72),
        broken => panic!("{broken:?}"),
    }
}

/// Large groups from callers at once (on PostgreSQL several statements at
/// a time, chained in the server: migration 0025), another process's
/// appends between them: one chain, each action's `enqueued` row once.
async fn large_groups_and_other_writers_keep_one_chain(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let other = aol::storage::Db::connect(&ctx.url).await.unwrap();
    let other = common::engine(&other).await;
    let payload = serde_json::json!({"text": "x"}).as_object().unwrap().clone();
    let mut tasks = Vec::new();
    for caller in 0..4 {
        let (engine, payload) = (engine.clone(), payload.clone());
        tasks.push(tokio::spawn(async move {
            let ops = Actor::system(&format!("caller-{caller}"));
            for b in 0..5 {
                let keys: Vec<String> = (0..80).map(|i| format!("c{caller}-{b}-{i}")).collect();
                let items: Vec<NewItem> = keys.iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
                for outcome in engine.enqueue_many(&ops, &items).await.unwrap() {
                    assert!(!outcome.unwrap().duplicate);
                }
            }
        }));
    }
    let between = tokio::spawn(async move {
        for i in 0..20 {
            other.audit("elsewhere", None, "note", serde_json::json!({"i": i})).await;
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    });
    for task in tasks {
        task.await.unwrap();
    }
    between.await.unwrap();
    // And one caller alone.
    let ops = Actor::system("alone");
    for b in 0..3 {
        let keys: Vec<String> = (0..100).map(|i| format!("alone-{b}-{i}")).collect();
        let items: Vec<NewItem> = keys.iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
        engine.enqueue_many(&ops, &items).await.unwrap();
    }
    match ctx.db.audit_verify().await.unwrap() {
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, 4 * 5 * 80 + 20 + 300, "every event, in one chain"),
        broken => panic!("{broken:?}"),
    }
    let rows = ctx.db.audit_rows_after(0, 5_000).await.unwrap();
    let mut named: Vec<i64> = rows.iter().filter(|r| r.event == "enqueued").map(|r| r.action_id.unwrap()).collect();
    named.sort_unstable();
    named.dedup();
    assert_eq!(named.len(), 1_900, "one enqueued row per action");
    let counts = ctx.db.action_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 1_900);
}

on_both_databases!(
    large_groups_and_other_writers_keep_one_chain,
    results_rows_name_their_actions_and_chain,
    enqueued_rows_name_their_actions_and_chain,
);
