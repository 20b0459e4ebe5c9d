//! The audit trail (issue 20), on both databases: a REAL post that waits for
//! approval leaves its whole story in the chain, each event in the
//! transaction of its change; altering, deleting or slipping in one row is
//! found at that row; writers at once keep one chain; an export verifies
//! with a Python script using the standard library alone.

mod common;
mod fake_platform;
#[path = "audit/groups.rs"]
mod groups;
mod real_setup;

use std::process::Command;

use aol::engine::{Actor, NewItem};
use aol::model::{FlagCommand, Principal, Role};
use aol::storage::{AuditCheck, AuditRow};
use common::{run_ticks, TestCtx};
use real_setup::{enqueue, reread, setup};

fn events(rows: &[AuditRow]) -> Vec<(String, String)> {
    rows.iter().map(|r| (r.actor.clone(), r.event.clone())).collect()
}

async fn an_approved_post_leaves_its_whole_story(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let ana = Actor::new(Principal::person("ana", Role::Approver));
    let action = enqueue(&s.engine, "story", "A post with a story").await;
    s.engine.enqueue("POST_SOCIAL", "story", &real_setup::post("A post with a story")).await.unwrap();
    s.engine.approve(action.id, None, &ana).await.unwrap();
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, action.id).await.status, "SUCCESS");

    let story = s.engine.audit_of_action(action.id).await.unwrap();
    let expected: Vec<(String, String)> = [
        ("aol:enqueue", "enqueued"),
        ("aol:enqueue", "enqueue_duplicate"),
        ("ana", "approved"),
        ("aol:daemon", "attempt_started"),
        ("aol:daemon", "request_sent"),
        ("aol:daemon", "succeeded"),
    ]
    .iter()
    .map(|(a, e)| (a.to_string(), e.to_string()))
    .collect();
    assert_eq!(events(&story), expected, "{story:#?}");
    let enqueued: serde_json::Value = serde_json::from_str(&story[0].data_json).unwrap();
    assert_eq!(enqueued["status"], "AWAITING_APPROVAL");
    let approved: serde_json::Value = serde_json::from_str(&story[2].data_json).unwrap();
    let sent: serde_json::Value = serde_json::from_str(&story[4].data_json).unwrap();
    assert_eq!(approved["sha256"], sent["sha256"], "the request sent is the one approved");
    let done: serde_json::Value = serde_json::from_str(&story[5].data_json).unwrap();
    assert!(done["remote_id"].is_string(), "{done}");

    // The channel's setup and the flag are in the chain too, before the post.
    let all = s.engine.db().audit_rows_after(0, 1000).await.unwrap();
    let kinds: Vec<&str> = all.iter().map(|r| r.event.as_str()).collect();
    for kind in ["channel", "flag"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    match s.engine.db().audit_verify().await.unwrap() {
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, all.len() as i64),
        broken => panic!("{broken:?}"),
    }
}

/// Some rows, then the chain as the database has it.
async fn some_history(ctx: &TestCtx) -> aol::engine::Engine {
    let engine = common::engine(&ctx.db).await;
    let ops = Actor::system("test");
    for key in ["a", "b", "c"] {
        let payload = serde_json::json!({"text": key}).as_object().unwrap().clone();
        engine.enqueue_many(&ops, &[NewItem::new("POST_SOCIAL", key, &payload)]).await.unwrap();
    }
    engine.apply_flag_command(FlagCommand::Pause, &ops).await.unwrap();
    engine.apply_flag_command(FlagCommand::Resume, &ops).await.unwrap();
    engine
}

async fn a_row_altered_deleted_or_slipped_in_is_found_at_that_row(ctx: TestCtx) {
    let engine = some_history(&ctx).await;
    let rows = engine.db().audit_rows_after(0, 100).await.unwrap();
    assert_eq!(rows.len(), 5);
    assert!(matches!(engine.db().audit_verify().await.unwrap(), AuditCheck::Intact { rows: 5, .. }));

    // Altered: one row says another person did it.
    ctx.execute_raw("UPDATE aol_audit SET actor = 'mallory' WHERE id = 2").await;
    let broken = engine.db().audit_verify().await.unwrap();
    assert!(
        matches!(broken, AuditCheck::Broken { id: 2, ref why } if why.contains("does not match its hash")),
        "{broken:?}"
    );
    ctx.execute_raw(&format!("UPDATE aol_audit SET actor = '{}' WHERE id = 2", rows[1].actor)).await;
    assert!(matches!(engine.db().audit_verify().await.unwrap(), AuditCheck::Intact { .. }));

    // Deleted: row 3 gone.
    ctx.execute_raw("DELETE FROM aol_audit WHERE id = 3").await;
    let broken = engine.db().audit_verify().await.unwrap();
    assert!(matches!(broken, AuditCheck::Broken { id: 4, ref why } if why.contains("missing")), "{broken:?}");
    let r = &rows[2];
    ctx.execute_raw(&format!(
        "INSERT INTO aol_audit (id, at_utc, actor, action_id, event, data_json, prev_hash, hash) \
         VALUES ({}, '{}', '{}', {}, '{}', '{}', '{}', '{}')",
        r.id,
        r.at_utc,
        r.actor,
        r.action_id.map_or("NULL".to_string(), |a| a.to_string()),
        r.event,
        r.data_json.replace('\'', "''"),
        r.prev_hash,
        r.hash
    ))
    .await;
    assert!(matches!(engine.db().audit_verify().await.unwrap(), AuditCheck::Intact { .. }));

    // Slipped in: a row after the last, with a hash computed the right way.
    let last = &rows[4];
    let at = "2026-12-02T10:00:00.000000Z";
    let bytes = aol::storage::audit::canonical(6, at, "ana", None, "flag", "{}");
    let hash = aol::storage::audit::chain(&last.hash, &bytes);
    ctx.execute_raw(&format!(
        "INSERT INTO aol_audit (id, at_utc, actor, action_id, event, data_json, prev_hash, hash) \
         VALUES (6, '{at}', 'ana', NULL, 'flag', '{{}}', '{}', '{hash}')",
        last.hash
    ))
    .await;
    let broken = engine.db().audit_verify().await.unwrap();
    assert!(matches!(broken, AuditCheck::Broken { id: 6, ref why } if why.contains("slipped in")), "{broken:?}");
    // And the last row removed: its end no longer matches its head.
    ctx.execute_raw("DELETE FROM aol_audit WHERE id >= 5").await;
    let broken = engine.db().audit_verify().await.unwrap();
    assert!(matches!(broken, AuditCheck::Broken { id: 5, .. }), "{broken:?}");
}

async fn writers_at_once_keep_one_chain(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let ops = Actor::system(&format!("writer-{writer}"));
            for i in 0..10 {
                let payload = serde_json::json!({"text": "x"}).as_object().unwrap().clone();
                let key = format!("w{writer}-{i}");
                engine.enqueue_many(&ops, &[NewItem::new("POST_SOCIAL", &key, &payload)]).await.unwrap();
                engine.audit(ops.who(), None, "note", serde_json::json!({"i": i})).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    match engine.db().audit_verify().await.unwrap() {
        AuditCheck::Intact { rows, .. } => assert_eq!(rows, 160, "every event, in one chain"),
        broken => panic!("{broken:?}"),
    }
}

async fn an_export_verifies_with_the_standard_library(ctx: TestCtx) {
    some_history(&ctx).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let aol = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_aol")).args(args).env("DATABASE_URL", &ctx.url).output().unwrap()
    };
    let out = aol(&["audit", "verify"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("intact, 5 rows, head "));
    let export = aol(&["audit", "export"]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    std::fs::write(&file, &export.stdout).unwrap();
    let python = |path: &std::path::Path| {
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/audit_verify.py"))
            .arg(path)
            .output()
            .unwrap()
    };
    let checked = python(&file);
    let said = String::from_utf8_lossy(&checked.stdout).to_string();
    assert!(checked.status.success(), "{said}");
    let (_, head) = ctx.db.audit_head().await.unwrap();
    assert_eq!(said.trim(), format!("intact, 5 rows, head {head}"));

    // One changed byte in the file: the script names the row.
    let text =
        String::from_utf8(export.stdout).unwrap().replacen("\"actor\":\"aol:test\"", "\"actor\":\"aol:tess\"", 1);
    std::fs::write(&file, text).unwrap();
    let checked = python(&file);
    assert_eq!(checked.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&checked.stdout).starts_with("broken at row 1"),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );

    // Broken in the database: the command says where, exit 1.
    ctx.execute_raw("UPDATE aol_audit SET data_json = '{}' WHERE id = 4").await;
    let out = aol(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("broken at row 4"));
}

async fn a_pruned_chain_still_verifies_from_its_checkpoint(ctx: TestCtx) {
    let clock = aol::engine::Clock::manual(chrono::Utc::now());
    let registry = aol::engine::Registry::standard();
    let engine = aol::engine::Engine::new(ctx.db.clone(), clock.clone(), registry).await.unwrap();
    let ops = Actor::system("test");
    for _ in 0..3 {
        engine.apply_flag_command(FlagCommand::Pause, &ops).await.unwrap();
        engine.apply_flag_command(FlagCommand::Resume, &ops).await.unwrap();
    }
    clock.advance(chrono::TimeDelta::days(10));
    engine.apply_flag_command(FlagCommand::Pause, &ops).await.unwrap();
    let keep_audit_5_days = aol::engine::RetentionSettings {
        audit: Some(std::time::Duration::from_secs(5 * 86_400)),
        ..aol::engine::RetentionSettings::default()
    };
    let pruned = engine.prune(&keep_audit_5_days).await.unwrap();
    assert_eq!(pruned.audit, 6, "the six old rows");
    let left = ctx.db.audit_rows_after(0, 100).await.unwrap();
    let ids: Vec<(i64, &str)> = left.iter().map(|r| (r.id, r.event.as_str())).collect();
    assert_eq!(ids, [(7, "flag"), (8, "audit_pruned")]);
    let checkpoint: serde_json::Value = serde_json::from_str(&left[1].data_json).unwrap();
    assert_eq!(
        (checkpoint["through"].as_i64(), checkpoint["hash"].as_str()),
        (Some(6), Some(left[0].prev_hash.as_str()))
    );
    assert!(matches!(ctx.db.audit_verify().await.unwrap(), AuditCheck::Intact { rows: 2, .. }));
    // Nothing is pruned by default.
    assert_eq!(engine.prune(&aol::engine::RetentionSettings::default()).await.unwrap().audit, 0);

    // The first row kept, removed as well: found.
    ctx.execute_raw("DELETE FROM aol_audit WHERE id = 7").await;
    let broken = ctx.db.audit_verify().await.unwrap();
    assert!(matches!(broken, AuditCheck::Broken { id: 8, .. }), "{broken:?}");
}

on_both_databases!(
    a_pruned_chain_still_verifies_from_its_checkpoint,
    an_approved_post_leaves_its_whole_story,
    a_row_altered_deleted_or_slipped_in_is_found_at_that_row,
    writers_at_once_keep_one_chain,
    an_export_verifies_with_the_standard_library,
);
