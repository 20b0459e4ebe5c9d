//! What a REAL post to Bluesky adds over PROOF: one POST_SOCIAL per tick on a
//! Bluesky channel, through the daemon, in PROOF (the prepared request written
//! as the artifact) and in REAL (putRecord to the reference server on this
//! machine, `scripts/pds/run.sh`, with its session kept between posts).

use std::time::{Duration, Instant};

use aol::engine::channels::ChannelRequest;
use aol::engine::{daemon, DaemonSettings, Engine};
use aol::model::FlagCommand;
use aol::storage::Actor;
use tokio_util::sync::CancellationToken;

use crate::common::{Backend, TestDb};
use crate::local_pds::LocalPds;
use crate::report::{Results, Target};

const OPS: Actor<'static> = Actor { who: "bench", reason: None };

pub async fn run(backend: Backend, posts: usize, results: &mut Results) {
    let pds = LocalPds::start();
    let t = TestDb::migrated(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = crate::common::engine_in(&t.db, &dir.path().join("artifacts")).await;
    let secret = dir.path().join("app-password");
    std::fs::write(&secret, &pds.app_password).unwrap();
    let channel = ChannelRequest {
        name: "bench".into(),
        kind: "bluesky".into(),
        url: pds.url.clone(),
        handle: Some(pds.handle.clone()),
        secret_file: Some(secret.display().to_string()),
        ..Default::default()
    };
    engine.channel_add(&channel, &OPS).await.unwrap();
    engine.channel_arm("bench", true, &OPS).await.unwrap();
    // Posts go out without waiting for an operator's approval (the policy a
    // Bluesky channel starts with is require_approval).
    engine.policy_set("bench", "POST_SOCIAL", aol::model::Policy::Auto, &OPS).await.unwrap();
    let db = crate::db_name(backend);
    let mut medians = Vec::new();
    for (mode, command) in [("PROOF", FlagCommand::Proof), ("REAL", FlagCommand::Real)] {
        engine.apply_flag_command(command, &OPS).await.unwrap();
        // One post first (REAL: the session is made then, and kept).
        post_one(&engine, &format!("warm-{mode}")).await;
        let mut samples = Vec::with_capacity(posts);
        for i in 0..posts {
            samples.push(post_one(&engine, &format!("{mode}-{i}")).await);
        }
        let metric = format!("one post per tick, {mode} (bluesky channel)");
        results.add(db, &metric, None, &samples, "ms", Target::None);
        medians.push(crate::support::quantile(&crate::support::sorted(&samples), 0.5));
    }
    results.add(
        db,
        "REAL to the local PDS adds over PROOF (medians)",
        None,
        &[medians[1] - medians[0]],
        "ms",
        Target::None,
    );
    t.remove().await;
}

/// Enqueues one post and runs one tick; the tick's time in ms (checked SUCCESS).
async fn post_one(engine: &Engine, key: &str) -> f64 {
    let payload = serde_json::json!({ "channel": "bench", "text": format!("Benchmark post {key}") });
    let id = engine.enqueue("POST_SOCIAL", key, payload.as_object().unwrap()).await.unwrap().action.id;
    let settings = DaemonSettings { max_ticks: Some(1), tick_interval: Duration::ZERO, ..Default::default() };
    let started = Instant::now();
    daemon::run(engine, &settings, &CancellationToken::new()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = engine.db().action_get(id).await.unwrap().unwrap().status;
    assert_eq!(status, "SUCCESS", "{key}");
    ms
}
