//! Groups in the chain (the rest of tests/audit.rs, in the same test
//! binary): an enqueue's and the daemon's results' rows name their actions
//! in order, and large groups beside another process's appends keep one
//! chain.

use aol::engine::{Actor, NewItem};
use aol::model::LogLevel;
use aol::storage::{AuditCheck, AuditRow, Finish, NewLog};

use crate::common::{self, TestCtx};
use crate::on_both_databases;

/// Enqueues of every kind of call, with keys and an actor beyond ASCII:
/// each call's new actions share one `enqueued` row that names them and
/// their keys in the items' order, at its first new action's place; a
/// known key has its own row; each action's trail finds its call's row;
/// the chain verifies (on PostgreSQL a call whose keys are all new is
/// chained in the server, migrations 0025 and 0029; one with a known key
/// the long way, in AOL).
async fn enqueued_rows_name_their_actions_and_chain(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let ops = Actor::system("tëst-ø");
    let payload = serde_json::json!({"text": "café ☕"}).as_object().unwrap().clone();
    let keys: Vec<String> = (0..70).map(|i| format!("clé-{i}-ß")).collect();
    let big: Vec<NewItem> = keys.iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let one: Vec<NewItem> = ["ü-0"].iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let few: Vec<NewItem> = ["ü-1", "ü-2", "ü-3"].iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let mixed: Vec<NewItem> =
        ["clé-0-ß", "n-1", "clé-1-ß", "n-2"].iter().map(|k| NewItem::new("POST_SOCIAL", k, &payload)).collect();
    let mut calls = Vec::new();
    for items in [&big, &one, &few, &mixed] {
        let outcomes = engine.enqueue_many(&ops, items).await.unwrap();
        calls.push(outcomes.into_iter().map(|o| o.unwrap()).collect::<Vec<_>>());
    }
    let ids = |call: &[aol::engine::Enqueued]| call.iter().map(|e| e.action.id).collect::<Vec<i64>>();
    assert_eq!(ids(&calls[3])[0], ids(&calls[0])[0], "a known key finds its action");
    assert_eq!(ids(&calls[3])[2], ids(&calls[0])[1]);
    let counts = ctx.db.action_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 76);

    let rows = ctx.db.audit_rows_after(0, 1_000).await.unwrap();
    let shown: Vec<(&str, Option<i64>, Vec<i64>)> =
        rows.iter().map(|r| (r.event.as_str(), r.action_id, r.enqueued_actions())).collect();
    let (n1, n2) = (ids(&calls[3])[1], ids(&calls[3])[3]);
    assert_eq!(
        shown,
        vec![
            ("enqueued", Some(ids(&calls[0])[0]), ids(&calls[0])),
            ("enqueued", Some(ids(&calls[1])[0]), ids(&calls[1])),
            ("enqueued", Some(ids(&calls[2])[0]), ids(&calls[2])),
            ("enqueue_duplicate", Some(ids(&calls[0])[0]), vec![]),
            ("enqueued", Some(n1), vec![n1, n2]),
            ("enqueue_duplicate", Some(ids(&calls[0])[1]), vec![]),
        ]
    );
    assert!(rows.iter().all(|r| r.actor == ops.who()));
    // A call of one keeps the row it always had; a call of more lists its actions.
    let item = |key: &str| {
        format!(r#"{{"channel":null,"key":"{key}","policy":null,"status":"PENDING","type":"POST_SOCIAL"}}"#)
    };
    assert_eq!(rows[1].data_json, item("ü-0"));
    let listed: Vec<String> = ["ü-1", "ü-2", "ü-3"].iter().map(|k| item(k)).collect();
    let few_ids: Vec<String> = ids(&calls[2]).iter().map(i64::to_string).collect();
    assert_eq!(rows[2].data_json, format!(r#"{{"actions":[{}],"ids":[{}]}}"#, listed.join(","), few_ids.join(",")));
    let big_data: serde_json::Value = serde_json::from_str(&rows[0].data_json).unwrap();
    let big_keys: Vec<&str> =
        big_data["actions"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(big_keys, keys.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(rows[4].data_json, format!(r#"{{"actions":[{},{}],"ids":[{n1},{n2}]}}"#, item("n-1"), item("n-2")));

    // Each action's trail begins with its call's row.
    for (call, row) in [(&calls[0], &rows[0]), (&calls[1], &rows[1]), (&calls[2], &rows[2])] {
        for e in call {
            let story = ctx.db.audit_of_action(e.action.id).await.unwrap();
            assert_eq!(story.first().map(|r| r.id), Some(row.id), "action {}", e.action.id);
            let found = aol::model::AuditFind { action_id: Some(e.action.id), limit: 10, ..Default::default() };
            assert!(ctx.db.audit_find(&found).await.unwrap().iter().any(|r| r.id == row.id));
        }
    }
    let db = &ctx.db;
    let story = |id| async move { db.audit_of_action(id).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>() };
    assert_eq!(story(n2).await, vec![rows[4].id]);
    assert_eq!(story(ids(&calls[0])[1]).await, vec![rows[0].id, rows[5].id], "its call's row, then its duplicate");
    match ctx.db.audit_verify().await.unwrap() {
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, 6),
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
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, 1 + 72, "the call's row, then the results'"),
        broken => panic!("{broken:?}"),
    }
}

/// Large groups from callers at once (on PostgreSQL several statements at
/// a time, chained in the server: migration 0025), another process's
/// appends between them: one chain, each call's `enqueued` row once,
/// naming each action once.
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
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, 4 * 5 + 20 + 3, "every event, in one chain"),
        broken => panic!("{broken:?}"),
    }
    let rows = ctx.db.audit_rows_after(0, 5_000).await.unwrap();
    let mut named: Vec<i64> = rows.iter().flat_map(|r| r.enqueued_actions()).collect();
    assert_eq!(named.len(), 1_900);
    named.sort_unstable();
    named.dedup();
    assert_eq!(named.len(), 1_900, "each action named by one enqueued row");
    let counts = ctx.db.action_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 1_900);
}

on_both_databases!(
    large_groups_and_other_writers_keep_one_chain,
    results_rows_name_their_actions_and_chain,
    enqueued_rows_name_their_actions_and_chain,
);
