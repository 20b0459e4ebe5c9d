//! The lease (SPEC §3, §6): first acquire, renewal by the same owner, refusal
//! of another owner while valid, takeover after expiry, the epoch as a fencing
//! token, and rescue of what a dead holder left RUNNING.

mod common;

use aol::engine::lease::DAEMON_LEASE;
use aol::model::LogLevel;
use aol::storage::{Chores, Fence, Finish, NewAction, NewLog, NewTick};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::TestCtx;

const TTL: TimeDelta = TimeDelta::seconds(30);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn secs(n: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(n)
}

async fn first_acquire(ctx: TestCtx) {
    let lease = ctx.db.lease_acquire(DAEMON_LEASE, "a", t0(), t0() + TTL).await.unwrap().expect("free lease");
    assert_eq!((lease.owner.as_str(), lease.epoch), ("a", 1));
    assert_eq!(lease.acquired_at_utc, t0());
    assert_eq!(lease.expires_at_utc, t0() + TTL);
    assert_eq!(ctx.db.lease_get(DAEMON_LEASE).await.unwrap(), Some(lease));
}

async fn renew_by_same_owner(ctx: TestCtx) {
    ctx.db.lease_acquire(DAEMON_LEASE, "a", t0(), t0() + TTL).await.unwrap().unwrap();
    let renewed = ctx.db.lease_renew(DAEMON_LEASE, "a", 1, secs(5), secs(5) + TTL).await.unwrap().expect("renewed");
    assert_eq!(renewed.epoch, 1, "a renewal keeps the term");
    assert_eq!(renewed.acquired_at_utc, t0());
    assert_eq!(renewed.renewed_at_utc, secs(5));
    assert_eq!(renewed.expires_at_utc, secs(35));
    // Acquiring again while holding it is a renewal too.
    let again = ctx.db.lease_acquire(DAEMON_LEASE, "a", secs(10), secs(10) + TTL).await.unwrap().unwrap();
    assert_eq!((again.epoch, again.acquired_at_utc), (1, t0()));
}

async fn other_owner_refused_while_valid(ctx: TestCtx) {
    ctx.db.lease_acquire(DAEMON_LEASE, "a", t0(), t0() + TTL).await.unwrap().unwrap();
    assert!(ctx.db.lease_acquire(DAEMON_LEASE, "b", secs(29), secs(29) + TTL).await.unwrap().is_none());
    assert!(ctx.db.lease_renew(DAEMON_LEASE, "b", 1, secs(29), secs(59)).await.unwrap().is_none());
    assert!(!ctx.db.lease_release(DAEMON_LEASE, "b", 1, secs(29)).await.unwrap());
    assert_eq!(ctx.db.lease_get(DAEMON_LEASE).await.unwrap().unwrap().owner, "a");
}

async fn takeover_after_expiry(ctx: TestCtx) {
    ctx.db.lease_acquire(DAEMON_LEASE, "a", t0(), t0() + TTL).await.unwrap().unwrap();
    let b = ctx.db.lease_acquire(DAEMON_LEASE, "b", secs(30), secs(60)).await.unwrap().expect("expired lease taken");
    assert_eq!((b.owner.as_str(), b.epoch, b.acquired_at_utc), ("b", 2, secs(30)));
    // The old holder can neither renew nor release the new term.
    assert!(ctx.db.lease_renew(DAEMON_LEASE, "a", 1, secs(31), secs(61)).await.unwrap().is_none());
    assert!(!ctx.db.lease_release(DAEMON_LEASE, "a", 1, secs(31)).await.unwrap());
}

async fn epoch_grows_on_every_new_term(ctx: TestCtx) {
    let db = &ctx.db;
    assert_eq!(db.lease_acquire(DAEMON_LEASE, "a", t0(), secs(30)).await.unwrap().unwrap().epoch, 1);
    assert!(db.lease_release(DAEMON_LEASE, "a", 1, secs(1)).await.unwrap());
    // Released: another takes it at once, with a new epoch.
    assert_eq!(db.lease_acquire(DAEMON_LEASE, "b", secs(2), secs(32)).await.unwrap().unwrap().epoch, 2);
    // Expired and taken back by the same owner: still a new term.
    assert_eq!(db.lease_acquire(DAEMON_LEASE, "b", secs(40), secs(70)).await.unwrap().unwrap().epoch, 3);
    assert_eq!(db.lease_acquire(DAEMON_LEASE, "a", secs(70), secs(100)).await.unwrap().unwrap().epoch, 4);
}

fn fence(owner: &str, epoch: i64, now: DateTime<Utc>) -> Fence<'_> {
    Fence { lease: DAEMON_LEASE, owner, epoch, now }
}

async fn enqueue(ctx: &TestCtx, key: &str, at: DateTime<Utc>) -> i64 {
    let new = NewAction::pending(key, "POST_SOCIAL", r#"{"text":"x"}"#, at);
    ctx.db.action_insert(&new, at).await.unwrap().into_action().unwrap().id
}

/// A daemon whose term was taken over (it froze past its TTL) writes nothing.
async fn stale_holder_cannot_write(ctx: TestCtx) {
    let db = &ctx.db;
    let id = enqueue(&ctx, "k1", t0()).await;
    let other = enqueue(&ctx, "k2", t0()).await;
    db.lease_acquire(DAEMON_LEASE, "a", t0(), secs(30)).await.unwrap().unwrap();
    let claimed = db.actions_claim(&fence("a", 1, secs(1)), 1).await.unwrap();
    assert_eq!(claimed.iter().map(|a| a.id).collect::<Vec<_>>(), vec![id]);

    // "a" freezes; "b" takes over after expiry.
    db.lease_acquire(DAEMON_LEASE, "b", secs(31), secs(61)).await.unwrap().unwrap();

    // "a" wakes and tries every kind of write with its old term: none lands.
    let stale = fence("a", 1, secs(32));
    let log = NewLog::new(LogLevel::Info, "stale");
    assert!(db.action_finish(&stale, id, &Finish::Success, &log).await.unwrap().is_none());
    assert!(db.action_finish(&stale, id, &Finish::Failed { error: "x".into() }, &log).await.unwrap().is_none());
    assert!(!db.action_log_if_mine(&stale, id, &log).await.unwrap());
    assert!(db.actions_claim(&stale, 10).await.unwrap().is_empty());
    assert!(db.actions_rescue(&stale, 3).await.unwrap().is_empty());
    let tick = NewTick {
        started_at_utc: secs(32),
        finished_at_utc: secs(32),
        status: aol::model::TickStatus::Success,
        actions_attempted: 1,
        actions_succeeded: 1,
        notes: "stale",
    };
    assert!(db.tick_insert(&stale, &tick).await.unwrap().is_none());
    // Even with a clock that claims the old term is still valid, the epoch fences it.
    assert!(db.action_finish(&fence("a", 1, secs(10)), id, &Finish::Success, &log).await.unwrap().is_none());

    let action = db.action_get(id).await.unwrap().unwrap();
    assert_eq!((action.status.as_str(), action.attempts), ("RUNNING", 1));
    assert!(db.logs_for_action(id).await.unwrap().is_empty());
    assert_eq!(db.action_get(other).await.unwrap().unwrap().status, "PENDING");
    assert_eq!(db.ticks_count().await.unwrap(), 0);

    // The new holder can write.
    assert!(db.tick_insert(&fence("b", 2, secs(33)), &tick).await.unwrap().is_some());
}

async fn new_holder_rescues_what_a_dead_one_left_running(ctx: TestCtx) {
    let db = &ctx.db;
    let id = enqueue(&ctx, "k1", t0()).await;
    db.lease_acquire(DAEMON_LEASE, "a", t0(), secs(30)).await.unwrap().unwrap();
    db.actions_claim(&fence("a", 1, secs(1)), 1).await.unwrap();
    // "a" dies. "b" takes over and rescues.
    db.lease_acquire(DAEMON_LEASE, "b", secs(31), secs(61)).await.unwrap().unwrap();
    let rescued = db.actions_rescue(&fence("b", 2, secs(32)), 3).await.unwrap();
    assert_eq!(rescued, vec![id]);
    let action = db.action_get(id).await.unwrap().unwrap();
    assert_eq!(action.status, "RETRY");
    assert_eq!(action.attempts, 1, "the interrupted attempt counts");
    assert!(action.last_error.unwrap().contains("rescued"));
    assert_eq!(action.not_before_utc, secs(32), "due again at once");
    let logs = db.logs_for_action(id).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].level, "WARNING");
    // It can be claimed again by the new term.
    let again = db.actions_claim(&fence("b", 2, secs(33)), 5).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].attempts, again[0].lease_epoch), (2, Some(2)));
    // Its own RUNNING actions are not "rescued" by the same term.
    assert!(db.actions_rescue(&fence("b", 2, secs(34)), 3).await.unwrap().is_empty());
}

/// The tick's chores run only when [`chores_due`] says they have rows: each
/// flag must be true exactly when its write would change something.
async fn chores_due_says_which_writes_have_rows(ctx: TestCtx) {
    let db = &ctx.db;
    let ttl = TimeDelta::hours(24);
    // Asked at t0: warned from t0 + 20 h, expired from t0 + 24 h.
    let due = |epoch, now: DateTime<Utc>| db.chores_due(epoch, now, now - TimeDelta::hours(20), now - ttl);
    db.lease_acquire(DAEMON_LEASE, "a", t0(), t0() + TimeDelta::days(3)).await.unwrap().unwrap();
    assert_eq!(due(1, t0()).await.unwrap(), Chores::default(), "an empty queue has no chores");

    // Left RUNNING by term 1: term 2's rescue, not term 1's.
    let running = enqueue(&ctx, "running", t0()).await;
    assert_eq!(db.actions_claim(&fence("a", 1, t0()), 1).await.unwrap()[0].id, running);
    assert_eq!(due(1, t0()).await.unwrap(), Chores::default(), "a term's own RUNNING actions are not rescued");
    assert!(db.lease_release(DAEMON_LEASE, "a", 1, secs(1)).await.unwrap());
    let b = db.lease_acquire(DAEMON_LEASE, "b", secs(1), secs(1) + TimeDelta::days(3)).await.unwrap().unwrap();
    assert_eq!(due(b.epoch, secs(2)).await.unwrap(), Chores { rescue: true, ..Chores::default() });
    assert_eq!(db.actions_rescue(&fence("b", b.epoch, secs(2)), 3).await.unwrap(), vec![running]);
    assert_eq!(due(b.epoch, secs(2)).await.unwrap(), Chores::default());

    // A deadline: nothing until it passes.
    let late = NewAction { not_after_utc: Some(secs(60)), ..NewAction::pending("late", "POST_SOCIAL", "{}", secs(3)) };
    // Waiting for approval since t0 + 10 s.
    let asked = NewAction { status: "AWAITING_APPROVAL", ..NewAction::pending("asked", "POST_SOCIAL", "{}", secs(10)) };
    let late = db.action_insert(&late, secs(3)).await.unwrap().into_action().unwrap().id;
    let asked = db.action_insert(&asked, secs(10)).await.unwrap().into_action().unwrap().id;
    // Claim the rescued action away, so the rows below are the only ones due.
    let epoch = b.epoch;
    let f = |now| fence("b", epoch, now);
    db.actions_claim(&f(secs(20)), 1).await.unwrap();
    db.action_finish(&f(secs(20)), running, &Finish::Success, &NewLog::new(LogLevel::Info, "done")).await.unwrap();
    assert_eq!(due(epoch, secs(59)).await.unwrap(), Chores::default());
    assert_eq!(due(epoch, secs(60)).await.unwrap(), Chores { expire: true, ..Chores::default() });
    assert_eq!(db.actions_expire(&f(secs(60)), secs(60) - ttl).await.unwrap(), vec![late]);
    assert_eq!(due(epoch, secs(60)).await.unwrap(), Chores::default());

    // The approval's warning comes due 20 h after it was asked, once.
    let warn_at = secs(10) + TimeDelta::hours(20);
    assert_eq!(due(epoch, warn_at - TimeDelta::seconds(1)).await.unwrap(), Chores::default());
    assert_eq!(due(epoch, warn_at).await.unwrap(), Chores { warn: true, ..Chores::default() });
    let warned = db.actions_warn_expiring(&f(warn_at), warn_at - TimeDelta::hours(20), ttl).await.unwrap();
    assert_eq!(warned, vec![asked]);
    assert_eq!(due(epoch, warn_at).await.unwrap(), Chores::default(), "warned once per wait");
    // Unanswered for 24 h: expired.
    let expire_at = secs(10) + ttl;
    assert_eq!(due(epoch, expire_at).await.unwrap(), Chores { expire: true, ..Chores::default() });
    assert_eq!(db.actions_expire(&f(expire_at), expire_at - ttl).await.unwrap(), vec![asked]);
    assert_eq!(due(epoch, expire_at).await.unwrap(), Chores::default());
}

on_both_databases!(
    first_acquire,
    renew_by_same_owner,
    other_owner_refused_while_valid,
    takeover_after_expiry,
    epoch_grows_on_every_new_term,
    stale_holder_cannot_write,
    new_holder_rescues_what_a_dead_one_left_running,
    chores_due_says_which_writes_have_rows,
);
