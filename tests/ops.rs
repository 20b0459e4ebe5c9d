//! `/healthz`, `/readyz` and `/metrics` over a real loopback server.

mod common;

use std::collections::HashMap;

use aol::engine::Actor;
use aol::engine::{daemon, DaemonSettings};
use aol::model::FlagCommand;
use common::{TestCtx, TestServer};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

async fn get(server: &TestServer, path: &str) -> (u16, String) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn health_and_readiness(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    assert_eq!(get(&server, "/healthz").await, (200, "ok".to_string()));
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "status": "ready" }));

    // A schema older than this build: not ready, and it says which migration is missing.
    let forget = "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
    ctx.execute_raw(forget).await;
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    let last = aol::storage::migration_names(ctx.db.dialect()).pop().unwrap();
    assert!(body.contains(&last), "{body} names {last}");

    // No database at all: not ready, no metrics, but the process is up.
    ctx.db.close().await;
    let (status, body) = get(&server, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("does not answer"), "{body}");
    assert_eq!(get(&server, "/metrics").await.0, 503);
    assert_eq!(get(&server, "/healthz").await.0, 200);
}

/// One sample line of the text format: name, labels, value.
type Samples = HashMap<String, f64>;

/// Parses the Prometheus text format strictly enough to catch a malformed
/// exposition: every sample belongs to a family with HELP and TYPE, every
/// value is a number. Keys are `name{labels}` as written.
fn parse(text: &str) -> Samples {
    let mut typed = HashMap::new();
    let mut helped = Vec::new();
    let mut samples = Samples::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.push(rest.split_once(' ').expect("HELP name text").0.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_string(), kind.to_string());
        } else {
            assert!(!line.starts_with('#'), "unexpected comment {line}");
            let (key, value) = line.rsplit_once(' ').expect("sample and value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number in {line}"));
            let name = key.split('{').next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| typed.get(*f).is_some_and(|k| k == "histogram")))
                .unwrap_or(name);
            assert!(typed.contains_key(family) && helped.iter().any(|h| h == family), "no HELP/TYPE for {line}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "{line}");
            samples.insert(key.to_string(), value);
        }
    }
    samples
}

fn sample(samples: &Samples, key: &str) -> f64 {
    *samples.get(key).unwrap_or_else(|| panic!("{key} missing from {:#?}", samples.keys().collect::<Vec<_>>()))
}

async fn metrics_report_the_queue_the_work_and_the_flags(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let engine = &server.engine;
    let payload = json!({ "text": "hi" }).as_object().unwrap().clone();
    for i in 0..4 {
        engine.enqueue("POST_SOCIAL", &format!("m-{i}"), &payload).await.unwrap();
    }
    engine.enqueue("POST_SOCIAL", "cancelled", &payload).await.unwrap();
    engine.cancel(5, &Actor::system("test")).await.unwrap();
    let settings = DaemonSettings {
        max_ticks: Some(2),
        max_actions_per_tick: 3,
        tick_interval: std::time::Duration::from_millis(1),
        ..DaemonSettings::default()
    };
    // The counters are this process's: the server's own engine does the work.
    daemon::run(engine, &settings, &CancellationToken::new()).await;
    engine.apply_flag_command(FlagCommand::Pause, &Actor::system("test")).await.unwrap();

    let response = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let s = parse(&response.text().await.unwrap());

    assert_eq!(sample(&s, r#"aol_queue_depth{status="SUCCESS"}"#), 4.0);
    assert_eq!(sample(&s, r#"aol_queue_depth{status="CANCELLED"}"#), 1.0);
    assert_eq!(sample(&s, r#"aol_queue_depth{status="PENDING"}"#), 0.0);
    assert_eq!(sample(&s, r#"aol_action_attempts_total{outcome="SUCCESS"}"#), 4.0);
    assert_eq!(sample(&s, r#"aol_ticks_total{status="SUCCESS"}"#), 2.0);
    assert_eq!(sample(&s, "aol_tick_duration_seconds_count"), 2.0);
    assert_eq!(sample(&s, r#"aol_tick_duration_seconds_bucket{le="+Inf"}"#), 2.0);
    assert!(sample(&s, "aol_tick_duration_seconds_sum") >= 0.0);
    assert_eq!(sample(&s, r#"aol_flag{flag="paused"}"#), 1.0);
    assert_eq!(sample(&s, r#"aol_flag{flag="killed"}"#), 0.0);
    assert_eq!(sample(&s, r#"aol_flag{flag="proof_mode"}"#), 1.0);
    assert_eq!(sample(&s, "aol_lease_epoch"), 1.0);
    assert_eq!(sample(&s, "aol_ledger_rows"), 2.0);
    let age = sample(&s, "aol_last_tick_age_seconds");
    assert!((0.0..30.0).contains(&age), "last tick {age} s ago");
    // The run ended and released the lease: nobody holds it now.
    assert!(!s.keys().any(|k| k.starts_with("aol_lease_holder{")), "{s:?}");

    let now = chrono::Utc::now();
    let lease = aol::engine::lease::DAEMON_LEASE;
    ctx.db.lease_acquire(lease, engine.identity(), now, now + chrono::TimeDelta::seconds(30)).await.unwrap();
    let s = parse(&reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap());
    let holder = format!(r#"aol_lease_holder{{owner="{}",this_process="true"}}"#, engine.identity());
    assert_eq!(sample(&s, &holder), 1.0);
    assert_eq!(sample(&s, "aol_lease_epoch"), 2.0);
}

on_both_databases!(health_and_readiness, metrics_report_the_queue_the_work_and_the_flags);
