//! The change feed behind the dashboard's server-sent events: every write a
//! page shows moves the marker, and the feed tells subscribers within the 2 s
//! the SPEC allows, whichever process made the change.

mod common;

use std::time::Duration;

use aol::engine::Actor;
use aol::engine::{daemon, lease::DAEMON_LEASE, DaemonSettings, CHANGE_POLL_INTERVAL};
use aol::model::FlagCommand;
use aol::storage::{ChangeMarker, Db};
use chrono::{TimeDelta, Utc};
use common::TestCtx;
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn ops() -> Actor {
    Actor::system("test")
}

async fn marker(db: &Db) -> ChangeMarker {
    db.change_marker(DAEMON_LEASE).await.unwrap()
}

fn payload() -> serde_json::Map<String, serde_json::Value> {
    json!({ "text": "hello" }).as_object().unwrap().clone()
}

async fn every_visible_write_moves_the_marker(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let mut before = marker(&ctx.db).await;
    assert_eq!(marker(&ctx.db).await, before, "no write, same marker");

    let mut step = async |what: &str| {
        let after = marker(&ctx.db).await;
        assert_ne!(after, before, "{what} must move the marker");
        before = after;
    };
    let id = engine.enqueue("POST_SOCIAL", "k-1", &payload()).await.unwrap().action.id;
    step("an enqueue").await;
    engine.cancel(id, &Actor::system("test")).await.unwrap();
    step("a cancel").await;
    engine.apply_flag_command(FlagCommand::Pause, &ops()).await.unwrap();
    step("a flag change").await;
    let channel = aol::engine::channels::ChannelRequest {
        name: "hook".into(),
        kind: "webhook".into(),
        url: "https://hooks.example/aol".into(),
        secret_env: Some("AOL_SECRET_HOOK".into()),
        ..Default::default()
    };
    engine.channel_add(&channel, &ops()).await.unwrap();
    step("a channel added").await;
    engine.channel_arm("hook", true, &ops()).await.unwrap();
    step("a channel armed").await;
    engine.policy_set("hook", "POST_SOCIAL", aol::model::Policy::Auto, &ops()).await.unwrap();
    step("a policy set").await;
    let limits = aol::storage::RateLimits { max_per_hour: Some(5), ..Default::default() };
    engine.channel_limits("hook", &limits, &ops()).await.unwrap();
    step("rate limits set").await;
    let settings = DaemonSettings { tick_interval: Duration::from_millis(1), max_ticks: Some(1), ..Default::default() };
    daemon::run(&engine, &settings, &CancellationToken::new()).await;
    step("a tick (and the lease it took)").await;
    let now = Utc::now();
    ctx.db.lease_acquire(DAEMON_LEASE, "someone", now, now + TimeDelta::seconds(30)).await.unwrap();
    step("a new lease holder").await;
}

async fn lease_liveness_follows_the_clock(ctx: TestCtx) {
    let now = Utc::now();
    assert!(!marker(&ctx.db).await.lease_live(now), "no lease yet");
    ctx.db.lease_acquire(DAEMON_LEASE, "someone", now, now + TimeDelta::seconds(10)).await.unwrap();
    let m = marker(&ctx.db).await;
    assert!(m.lease_live(now + TimeDelta::seconds(9)));
    assert!(!m.lease_live(now + TimeDelta::seconds(10)), "expired exactly at its end");
}

/// Waits for the next change the feed reports, or says none came.
async fn next_change(rx: &mut watch::Receiver<u64>, within: Duration) -> bool {
    tokio::time::timeout(within, rx.changed()).await.is_ok_and(|r| r.is_ok())
}

async fn the_feed_reports_changes_made_by_another_process(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let shutdown = CancellationToken::new();
    let (feed, task) = engine.spawn_change_feed(shutdown.clone());
    let mut rx = feed.subscribe();
    tokio::time::sleep(CHANGE_POLL_INTERVAL * 2).await;
    rx.borrow_and_update();
    assert!(!next_change(&mut rx, CHANGE_POLL_INTERVAL * 4).await, "nothing was written, nothing reported");

    // Another handle on the same database stands for the CLI or another server.
    let other = Db::connect(&ctx.url).await.unwrap();
    let other_engine = common::engine(&other).await;
    other_engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    assert!(next_change(&mut rx, Duration::from_secs(2)).await, "a flag change made elsewhere");
    other_engine.enqueue("POST_SOCIAL", "k-2", &payload()).await.unwrap();
    assert!(next_change(&mut rx, Duration::from_secs(2)).await, "an enqueue made elsewhere");

    // A lease that runs out is a change no row records.
    let now = Utc::now();
    other.lease_acquire(DAEMON_LEASE, "someone", now, now + TimeDelta::milliseconds(800)).await.unwrap();
    assert!(next_change(&mut rx, Duration::from_secs(2)).await, "the lease was taken");
    assert!(next_change(&mut rx, Duration::from_secs(2)).await, "the lease ran out");
    other.close().await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), task).await.expect("the feed stops on shutdown").unwrap();
    assert!(feed.shutdown().is_cancelled());
}

on_both_databases!(
    every_visible_write_moves_the_marker,
    lease_liveness_follows_the_clock,
    the_feed_reports_changes_made_by_another_process,
);
