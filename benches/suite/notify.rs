//! The bell's delay: from a post's enqueue returning (REAL mode, its channel
//! wants approval, so it waits) to its `awaiting_approval` notification
//! arriving at a receiver on loopback, with the delivery task as `aol serve`
//! runs it (the outbox read every 0.25 s). One post at a time, each at a
//! random moment of the task's cycle (as posts come), not right after it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aol::engine::channels::ChannelRequest;
use aol::engine::notify::{DeliverySettings, NotifierRequest};
use aol::engine::Actor;
use aol::model::FlagCommand;

use crate::common::{Backend, TestDb};
use crate::report::{Results, Target};

pub async fn run(backend: Backend, posts: usize, results: &mut Results) {
    let t = TestDb::migrated(backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "bench-secret\n").unwrap();
    let engine = crate::common::engine_in(&t.db, &dir.path().join("artifacts")).await;
    let ops = Actor::system("bench");
    let channel = ChannelRequest {
        name: "brand".into(),
        kind: "webhook".into(),
        url: "https://hooks.example/brand".into(),
        secret_file: Some("secret".into()),
        ..Default::default()
    };
    engine.channel_add(&channel, &ops).await.unwrap();
    engine.apply_flag_command(FlagCommand::Real, &ops).await.unwrap();

    // The receiver notes when each event id arrived.
    let arrived: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let record = arrived.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
                record.lock().unwrap().insert(event["action_id"].as_i64().unwrap_or(-1), Instant::now());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let request = NotifierRequest {
        name: "team".into(),
        url,
        events: "awaiting_approval".into(),
        secret_env: None,
        format: None,
    };
    engine.notifier_add(&request, &ops).await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = engine.spawn_notifications(DeliverySettings::default(), stop.clone());

    let payload = serde_json::json!({ "channel": "brand", "text": "benchmark post" }).as_object().unwrap().clone();
    let mut delays = Vec::with_capacity(posts);
    for i in 0..posts {
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..250))).await;
        let done = engine.enqueue("POST_SOCIAL", &format!("bell-{i}"), &payload).await.unwrap();
        let enqueued = Instant::now();
        assert_eq!(done.action.status, "AWAITING_APPROVAL");
        let deadline = enqueued + Duration::from_secs(10);
        loop {
            if let Some(at) = arrived.lock().unwrap().get(&done.action.id) {
                delays.push(at.saturating_duration_since(enqueued).as_secs_f64() * 1000.0);
                break;
            }
            assert!(Instant::now() < deadline, "notification of action {} never arrived", done.action.id);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    stop.cancel();
    task.await.unwrap();
    let name = "notify: awaiting approval -> received (0.25 s outbox poll, 1 receiver)";
    results.add(crate::db_name(backend), name, Some(0), &delays, "ms", Target::None);
    t.remove().await;
}
