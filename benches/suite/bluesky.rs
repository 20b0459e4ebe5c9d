//! What a REAL post to Bluesky adds over PROOF, and what an image adds to a
//! REAL post: one POST_SOCIAL per tick on a Bluesky channel, through the
//! daemon, in PROOF (the prepared requests written as the artifact) and in
//! REAL (putRecord to the reference server on this machine,
//! `scripts/pds/run.sh`, with its session kept between posts); then REAL
//! text posts and posts with one 200 KB image (uploadBlob, then putRecord),
//! taken in turn so both see the same machine.

use std::time::{Duration, Instant};

use aol::engine::Actor;
use aol::engine::{daemon, DaemonSettings, Engine};
use aol::model::FlagCommand;
use tokio_util::sync::CancellationToken;

use crate::common::{Backend, TestDb};
use crate::local_pds::LocalPds;
use crate::report::{Results, Target};

fn ops() -> Actor {
    Actor::system("bench")
}

pub async fn run(backend: Backend, posts: usize, results: &mut Results) {
    let pds = LocalPds::start();
    let t = TestDb::migrated(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = crate::common::engine_in(&t.db, &dir.path().join("artifacts")).await;
    // Posts go out without waiting for an operator's approval.
    pds.add_channel(&engine, "bench", &pds.url, dir.path()).await;
    let db = crate::db_name(backend);
    let mut medians = Vec::new();
    for (mode, command) in [("PROOF", FlagCommand::Proof), ("REAL", FlagCommand::Real)] {
        engine.apply_flag_command(command, &ops()).await.unwrap();
        // One post first (REAL: the session is made then, and kept).
        post_one(&engine, &format!("warm-{mode}"), None).await;
        let mut samples = Vec::with_capacity(posts);
        for i in 0..posts {
            samples.push(post_one(&engine, &format!("{mode}-{i}"), None).await);
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

    // Text posts and posts with one image, in turn; each image different (as posts' are).
    let (mut text, mut image) = (Vec::with_capacity(posts), Vec::with_capacity(posts));
    for i in 0..posts {
        text.push(post_one(&engine, &format!("text-{i}"), None).await);
        let sha = engine.media_add(&Actor::system("test"), &picture(i)).await.unwrap().info.sha256;
        image.push(post_one(&engine, &format!("image-{i}"), Some(&sha)).await);
    }
    results.add(
        db,
        "one REAL text post per tick, beside image posts (bluesky channel)",
        None,
        &text,
        "ms",
        Target::None,
    );
    results.add(db, "one REAL post with one 200 KB image per tick (bluesky channel)", None, &image, "ms", Target::None);
    let median = |v: &[f64]| crate::support::quantile(&crate::support::sorted(v), 0.5);
    results.add(
        db,
        "one 200 KB image adds to a REAL post (medians)",
        None,
        &[median(&image) - median(&text)],
        "ms",
        Target::None,
    );
    t.remove().await;
}

/// A PNG of about 200 KB, different for each `i` (a small image, then bytes
/// after its end, as a photo's metadata would be).
fn picture(i: usize) -> Vec<u8> {
    let mut bytes = include_bytes!("../../tests/fixtures/chart.png").to_vec();
    let mut x = i as u64 + 1;
    bytes.extend((0..200_000).map(|_| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 56) as u8
    }));
    bytes
}

/// Enqueues one post (with the stored image `image`, if given) and runs one
/// tick; the tick's time in ms (checked SUCCESS).
async fn post_one(engine: &Engine, key: &str, image: Option<&str>) -> f64 {
    let mut payload = serde_json::json!({ "channel": "bench", "text": format!("Benchmark post {key}") });
    if let Some(sha) = image {
        payload["images"] = serde_json::json!([{ "media": sha, "alt": "a chart" }]);
    }
    let id = engine.enqueue("POST_SOCIAL", key, payload.as_object().unwrap()).await.unwrap().action.id;
    let settings = DaemonSettings { max_ticks: Some(1), tick_interval: Duration::ZERO, ..Default::default() };
    let started = Instant::now();
    daemon::run(engine, &settings, &CancellationToken::new()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = engine.db().action_get(id).await.unwrap().unwrap().status;
    assert_eq!(status, "SUCCESS", "{key}");
    ms
}
