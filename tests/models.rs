//! SPEC §6 "models": each of the five tables' rows is written and read back
//! exactly (times to the microsecond), on SQLite and PostgreSQL.

mod common;

use aol::engine::lease::DAEMON_LEASE;
use aol::model::{Flag, LogLevel, TickStatus};
use aol::storage::{Actor, Fence, Inserted, NewAction, NewLog, NewTick};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::TestCtx;

fn at(micros: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap() + TimeDelta::microseconds(micros)
}

async fn control_flags_round_trip(ctx: TestCtx) {
    let actor = Actor { who: "op:anna", reason: Some("maintenance window") };
    ctx.db.flags_set(Flag::Killed, true, at(1), &actor).await.unwrap().unwrap();
    ctx.db.flags_set(Flag::ProofMode, false, at(2), &actor).await.unwrap().unwrap();
    let f = ctx.db.flags_get().await.unwrap();
    assert_eq!((f.paused, f.killed, f.proof_mode), (false, true, false));
    assert_eq!(
        (f.updated_at_utc, f.updated_by.as_str(), f.reason.as_deref()),
        (at(2), "op:anna", Some("maintenance window"))
    );
}

async fn tick_ledger_round_trip(ctx: TestCtx) {
    ctx.db.lease_acquire(DAEMON_LEASE, "h:1:a", at(0), at(30_000_000)).await.unwrap().unwrap();
    let fence = Fence { lease: DAEMON_LEASE, owner: "h:1:a", epoch: 1, now: at(5) };
    let tick = NewTick {
        started_at_utc: at(10),
        finished_at_utc: at(999_999),
        status: TickStatus::Partial,
        actions_attempted: 3,
        actions_succeeded: 2,
        notes: "3 attempted, 2 succeeded; 1 to retry",
    };
    let id = ctx.db.tick_insert(&fence, &tick).await.unwrap().unwrap();
    let row = ctx.db.ticks_recent(1).await.unwrap().remove(0);
    assert_eq!(row.id, id);
    assert_eq!((row.started_at_utc, row.finished_at_utc), (at(10), at(999_999)));
    assert_eq!((row.status.as_str(), row.actions_attempted, row.actions_succeeded), ("PARTIAL", 3, 2));
    assert_eq!((row.notes.as_str(), row.daemon_owner.as_str(), row.lease_epoch), (tick.notes, "h:1:a", Some(1)));
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 1);
}

async fn lease_round_trip(ctx: TestCtx) {
    let lease = ctx.db.lease_acquire(DAEMON_LEASE, "h:2:b", at(7), at(30_000_007)).await.unwrap().unwrap();
    let read = ctx.db.lease_get(DAEMON_LEASE).await.unwrap().unwrap();
    assert_eq!(read, lease);
    assert_eq!((read.name.as_str(), read.owner.as_str(), read.epoch), (DAEMON_LEASE, "h:2:b", 1));
    assert_eq!((read.acquired_at_utc, read.renewed_at_utc, read.expires_at_utc), (at(7), at(7), at(30_000_007)));
}

async fn action_round_trip(ctx: TestCtx) {
    let payload = r#"{"channel":"main","text":"Grüße ✓ \"quoted\""}"#;
    let new = NewAction { channel: Some("main"), ..NewAction::pending("key ✓ 1", "POST_SOCIAL", payload, at(3)) };
    let Inserted::New(a) = ctx.db.action_insert(&new, at(1)).await.unwrap() else { panic!("a new key") };
    assert_eq!(
        (a.idempotency_key.as_str(), a.action_type.as_str(), a.payload_json.as_str()),
        ("key ✓ 1", "POST_SOCIAL", payload)
    );
    assert_eq!((a.status.as_str(), a.attempts, a.last_error.as_deref(), a.lease_epoch), ("PENDING", 0, None, None));
    assert_eq!((a.not_before_utc, a.created_at_utc, a.updated_at_utc), (at(3), at(1), at(1)));
    assert_eq!(ctx.db.action_get(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(ctx.db.action_by_key("key ✓ 1").await.unwrap(), Some(a));
}

async fn execution_log_round_trip(ctx: TestCtx) {
    let new = NewAction::pending("k", "POST_SOCIAL", "{}", at(0));
    let a = ctx.db.action_insert(&new, at(0)).await.unwrap().into_action().unwrap();
    let mut log = NewLog::new(LogLevel::Warning, "artifact written");
    log.artifact_ref = Some("/var/aol/artifacts/proof_social/k-0123.json".into());
    log.artifact_sha256 = Some("ab".repeat(32));
    ctx.db.log_append(a.id, at(42), &log).await.unwrap();
    let rows = ctx.db.logs_for_action(a.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.action_id, r.ts_utc, r.level.as_str(), r.message.as_str()),
        (a.id, at(42), "WARNING", "artifact written")
    );
    assert_eq!(r.artifact_ref, log.artifact_ref);
    assert_eq!(r.artifact_sha256, log.artifact_sha256);
}

on_both_databases!(
    control_flags_round_trip,
    tick_ledger_round_trip,
    lease_round_trip,
    action_round_trip,
    execution_log_round_trip,
);

mod activity {
    use super::*;
    use aol::engine::{Clock, Engine, Registry};

    /// The chart's data: the last hour of ticks, summed per minute.
    async fn tick_activity_buckets_the_last_hour(ctx: TestCtx) {
        let now = at(0) + TimeDelta::hours(3);
        let engine = Engine::new(ctx.db.clone(), Clock::manual(now), Registry::empty()).await.unwrap();
        ctx.db.lease_acquire(DAEMON_LEASE, "h", at(0), now + TimeDelta::hours(1)).await.unwrap().unwrap();
        let tick = |started, attempted, succeeded| NewTick {
            started_at_utc: started,
            finished_at_utc: started,
            status: TickStatus::Success,
            actions_attempted: attempted,
            actions_succeeded: succeeded,
            notes: "",
        };
        let fence = Fence { lease: DAEMON_LEASE, owner: "h", epoch: 1, now };
        for (ago, attempted, succeeded) in [(7200, 9, 9), (1800, 2, 1), (1790, 3, 3), (10, 1, 0)] {
            let t = tick(now - TimeDelta::seconds(ago), attempted, succeeded);
            ctx.db.tick_insert(&fence, &t).await.unwrap().unwrap();
        }
        // The window's first instant, and either side of a minute's edge
        // (four minutes in exactly, and a millisecond before).
        let first = now - TimeDelta::seconds(7) - TimeDelta::minutes(59);
        let edge = first + TimeDelta::minutes(4);
        for (started, attempted) in [(first, 100), (edge, 1_000), (edge - TimeDelta::milliseconds(1), 10_000)] {
            ctx.db.tick_insert(&fence, &tick(started, attempted, 0)).await.unwrap().unwrap();
        }
        let buckets = engine.tick_activity().await.unwrap();
        assert_eq!(buckets.len(), 60);
        assert_eq!(
            (buckets[0].ticks, buckets[0].attempted),
            (1, 100),
            "the window's first instant is its first minute"
        );
        assert_eq!((buckets[3].attempted, buckets[4].attempted), (10_000, 1_000), "a minute starts at its edge");
        let edges: i64 = 100 + 1_000 + 10_000;
        assert!(buckets.windows(2).all(|w| w[1].minute_utc - w[0].minute_utc == TimeDelta::minutes(1)));
        assert_eq!(buckets.iter().map(|b| b.ticks).sum::<i64>(), 6, "the tick two hours ago is left out");
        assert_eq!(buckets.iter().map(|b| b.attempted).sum::<i64>(), 6 + edges);
        assert_eq!(buckets.iter().map(|b| b.succeeded).sum::<i64>(), 4);
        let half_hour_ago = buckets.iter().find(|b| b.ticks == 2).unwrap();
        assert_eq!((half_hour_ago.attempted, half_hour_ago.succeeded), (5, 4), "two ticks in the same minute add up");
        // "now" is hh:06:07; the tick 10 s earlier started at hh:05:57, in the minute before the current one.
        assert_eq!(buckets[58].attempted, 1);
        assert_eq!(buckets[59].minute_utc, now - TimeDelta::seconds(7));
    }

    on_both_databases!(tick_activity_buckets_the_last_hour);
}
