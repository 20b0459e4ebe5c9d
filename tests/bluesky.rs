//! REAL posts to Bluesky against the reference server (`@atproto/pds` with
//! its PLC, started here by `scripts/pds/run.sh`): a post appears exactly
//! once however often it is sent; text over 300 graphemes is refused at
//! enqueue; and `aol daemon`, killed with SIGKILL after its post was made but
//! before it heard the answer, 20 times over, still leaves exactly one record.

mod common;
mod local_pds;

use std::time::{Duration, Instant};

use aol::engine::Actor;
use aol::engine::Engine;
use aol::model::{Action, FlagCommand};
use common::{run_ticks, TestCtx};
use local_pds::{LocalPds, Relay};

fn ops() -> Actor {
    Actor::system("test")
}

fn post(text: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::json!({ "channel": "brand", "text": text }).as_object().unwrap().clone()
}

async fn reread(engine: &Engine, id: i64) -> Action {
    engine.db().action_get(id).await.unwrap().unwrap()
}

fn records_with(posts: &[serde_json::Value], text: &str) -> usize {
    posts.iter().filter(|p| p["value"]["text"] == text).count()
}

async fn a_post_appears_once_however_often_it_is_sent(ctx: TestCtx) {
    let pds = LocalPds::start();
    let relay = Relay::start(&pds.url).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine_in(&ctx.db, &dir.path().join("artifacts")).await;
    pds.add_channel(&engine, "brand", &relay.url, dir.path()).await;
    engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();

    // Bluesky's limit is 300 graphemes ("é" as e + combining accent is one).
    let long = "e\u{301}".repeat(301);
    let err = engine.enqueue("POST_SOCIAL", "too-long", &post(&long)).await.unwrap_err();
    assert!(err.to_string().contains("301 graphemes; bluesky takes at most 300"), "{err}");
    engine.enqueue("POST_SOCIAL", "just-fits", &post(&"e\u{301}".repeat(300))).await.unwrap();

    let text = format!("Hello from AOL ({})", ctx.backend_name());
    let action = engine.enqueue("POST_SOCIAL", "bsky-once", &post(&text)).await.unwrap().action;
    run_ticks(&engine, 1).await;
    let done = reread(&engine, action.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    let uri = done.remote_id.clone().unwrap();
    assert!(
        uri.starts_with("at://did:plc:")
            && uri.ends_with(&aol::engine::channels::record_key(done.created_at_utc, done.id)),
        "{uri}"
    );
    assert!(done.remote_url.clone().unwrap().starts_with(&format!("https://bsky.app/profile/{}/post/", pds.handle)));
    assert_eq!(records_with(&pds.posts().await, &text), 1);

    // The same key is the same action; and even if AOL lost what it knew and
    // sent the post again, the server keeps one record.
    assert!(engine.enqueue("POST_SOCIAL", "bsky-once", &post(&text)).await.unwrap().duplicate);
    for _ in 0..3 {
        ctx.execute_raw(&format!("UPDATE aol_actions SET status = 'PENDING' WHERE id = {}", action.id)).await;
        run_ticks(&engine, 1).await;
        let again = reread(&engine, action.id).await;
        assert_eq!(again.status, "SUCCESS", "{:?}", again.last_error);
        assert_eq!(again.remote_id.as_deref(), Some(uri.as_str()));
    }
    let logs = engine.db().logs_for_action(action.id).await.unwrap();
    assert!(logs.iter().any(|l| l.message.contains("already had this post")), "{logs:?}");
    assert_eq!(records_with(&pds.posts().await, &text), 1, "still exactly one record");

    // One session for all four sends; an expired one is refreshed, not made anew.
    assert_eq!(relay.called("com.atproto.server.createSession"), 1);
    *relay.expire_next.lock().unwrap() = true;
    let later = engine.enqueue("POST_SOCIAL", "bsky-later", &post("After the token expired")).await.unwrap().action;
    run_ticks(&engine, 1).await;
    assert_eq!(reread(&engine, later.id).await.status, "SUCCESS");
    assert_eq!(relay.called("com.atproto.server.refreshSession"), 1);
    assert_eq!(relay.called("com.atproto.server.createSession"), 1);
    assert_eq!(records_with(&pds.posts().await, "After the token expired"), 1);
}

async fn killed_between_send_and_mark_20_times_one_record(ctx: TestCtx) {
    let pds = LocalPds::start();
    let mut relay = Relay::start(&pds.url).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = common::engine_in(&ctx.db, &dir.path().join("artifacts")).await;
    pds.add_channel(&engine, "brand", &relay.url, dir.path()).await;
    let text = format!("Exactly once, whatever happens ({})", ctx.backend_name());
    *relay.hold.lock().unwrap() = true;

    let mut answers = Vec::new();
    let mut id = None;
    for round in 1..=20 {
        // The agent, not sure it was heard, enqueues the same key again.
        let enqueued = engine.enqueue("POST_SOCIAL", "bsky-crash", &post(&text)).await.unwrap();
        assert_eq!(enqueued.duplicate, round > 1);
        id = Some(enqueued.action.id);
        if round > 1 {
            // The worst case: AOL lost even its mark of the last send.
            ctx.execute_raw(&format!(
                "UPDATE aol_actions SET status = 'PENDING', sent_at_utc = NULL WHERE id = {}",
                enqueued.action.id
            ))
            .await;
        }
        let mut daemon = local_pds::start_daemon(&ctx.url, dir.path());
        let answer = tokio::time::timeout(Duration::from_secs(30), relay.posts.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "round {round}: no post within 30 s: {}",
                    std::fs::read_to_string(dir.path().join("daemon.log")).unwrap()
                )
            })
            .unwrap();
        // The server has answered; the daemon has not heard it: kill it now.
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        assert_eq!(answer.0, 200, "round {round}: {}", answer.1);
        answers.push(answer.1.contains("\"commit\""));
    }
    assert_eq!(answers.iter().filter(|made| **made).count(), 1, "the server wrote the record once: {answers:?}");

    // Left alone, a daemon finds the action it was sending and reads the post back.
    *relay.hold.lock().unwrap() = false;
    let mut daemon = local_pds::start_daemon(&ctx.url, dir.path());
    let id = id.unwrap();
    let started = Instant::now();
    let done = loop {
        let a = reread(&engine, id).await;
        if a.status == "SUCCESS" || started.elapsed() > Duration::from_secs(30) {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert_eq!(done.status, "SUCCESS", "{done:?}");
    let logs = engine.db().logs_for_action(id).await.unwrap();
    assert!(logs.iter().any(|l| l.message.starts_with("unconfirmed")), "the last kill left it UNCONFIRMED: {logs:?}");
    assert!(logs.iter().any(|l| l.message.starts_with("reconciled: the post is on the platform")), "{logs:?}");
    assert_eq!(records_with(&pds.posts().await, &text), 1, "exactly one record after 20 kills");
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    assert!(log.contains("daemon started"), "the daemon log was written: {log}");
    assert!(!log.contains(&pds.app_password), "the app password is in the daemon's log");
    eprintln!("bluesky crash test ({}): 20 kills between send and mark, 20 posts sent, 1 record", ctx.backend_name());
}

on_both_databases!(a_post_appears_once_however_often_it_is_sent, killed_between_send_and_mark_20_times_one_record);
