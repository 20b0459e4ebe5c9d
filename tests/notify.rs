//! Notifications (issue 21), on both databases: each event is written in the
//! transaction of its change (the outbox) and delivered by a task of its own:
//! a receiver answering 500 twice then 200 gets it three times with one id
//! while the post goes out on time; a hanging receiver holds nothing up; the
//! signature verifies with a standard-library script; a kill -9 between the
//! change and the delivery still delivers it after a restart.

mod common;
mod fake_platform;
mod real_setup;
#[path = "notify/restart.rs"]
mod restart;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aol::engine::notify::{DeliverySettings, NotifierRequest};
use aol::model::FlagCommand;
use axum::http::{HeaderMap, StatusCode};
use chrono::TimeDelta;
use common::{run_ticks, TestCtx};
use real_setup::{enqueue, ops, reread, sent, setup};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// What a receiver got: each request's headers and body.
type Got = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver on a loopback port answering `script` in turn (then 200);
/// `hang`: never answers.
async fn receiver(script: Vec<u16>, hang: bool) -> (String, Got) {
    let got: Got = Arc::default();
    let script = Arc::new(Mutex::new(script.into_iter()));
    let state = (got.clone(), script);
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                move |axum::extract::State((got, script)): axum::extract::State<(
                    Got,
                    Arc<Mutex<std::vec::IntoIter<u16>>>,
                )>,
                      headers: HeaderMap,
                      body: axum::body::Bytes| async move {
                    got.lock().unwrap().push((headers, body.to_vec()));
                    if hang {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    let status = script.lock().unwrap().next().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn notifier(name: &str, url: &str, events: &str) -> NotifierRequest {
    NotifierRequest {
        name: name.into(),
        url: url.into(),
        events: events.into(),
        secret_env: Some("AOL_SECRET_NOTIFY_TEST".into()),
        format: None,
    }
}

fn fast() -> DeliverySettings {
    DeliverySettings {
        every: Duration::from_millis(20),
        public_url: Some("https://aol.example.com".into()),
        ..Default::default()
    }
}

async fn wait_for(got: &Got, n: usize, what: &str) {
    for _ in 0..500 {
        if got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: {} deliveries, not {n}", got.lock().unwrap().len());
}

/// Waits until the first notification for `ops` has `n` failed tries recorded.
async fn failures_recorded(ctx: &TestCtx, n: i64) {
    for _ in 0..500 {
        if ctx.db.outbox_of("ops").await.unwrap()[0].attempts >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} failed tries were not recorded");
}

async fn a_receiver_failing_twice_gets_the_event_three_times_with_one_id(ctx: TestCtx) {
    std::env::set_var("AOL_SECRET_NOTIFY_TEST", "notify-test-secret");
    let s = setup(&ctx).await;
    let (url, got) = receiver(vec![500, 500], false).await;
    s.engine.notifier_add(&notifier("ops", &url, "awaiting_approval,posted,paused"), &ops()).await.unwrap();
    let stop = CancellationToken::new();
    let task = s.engine.spawn_notifications(fast(), stop.clone());

    // REAL mode, the channel wants approval: the post waits, and that is an event.
    let action = enqueue(&s.engine, "launch", "We launch today").await;
    assert_eq!(action.status, "AWAITING_APPROVAL");
    wait_for(&got, 1, "the first try").await;
    // The receiver fails; the post is approved and goes out at once all the same.
    s.engine.approve(action.id, None, &ops()).await.unwrap();
    run_ticks(&s.engine, 1).await;
    let posted = reread(&s.engine, action.id).await;
    assert_eq!(posted.status, "SUCCESS", "a failing receiver holds up no post");
    assert_eq!(sent(&s).len(), 1);
    // Retried with backoff (1 s, then 2 s on the engine's clock), in order:
    // the `posted` event waits behind the undelivered one of the same action.
    // Each try's failure is recorded before the clock moves, or the next try
    // would be due a backoff after the moved clock and never come.
    failures_recorded(&ctx, 1).await;
    s.clock.advance(TimeDelta::seconds(2));
    wait_for(&got, 2, "the second try").await;
    failures_recorded(&ctx, 2).await;
    s.clock.advance(TimeDelta::seconds(3));
    wait_for(&got, 4, "the third try, then `posted`").await;
    let deliveries = got.lock().unwrap().clone();
    let id = |h: &HeaderMap| h["x-aol-event-id"].to_str().unwrap().to_string();
    let event = |h: &HeaderMap| h["x-aol-event"].to_str().unwrap().to_string();
    assert_eq!(id(&deliveries[0].0), id(&deliveries[1].0));
    assert_eq!(id(&deliveries[1].0), id(&deliveries[2].0), "one id for the three tries");
    assert_eq!(
        deliveries.iter().map(|(h, _)| event(h)).collect::<Vec<_>>(),
        ["awaiting_approval", "awaiting_approval", "awaiting_approval", "posted"]
    );
    let body: Value = serde_json::from_slice(&deliveries[0].1).unwrap();
    assert_eq!(body["action_id"], action.id);
    assert_eq!(body["link"], format!("https://aol.example.com/actions/{}", action.id));
    assert_eq!(body["data"]["by"], "aol:enqueue", "who caused it: AOL itself in this test");
    assert_eq!(body["data"]["status"], "AWAITING_APPROVAL", "the enqueued event's own data, besides who");
    assert_eq!(body["data"]["key"], "launch");

    // The signature verifies with Python's standard library; a changed body does not.
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body");
    let verify = |body: &[u8]| {
        std::fs::write(&body_file, body).unwrap();
        std::process::Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/notify_verify.py"))
            .args(["notify-test-secret", deliveries[3].0["x-aol-signature"].to_str().unwrap()])
            .arg(&body_file)
            .status()
            .unwrap()
            .success()
    };
    assert!(verify(&deliveries[3].1), "the signature verifies");
    assert!(!verify(b"{\"event\":\"forged\"}"), "a forged body does not");

    // A flag change is an event too (no action).
    s.engine.apply_flag_command(FlagCommand::Pause, &ops()).await.unwrap();
    wait_for(&got, 5, "paused").await;
    // Received first, then recorded as delivered.
    let mut rows = ctx.db.outbox_of("ops").await.unwrap();
    for _ in 0..200 {
        if rows.iter().all(|r| r.delivered_at_utc.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        rows = ctx.db.outbox_of("ops").await.unwrap();
    }
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.delivered_at_utc.is_some()), "{rows:?}");
    assert_eq!(rows[0].attempts, 3);
    stop.cancel();
    task.await.unwrap();

    // Settled notifications go with the log lines (30 days); one still to deliver stays.
    s.engine.apply_flag_command(FlagCommand::Resume, &ops()).await.unwrap();
    s.engine.apply_flag_command(FlagCommand::Pause, &ops()).await.unwrap();
    s.clock.advance(TimeDelta::days(31));
    let pruned = s.engine.prune(&aol::engine::RetentionSettings::default()).await.unwrap();
    assert_eq!(pruned.notifications, 3);
    let left = ctx.db.outbox_of("ops").await.unwrap();
    assert_eq!((left.len(), left[0].event.as_str(), left[0].delivered_at_utc), (1, "paused", None));
}

async fn a_hanging_receiver_holds_nothing_up(ctx: TestCtx) {
    std::env::set_var("AOL_SECRET_NOTIFY_TEST", "notify-test-secret");
    let s = setup(&ctx).await;
    let (hanging, stuck) = receiver(vec![], true).await;
    let (good, got) = receiver(vec![], false).await;
    s.engine.notifier_add(&notifier("stuck", &hanging, "awaiting_approval,posted"), &ops()).await.unwrap();
    s.engine.notifier_add(&notifier("team", &good, "awaiting_approval,posted"), &ops()).await.unwrap();
    let stop = CancellationToken::new();
    let task = s.engine.spawn_notifications(fast(), stop.clone());
    let action = enqueue(&s.engine, "one", "One").await;
    wait_for(&stuck, 1, "the hanging receiver got its request").await;
    wait_for(&got, 1, "the other receiver, meanwhile").await;
    s.engine.approve(action.id, None, &ops()).await.unwrap();
    let started = std::time::Instant::now();
    run_ticks(&s.engine, 1).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the daemon waited on a receiver");
    assert_eq!(reread(&s.engine, action.id).await.status, "SUCCESS");
    wait_for(&got, 2, "`posted` to the other receiver").await;
    assert_eq!(stuck.lock().unwrap().len(), 1, "one request at a time to the hanging one");
    stop.cancel();
    task.await.unwrap();
}

async fn bad_notifiers_are_refused_and_write_nothing(ctx: TestCtx) {
    let s = setup(&ctx).await;
    for (request, says) in [
        (notifier("Bad Name", "https://x.example/h", "posted"), "invalid notifier name"),
        (notifier("a", "ftp://x.example/h", "posted"), "http(s) only"),
        (notifier("a", "https://x.example/h", "posted,tweeted"), "unknown event \"tweeted\""),
        (notifier("a", "https://x.example/h", ""), "no events"),
        (
            NotifierRequest {
                secret_env: Some("DATABASE_URL".into()),
                ..notifier("a", "https://x.example/h", "posted")
            },
            "AOL_SECRET_",
        ),
        (
            NotifierRequest { format: Some("xml".into()), ..notifier("a", "https://x.example/h", "posted") },
            "unknown format",
        ),
    ] {
        let e = s.engine.notifier_add(&request, &ops()).await.unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
    let viewer = aol::engine::Actor::new(aol::model::Principal::person("vic", aol::model::Role::Viewer));
    let e = s.engine.notifier_add(&notifier("a", "https://x.example/h", "posted"), &viewer).await.unwrap_err();
    assert!(e.to_string().contains("forbidden"), "{e}");
    assert!(ctx.db.notifiers().await.unwrap().is_empty());
}

async fn wait_for_secs(got: &Got, n: usize, secs: u64) {
    for _ in 0..secs * 100 {
        if got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} deliveries after {secs} s, not {n}", got.lock().unwrap().len());
}

async fn slack_hears_of_a_post_awaiting_approval_then_of_its_expiry(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let (url, got) = receiver(vec![], false).await;
    let request = NotifierRequest {
        format: Some("slack".into()),
        secret_env: None,
        ..notifier("team", &url, "awaiting_approval,approval_expiring")
    };
    s.engine.notifier_add(&request, &ops()).await.unwrap();
    let stop = CancellationToken::new();
    let task = s.engine.spawn_notifications(fast(), stop.clone());

    let action = enqueue(&s.engine, "launch", "We launch *today*").await;
    run_ticks(&s.engine, 1).await;
    wait_for(&got, 1, "awaiting_approval").await;
    let slack: Value = serde_json::from_slice(&got.lock().unwrap()[0].1).unwrap();
    let text = slack["text"].as_str().unwrap();
    assert!(text.contains(&format!("Post #{} is waiting for approval", action.id)), "{text}");
    assert!(text.contains("> We launch *today*"), "the post's text: {text}");
    assert!(text.contains(&format!("<https://aol.example.com/actions/{}|", action.id)), "a link to its page: {text}");

    // 22 h on (2 h before its wait runs out): said once, however many ticks.
    s.clock.advance(aol::engine::APPROVAL_TTL - aol::engine::APPROVAL_WARNING + TimeDelta::minutes(1));
    run_ticks(&s.engine, 3).await;
    wait_for(&got, 2, "approval_expiring").await;
    let slack: Value = serde_json::from_slice(&got.lock().unwrap()[1].1).unwrap();
    assert!(slack["text"].as_str().unwrap().contains("approval_expiring"), "{slack}");
    let events: Vec<String> = ctx.db.outbox_of("team").await.unwrap().into_iter().map(|r| r.event).collect();
    assert_eq!(events, ["awaiting_approval", "approval_expiring"], "once per wait");
    stop.cancel();
    task.await.unwrap();
}

async fn a_silent_daemon_is_said_once(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let (url, got) = receiver(vec![], false).await;
    s.engine.notifier_add(&notifier("ops", &url, "daemon_down"), &ops()).await.unwrap();
    run_ticks(&s.engine, 1).await;
    let stop = CancellationToken::new();
    let settings = DeliverySettings { daemon_interval: Some(Duration::from_secs(1)), ..fast() };
    let task = s.engine.spawn_notifications(settings, stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(got.lock().unwrap().is_empty(), "a tick just now: up");
    // No tick for three intervals: down, said once.
    s.clock.advance(TimeDelta::seconds(4));
    wait_for(&got, 1, "daemon_down").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rows = ctx.db.outbox_of("ops").await.unwrap();
    assert_eq!(rows.iter().map(|r| r.event.as_str()).collect::<Vec<_>>(), ["daemon_down"]);
    // Killed on purpose is not "down".
    run_ticks(&s.engine, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    s.clock.advance(TimeDelta::seconds(10));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(ctx.db.outbox_of("ops").await.unwrap().len(), 1);
    stop.cancel();
    task.await.unwrap();
}

async fn an_undeliverable_notification_is_dropped_when_too_old(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let (url, got) = receiver(vec![500; 1000], false).await;
    s.engine.notifier_add(&notifier("ops", &url, "paused"), &ops()).await.unwrap();
    let stop = CancellationToken::new();
    let settings = DeliverySettings { max_age: Duration::from_secs(3600), ..fast() };
    let task = s.engine.spawn_notifications(settings, stop.clone());
    s.engine.apply_flag_command(FlagCommand::Pause, &ops()).await.unwrap();
    wait_for(&got, 1, "the first try").await;
    // An hour and a minute on, still refused: dropped, counted, never sent again.
    s.clock.advance(TimeDelta::minutes(61));
    let mut row = ctx.db.outbox_of("ops").await.unwrap().remove(0);
    for _ in 0..200 {
        if row.dropped_at_utc.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        row = ctx.db.outbox_of("ops").await.unwrap().remove(0);
    }
    assert!(row.dropped_at_utc.is_some() && row.delivered_at_utc.is_none(), "{row:?}");
    let tries = got.lock().unwrap().len();
    s.clock.advance(TimeDelta::minutes(30));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(got.lock().unwrap().len(), tries, "a dropped notification is not tried again");
    let metrics = s.engine.metrics_text().await.unwrap();
    assert!(metrics.contains("aol_notifications_total{outcome=\"dropped\"} 1"), "{metrics}");
    stop.cancel();
    task.await.unwrap();
}

/// A delivery moves no row id the dashboard's change marker reads, yet the
/// change feed tells open pages at once, so the Notifications card's counts
/// refresh by themselves (even with no daemon ticking).
async fn a_delivery_refreshes_open_pages(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let (url, got) = receiver(vec![], false).await;
    s.engine.notifier_add(&notifier("team", &url, "posted"), &ops()).await.unwrap();
    let stop = CancellationToken::new();
    let (feed, feed_task) = s.engine.spawn_change_feed(stop.clone());
    s.engine.notifier_test("team", &ops()).await.unwrap();
    tokio::time::sleep(aol::engine::CHANGE_POLL_INTERVAL * 3).await;
    let marker = ctx.db.change_marker("aol_daemon").await.unwrap();
    let mut pages = feed.subscribe();
    pages.borrow_and_update();
    let task = s.engine.spawn_notifications(fast(), stop.clone());
    wait_for(&got, 1, "the test notification").await;
    tokio::time::timeout(Duration::from_secs(5), pages.changed())
        .await
        .expect("the change feed told open pages of the delivery")
        .unwrap();
    assert_eq!(
        ctx.db.change_marker("aol_daemon").await.unwrap(),
        marker,
        "no row id moved: the delivery itself was the change"
    );
    let status = s.engine.notifiers(&ops()).await.unwrap();
    assert_eq!(status[0].delivered, 1);
    stop.cancel();
    task.await.unwrap();
    feed_task.await.unwrap();
}

on_both_databases!(
    a_delivery_refreshes_open_pages,
    an_undeliverable_notification_is_dropped_when_too_old,
    slack_hears_of_a_post_awaiting_approval_then_of_its_expiry,
    a_silent_daemon_is_said_once,
    a_receiver_failing_twice_gets_the_event_three_times_with_one_id,
    a_hanging_receiver_holds_nothing_up,
    bad_notifiers_are_refused_and_write_nothing,
);
