//! REAL posts to Mastodon and webhook channels (SPEC §7, issue 9), against a
//! stand-in server that answers as Mastodon documents and fails on demand:
//! the bytes sent are the PROOF artifact's; a webhook is signed; 429 waits
//! for the reset without using an attempt; a lost answer is UNCONFIRMED and
//! never sent again; the secret appears nowhere.

mod common;
mod fake_platform;
#[path = "real_channels/transport.rs"]
mod transport;

use std::time::Duration;

use aol::engine::adapters::{ChannelLookup, Job, SendGate, Verdict};
use aol::engine::channels::{webhook, ChannelRequest};
use aol::engine::Actor;
use aol::engine::{daemon, Clock, DaemonSettings, Engine};
use aol::model::{Action, FlagCommand};
use aol::storage::Resolution;
use common::TestCtx;
use fake_platform::{Answer, FakePlatform};
use tokio_util::sync::CancellationToken;

fn ops() -> Actor {
    Actor::system("test")
}
const SECRET: &str = "aol-test-secret-Zk42-must-never-leak";

struct Setup {
    engine: Engine,
    platform: FakePlatform,
    dir: tempfile::TempDir,
}

/// An engine in REAL mode with one armed channel `brand` of `kind` on the
/// stand-in server (at `path`), its secret in a file; requests time out after 1 s.
async fn setup(ctx: &TestCtx, kind: &str, path: &str) -> Setup {
    let platform = FakePlatform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let registry = common::local_registry(dir.path(), Duration::from_secs(1));
    let engine = Engine::new(ctx.db.clone(), Clock::System, registry).await.unwrap();
    let request = ChannelRequest {
        name: "brand".into(),
        kind: kind.into(),
        url: format!("{}{path}", platform.base),
        secret_file: Some("secret".into()),
        ..Default::default()
    };
    engine.channel_add(&request, &ops()).await.unwrap();
    engine.channel_arm("brand", true, &ops()).await.unwrap();
    // These tests are about sending: the channel posts without asking
    // (tests/approval.rs is about asking).
    engine.policy_set("brand", "POST_SOCIAL", aol::model::Policy::Auto, &ops()).await.unwrap();
    engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();
    Setup { engine, platform, dir }
}

async fn enqueue(engine: &Engine, key: &str, text: &str) -> Action {
    let payload = serde_json::json!({ "channel": "brand", "text": text });
    engine.enqueue("POST_SOCIAL", key, payload.as_object().unwrap()).await.unwrap().action
}

/// Runs the daemon for `ticks` ticks, 50 ms apart.
async fn run(engine: &Engine, ticks: u64) {
    let settings = DaemonSettings {
        max_ticks: Some(ticks),
        tick_interval: Duration::from_millis(50),
        max_tick: Duration::from_secs(5),
        ..Default::default()
    };
    daemon::run(engine, &settings, &CancellationToken::new()).await;
}

async fn reread(engine: &Engine, id: i64) -> Action {
    engine.db().action_get(id).await.unwrap().unwrap()
}

async fn log_text(engine: &Engine, id: i64) -> String {
    let logs = engine.db().logs_for_action(id).await.unwrap();
    logs.iter().map(|l| l.message.clone()).collect::<Vec<_>>().join("\n")
}

struct Closed;

#[async_trait::async_trait]
impl SendGate for Closed {
    async fn open(&self, _: &aol::model::Channel, _: &str) -> Verdict {
        Verdict::Closed("a PROOF run never opens the gate".into())
    }
}

async fn a_webhook_post_sends_the_proof_bytes_signed_once(ctx: TestCtx) {
    let s = setup(&ctx, "webhook", "/hooks/aol").await;
    let action = enqueue(&s.engine, "hook-1", "Launch day 🚀").await;

    // PROOF of this very action, through the same adapter.
    let adapter = s.engine.adapters().get("POST_SOCIAL").unwrap().clone();
    let channel = s.engine.db().channel_get("brand").await.unwrap().unwrap();
    let payload = serde_json::from_str(&action.payload_json).unwrap();
    let resources = s.engine.resources();
    let job = Job {
        action: &action,
        payload: &payload,
        proof_mode: true,
        channel: ChannelLookup::Found(Box::new(channel)),
        now: chrono::Utc::now(),
        gate: &Closed,
        resources: &resources,
    };
    let proof = adapter.execute(&job).await.unwrap().artifact.unwrap();

    run(&s.engine, 1).await;
    let done = reread(&s.engine, action.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    let received = s.platform.received();
    assert_eq!(received.len(), 1, "posted once");
    let sent = &received[0];
    assert_eq!(sent.path, "/hooks/aol");
    let artifact = String::from_utf8(proof.bytes.clone()).unwrap();
    let body = std::str::from_utf8(&sent.body).unwrap();
    assert!(
        artifact.contains(&format!(",\"body\":{body}}}")),
        "REAL sent exactly the body in the PROOF artifact:\n{artifact}\n{body}"
    );
    assert_eq!(
        done.prepared_sha256.as_deref(),
        Some(proof.sha256.as_str()),
        "the request approved is the PROOF artifact"
    );
    assert_eq!(sent.headers["idempotency-key"], "hook-1");

    // The signature: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<body>").
    let signature = &sent.headers["x-aol-signature"];
    let t: i64 = signature.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    let at = chrono::DateTime::from_timestamp(t, 0).unwrap();
    assert_eq!(signature, &webhook::signature(SECRET.as_bytes(), at, &sent.body));
    assert!((chrono::Utc::now() - at).num_seconds().abs() < 30, "signed now");
    assert!(done.remote_id.is_some());

    // The same key again is the same action: nothing more is sent.
    let again = s.engine.enqueue("POST_SOCIAL", "hook-1", &payload).await.unwrap();
    assert!(again.duplicate);
    run(&s.engine, 2).await;
    assert_eq!(s.platform.received().len(), 1);
}

async fn mastodon_posts_with_the_idempotency_key_and_a_server_error_is_retried(ctx: TestCtx) {
    let s = setup(&ctx, "mastodon", "").await;
    s.platform.script([Answer::Raw(500, vec![], r#"{"error":"boom"}"#.into())]);
    let action = enqueue(&s.engine, "masto-1", "Hello fediverse").await;
    run(&s.engine, 1).await;
    let after_500 = reread(&s.engine, action.id).await;
    assert_eq!(after_500.status, "RETRY");
    assert!(after_500.last_error.as_deref().unwrap().contains("HTTP 500: boom"), "{after_500:?}");
    // Due after its backoff (about 2 s).
    ctx.execute_raw(&format!(
        "UPDATE aol_actions SET not_before_utc = '2000-01-01T00:00:00+00:00' WHERE id = {}",
        action.id
    ))
    .await;
    run(&s.engine, 1).await;
    let done = reread(&s.engine, action.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    assert_eq!(done.attempts, 2);
    assert_eq!(done.remote_id.as_deref(), Some("10901"));
    assert_eq!(done.remote_url.as_deref(), Some("https://social.example/@brand/10901"));
    let received = s.platform.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.path, "/api/v1/statuses");
        assert_eq!(r.headers["idempotency-key"], "masto-1", "the same key both times");
        assert_eq!(r.headers["authorization"], format!("Bearer {SECRET}"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["status"], "Hello fediverse");
    }
}

async fn slow_down_waits_for_the_reset_without_using_an_attempt(ctx: TestCtx) {
    let s = setup(&ctx, "mastodon", "").await;
    let reset = chrono::Utc::now() + chrono::TimeDelta::seconds(3);
    s.platform.script([Answer::Raw(
        429,
        vec![("X-RateLimit-Reset".into(), reset.to_rfc3339())],
        r#"{"error":"Too many requests"}"#.into(),
    )]);
    let action = enqueue(&s.engine, "masto-429", "Not too fast").await;
    run(&s.engine, 1).await;
    let waiting = reread(&s.engine, action.id).await;
    assert_eq!((waiting.status.as_str(), waiting.attempts), ("PENDING", 0), "deferred, the attempt not counted");
    assert!(waiting.not_before_utc >= reset - chrono::TimeDelta::seconds(1), "{waiting:?}");
    // Ticks before the reset send nothing.
    run(&s.engine, 20).await;
    assert!(chrono::Utc::now() < reset, "the ticks ran before the reset");
    assert_eq!(s.platform.received().len(), 1, "no request before the reset");
    tokio::time::sleep((reset - chrono::Utc::now()).to_std().unwrap_or_default()).await;
    run(&s.engine, 1).await;
    let done = reread(&s.engine, action.id).await;
    assert_eq!((done.status.as_str(), done.attempts), ("SUCCESS", 1));
    let received = s.platform.received();
    assert_eq!(received.len(), 2);
    assert!(received[1].at >= reset - chrono::TimeDelta::milliseconds(1000), "the second request came after the reset");
    assert!(log_text(&s.engine, action.id).await.contains("deferred, the attempt not counted"));
}

async fn a_lost_answer_is_unconfirmed_and_never_sent_again(ctx: TestCtx) {
    for (kind, fault) in [("mastodon", Answer::Hang), ("webhook", Answer::Reset)] {
        let s = setup(&ctx, kind, "").await;
        s.platform.script([fault.clone()]);
        let action = enqueue(&s.engine, &format!("{kind}-lost"), "Did it go out?").await;
        run(&s.engine, 1).await;
        let unsure = reread(&s.engine, action.id).await;
        assert_eq!(unsure.status, "UNCONFIRMED", "{kind} {fault:?}: {:?}", unsure.last_error);
        assert!(unsure.last_error.as_deref().unwrap().contains("may have been posted"), "{unsure:?}");
        run(&s.engine, 5).await;
        assert_eq!(s.platform.received().len(), 1, "{kind} {fault:?}: no second request");
        assert_eq!(reread(&s.engine, action.id).await.status, "UNCONFIRMED");
        engine_clear(&ctx).await;
    }
}

/// Removes the channel and actions of one round, for the next.
async fn engine_clear(ctx: &TestCtx) {
    for table in ["aol_execution_logs", "aol_actions", "aol_channels"] {
        ctx.execute_raw(&format!("DELETE FROM {table}")).await;
    }
}

async fn refusals_and_missing_configuration_fail_with_the_reason(ctx: TestCtx) {
    let s = setup(&ctx, "mastodon", "").await;
    s.platform.script([Answer::Raw(422, vec![], r#"{"error":"Validation failed: Text is too long"}"#.into())]);
    let refused = enqueue(&s.engine, "masto-422", "x").await;
    run(&s.engine, 1).await;
    let failed = reread(&s.engine, refused.id).await;
    assert_eq!(failed.status, "FAILED");
    assert!(
        failed.last_error.as_deref().unwrap().contains("HTTP 422: Validation failed: Text is too long"),
        "{failed:?}"
    );

    let payload = serde_json::json!({ "channel": "nowhere", "text": "hi" });
    let nowhere = s.engine.enqueue("POST_SOCIAL", "nowhere", payload.as_object().unwrap()).await.unwrap().action;
    std::fs::remove_file(s.dir.path().join("secret")).unwrap();
    let no_secret = enqueue(&s.engine, "no-secret", "hi").await;
    run(&s.engine, 1).await;
    for (id, expected) in
        [(nowhere.id, "no channel named \"nowhere\""), (no_secret.id, "cannot read channel \"brand\"'s secret")]
    {
        let a = reread(&s.engine, id).await;
        assert_eq!(a.status, "FAILED");
        let error = a.last_error.unwrap();
        assert!(error.starts_with("real run unconfigured") && error.contains(expected), "{error}");
    }
    assert_eq!(s.platform.received().len(), 1, "only the refused post reached the server");
}

async fn a_disarmed_channel_holds_real_posts(ctx: TestCtx) {
    let s = setup(&ctx, "webhook", "").await;
    s.engine.channel_arm("brand", false, &ops()).await.unwrap();
    let action = enqueue(&s.engine, "held", "Wait for me").await;
    run(&s.engine, 3).await;
    let held = reread(&s.engine, action.id).await;
    assert_eq!((held.status.as_str(), held.attempts), ("PENDING", 0));
    assert!(held.last_error.as_deref().unwrap().contains("channel \"brand\" is disarmed"), "{held:?}");
    assert!(s.platform.received().is_empty(), "nothing sent on a disarmed channel");
}

async fn the_secret_appears_nowhere(ctx: TestCtx) {
    let s = setup(&ctx, "webhook", "").await;
    s.platform.script([Answer::Raw(401, vec![], r#"{"error":"bad token"}"#.to_string())]);
    let a = enqueue(&s.engine, "leak-1", "one").await;
    let b = enqueue(&s.engine, "leak-2", "two").await;
    run(&s.engine, 2).await;
    for id in [a.id, b.id] {
        let action = reread(&s.engine, id).await;
        let dump = format!("{action:?}{}", log_text(&s.engine, id).await);
        assert!(!dump.contains(SECRET), "{dump}");
    }
    let tables: Vec<(String,)> = ctx
        .fetch_all_raw(
            "SELECT payload_json || COALESCE(last_error, '') || COALESCE(remote_id, '') FROM aol_actions \
             UNION ALL SELECT message FROM aol_execution_logs \
             UNION ALL SELECT name || base_url || COALESCE(secret_file, '') FROM aol_channels",
        )
        .await;
    assert!(!tables.is_empty());
    assert!(tables.iter().all(|(row,)| !row.contains(SECRET)), "the secret is in the database");
    let channels = serde_json::to_string(&s.engine.db().channels().await.unwrap()).unwrap();
    assert!(!channels.contains(SECRET));
}

async fn the_operator_settles_an_unconfirmed_post(ctx: TestCtx) {
    let s = setup(&ctx, "mastodon", "").await;
    s.platform.script([Answer::Hang, Answer::Hang]);
    let posted = enqueue(&s.engine, "settle-posted", "one").await;
    let resend = enqueue(&s.engine, "settle-resend", "two").await;
    run(&s.engine, 1).await;
    for id in [posted.id, resend.id] {
        assert_eq!(reread(&s.engine, id).await.status, "UNCONFIRMED");
    }
    let url = Some("https://social.example/@brand/42".to_string());
    let done = s
        .engine
        .resolve_unconfirmed(
            posted.id,
            &Resolution::Posted { remote_id: None, remote_url: url.clone() },
            &Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)).because(Some("seen it")),
        )
        .await
        .unwrap();
    assert_eq!((done.status.as_str(), done.remote_url.clone()), ("SUCCESS", url));
    assert!(log_text(&s.engine, posted.id)
        .await
        .contains("marked as posted (https://social.example/@brand/42) by ops: seen it"));
    let err = s
        .engine
        .resolve_unconfirmed(
            posted.id,
            &Resolution::SendAgain,
            &Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only UNCONFIRMED"), "{err}");

    let again = s
        .engine
        .resolve_unconfirmed(
            resend.id,
            &Resolution::SendAgain,
            &Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)),
        )
        .await
        .unwrap();
    assert_eq!(again.status, "RETRY");
    run(&s.engine, 1).await;
    let sent = reread(&s.engine, resend.id).await;
    assert_eq!(sent.status, "SUCCESS", "{:?}", sent.last_error);
    assert_eq!(s.platform.received().len(), 3, "two lost answers, then the one sent again");
}

on_both_databases!(
    the_operator_settles_an_unconfirmed_post,
    a_webhook_post_sends_the_proof_bytes_signed_once,
    mastodon_posts_with_the_idempotency_key_and_a_server_error_is_retried,
    slow_down_waits_for_the_reset_without_using_an_attempt,
    a_lost_answer_is_unconfirmed_and_never_sent_again,
    refusals_and_missing_configuration_fail_with_the_reason,
    a_disarmed_channel_holds_real_posts,
    the_secret_appears_nowhere,
);
