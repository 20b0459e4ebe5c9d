//! Control flags: changes are stored with who/why, recorded in the history,
//! seen at once in-process and within a second by another process.

mod common;

use std::time::Duration;

use aol::model::{Flag, FlagCommand};
use aol::storage::Actor;
use chrono::{TimeZone, Utc};
use common::TestCtx;

fn ops() -> aol::engine::Actor {
    aol::engine::Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)).because(Some("test"))
}

fn actor(who: &str) -> Actor<'_> {
    Actor { who, reason: Some("test") }
}

async fn set_round_trips_and_records_history(ctx: TestCtx) {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::TimeDelta::microseconds(123_456);
    let flags = ctx.db.flags_set(Flag::Paused, true, at, &actor("alice")).await.unwrap().expect("changed");
    assert!(flags.paused && !flags.killed && flags.proof_mode);
    assert_eq!(flags.updated_at_utc, at, "timestamps read back exactly");
    assert_eq!(flags.updated_by, "alice");
    assert_eq!(flags.reason.as_deref(), Some("test"));
    assert_eq!(ctx.db.flags_get().await.unwrap(), flags);

    let history = ctx.db.flag_changes_recent(10).await.unwrap();
    assert_eq!(history.len(), 1);
    let h = &history[0];
    assert_eq!((h.flag.as_str(), h.old_value, h.new_value), ("paused", false, true));
    assert_eq!((h.changed_by.as_str(), h.changed_at_utc), ("alice", at));
}

async fn setting_the_same_value_writes_nothing(ctx: TestCtx) {
    let now = Utc::now();
    assert!(ctx.db.flags_set(Flag::ProofMode, true, now, &actor("bob")).await.unwrap().is_none());
    assert!(ctx.db.flag_changes_recent(10).await.unwrap().is_empty());
    let flags = ctx.db.flags_get().await.unwrap();
    assert_eq!((flags.updated_by.as_str(), flags.version), ("migration", 0));
}

/// Each change counts on the row, so a process can tell an older read of
/// it from a newer one however they land (engine::Engine::observe_flags).
async fn each_change_counts_on_the_row(ctx: TestCtx) {
    let now = Utc::now();
    let stale = ctx.db.flags_get().await.unwrap();
    let real = ctx.db.flags_set(Flag::ProofMode, false, now, &actor("ana")).await.unwrap().expect("changed");
    assert_eq!(real.version, stale.version + 1);
    let proof = ctx.db.flags_set(Flag::ProofMode, true, now, &actor("ana")).await.unwrap().expect("changed");
    assert_eq!(proof.version, stale.version + 2);
    assert!(ctx.db.flags_set(Flag::ProofMode, true, now, &actor("ana")).await.unwrap().is_none());
    assert_eq!(ctx.db.flags_get().await.unwrap(), proof, "no change, no count");
    assert!(proof.replaces(&real) && !real.replaces(&proof) && !stale.replaces(&proof));
}

async fn every_command_sets_its_flag(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    for command in FlagCommand::ALL {
        let (flag, value) = command.target();
        let outcome = engine.apply_flag_command(command, &ops()).await.unwrap();
        assert_eq!(flag.value_in(&outcome.flags), value, "{command:?}");
        assert_eq!(flag.value_in(&ctx.db.flags_get().await.unwrap()), value, "{command:?} in the database");
    }
    // pause, resume, kill, revive, real (proof was already on) -> 5 changes
    assert_eq!(ctx.db.flag_changes_recent(100).await.unwrap().len(), 5);
    let again = engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();
    assert!(!again.changed);
}

async fn in_process_subscribers_see_a_change_at_once(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let mut rx = engine.subscribe_flags();
    engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    assert!(rx.has_changed().unwrap(), "no notification after the command returned");
    assert!(rx.borrow_and_update().killed);
}

async fn another_process_sees_a_change_within_a_second(ctx: TestCtx) {
    // Two engines on one database stand for two processes.
    let here = common::engine(&ctx.db).await;
    let other_db = aol::storage::Db::connect(&ctx.url).await.unwrap();
    let there = common::engine(&other_db).await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let watcher = there.spawn_flag_watcher(shutdown.clone());
    let mut rx = there.subscribe_flags();

    here.apply_flag_command(FlagCommand::Pause, &ops()).await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(1), rx.wait_for(|f| f.paused)).await.is_ok();
    assert!(seen, "the other engine did not see the pause within 1 s");

    shutdown.cancel();
    watcher.await.unwrap();
    other_db.close().await;
}

on_both_databases!(
    set_round_trips_and_records_history,
    setting_the_same_value_writes_nothing,
    each_change_counts_on_the_row,
    every_command_sets_its_flag,
    in_process_subscribers_see_a_change_at_once,
    another_process_sees_a_change_within_a_second,
);

#[test]
fn flag_commands_parse_and_refuse_unknown_words() {
    for c in FlagCommand::ALL {
        assert_eq!(c.as_str().parse::<FlagCommand>().unwrap(), c);
    }
    let err = "stop".parse::<FlagCommand>().unwrap_err();
    assert!(err.contains("pause, resume, kill, revive, proof, real"), "{err}");
}
