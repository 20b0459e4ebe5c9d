//! Rich posts on Mastodon and webhooks, and every platform's limits
//! (issue 19), against the stand-in server: each limit refused at enqueue
//! with its reason and nothing written; a Mastodon thread with an image,
//! its alt text and its language; and the Idempotency-Key's window: a 502
//! that came after the status was made is retried while Mastodon still
//! keeps the key, and past that the post is UNCONFIRMED, never made twice.

mod common;
mod fake_platform;

use std::time::Duration;

use aol::engine::channels::ChannelRequest;
use aol::engine::Actor;
use aol::engine::{Clock, Engine};
use aol::model::{Action, FlagCommand, Policy};
use chrono::{TimeDelta, TimeZone, Utc};
use common::{run_ticks, TestCtx};
use fake_platform::{Answer, FakePlatform};
use serde_json::{json, Value};

fn ops() -> Actor {
    Actor::system("test")
}
const CHART: &[u8] = include_bytes!("fixtures/chart.png");

struct Setup {
    engine: Engine,
    clock: Clock,
    platform: FakePlatform,
    _dir: tempfile::TempDir,
}

/// REAL mode on a manual clock; armed channels on the stand-in, posting
/// without asking: `masto` (a server of 100 characters, 2 images), `hook`
/// (a webhook), and `bsky` (Bluesky; nothing is sent to it here).
async fn setup(ctx: &TestCtx) -> Setup {
    let platform = FakePlatform::start().await;
    platform.set_instance(100, 2, 2_000_000);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "rich-posts-test-secret\n").unwrap();
    let registry = common::local_registry(dir.path(), Duration::from_secs(2));
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap());
    let engine = Engine::new(ctx.db.clone(), clock.clone(), registry).await.unwrap();
    for (name, kind, url, handle) in [
        ("masto", "mastodon", platform.base.clone(), None),
        ("hook", "webhook", format!("{}/hook", platform.base), None),
        ("bsky", "bluesky", "https://bsky.example".to_string(), Some("brand.bsky.example".to_string())),
    ] {
        let request = ChannelRequest {
            name: name.into(),
            kind: kind.into(),
            url,
            handle,
            secret_file: Some("secret".into()),
            ..Default::default()
        };
        engine.channel_add(&request, &ops()).await.unwrap();
        engine.channel_arm(name, true, &ops()).await.unwrap();
        engine.policy_set(name, "POST_SOCIAL", Policy::Auto, &ops()).await.unwrap();
    }
    engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();
    Setup { engine, clock, platform, _dir: dir }
}

async fn enqueue(engine: &Engine, key: &str, payload: Value) -> Result<Action, String> {
    engine.enqueue("POST_SOCIAL", key, payload.as_object().unwrap()).await.map(|e| e.action).map_err(|e| e.to_string())
}

async fn reread(engine: &Engine, id: i64) -> Action {
    engine.db().action_get(id).await.unwrap().unwrap()
}

async fn every_limit_is_checked_at_enqueue_with_its_reason_and_nothing_is_written(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let chart = s.engine.media_add(&Actor::system("test"), CHART).await.unwrap().info.sha256;
    // The same PNG with 1,000,001 bytes after its end: an image, over Bluesky's 1,000,000.
    let mut big = CHART.to_vec();
    big.extend(std::iter::repeat_n(0u8, 1_000_001));
    let big = s.engine.media_add(&Actor::system("test"), &big).await.unwrap().info.sha256;
    let image = |sha: &str| json!({"media": sha, "alt": "a chart"});
    let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦"; // one grapheme, 25 bytes
    let url = format!("https://example.com/{}", "x".repeat(200));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"channel": "bsky", "text": "é".repeat(301)}), "\"text\" is 301 graphemes; bluesky takes at most 300"),
        (
            json!({"channel": "bsky", "text": family.repeat(121)}),
            "\"text\" is 3025 bytes of UTF-8; bluesky takes at most 3000",
        ),
        (
            json!({"channel": "bsky", "text": "1/2", "thread": [{"text": "x".repeat(301)}]}),
            "thread post 2 of 2: \"text\" is 301 graphemes",
        ),
        (
            json!({"channel": "bsky", "text": "x", "images": vec![image(&chart); 5]}),
            "\"images\" has 5 images; a post has at most 4",
        ),
        (json!({"channel": "bsky", "text": "x", "images": [image(&big)]}), "bluesky takes images up to 1000000 bytes"),
        (
            json!({"channel": "bsky", "text": "x", "images": [image(&chart)], "link": {"url": "https://example.com"}}),
            "a bluesky post carries images or a link card, not both",
        ),
        (
            json!({"channel": "bsky", "text": "x", "images": [{"media": chart}]}),
            "image 1 has no \"alt\" text, which channel \"bsky\" requires",
        ),
        (json!({"channel": "bsky", "text": "x", "langs": ["en", "fr", "de", "it"]}), "bluesky takes at most 3"),
        (json!({"channel": "bsky", "text": "x", "spoiler_text": "cw"}), "are Mastodon's"),
        (
            json!({"channel": "masto", "text": format!("{} {url}", "a".repeat(90))}),
            "counts 114 characters as Mastodon counts them (a link as 23); this server takes at most 100",
        ),
        (
            json!({"channel": "masto", "text": "x", "images": vec![image(&chart); 3]}),
            "3 images; mastodon takes at most 2 a post",
        ),
        (
            json!({"channel": "masto", "text": "x".repeat(60), "spoiler_text": "y".repeat(50)}),
            "with its spoiler_text counts 110",
        ),
        (
            json!({"channel": "hook", "text": "x", "images": [{"media": chart, "alt": " "}]}),
            "image 1 has no \"alt\" text",
        ),
        (json!({"channel": "hook", "text": "x", "images": [image(&"0".repeat(64))]}), "is not a file uploaded to AOL"),
        (json!({"channel": "masto", "text": "x", "visibility": "everyone"}), "\"visibility\": \"everyone\" is none of"),
    ];
    for (i, (payload, why)) in cases.iter().enumerate() {
        let err = enqueue(&s.engine, &format!("bad-{i}"), payload.clone()).await.unwrap_err();
        assert!(err.contains(why), "case {i} {payload}: {err}");
    }
    let counted: Vec<(i64,)> = ctx.fetch_all_raw("SELECT COUNT(*) FROM aol_actions").await;
    assert_eq!(counted[0].0, 0, "nothing written");

    // What fits is taken: a long link counts 23 on Mastodon, 300 graphemes
    // of 25 bytes are too many bytes but 120 are not, and alt text may be made optional.
    enqueue(&s.engine, "ok-1", json!({"channel": "masto", "text": format!("{} {url}", "a".repeat(60))})).await.unwrap();
    enqueue(&s.engine, "ok-2", json!({"channel": "bsky", "text": family.repeat(120)})).await.unwrap();
    s.engine.channel_alt_text("bsky", false, &ops()).await.unwrap();
    enqueue(&s.engine, "ok-3", json!({"channel": "bsky", "text": "x", "images": [{"media": chart}]})).await.unwrap();
}

async fn a_mastodon_thread_carries_its_image_alt_text_and_language(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let chart = s.engine.media_add(&Actor::system("test"), CHART).await.unwrap().info.sha256;
    let action = enqueue(
        &s.engine,
        "masto-thread",
        json!({"channel": "masto", "text": "1/2 Our numbers", "langs": ["de"], "spoiler_text": "numbers",
               "images": [{"media": chart, "alt": "the chart"}],
               "thread": [{"text": "2/2 Read more", "link": {"url": "https://example.com/more", "title": "More"}}]}),
    )
    .await
    .unwrap();
    run_ticks(&s.engine, 1).await;
    let done = reread(&s.engine, action.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    let uploads = s.platform.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!((uploads[0].description.as_deref(), uploads[0].mime.as_str()), (Some("the chart"), "image/png"));
    assert_eq!(uploads[0].bytes, CHART);
    let made = s.platform.made();
    assert_eq!(made.len(), 2);
    assert_eq!((made[0].key.as_str(), made[1].key.as_str()), ("masto-thread", "masto-thread#2"));
    assert_eq!(made[0].body["media_ids"], json!([uploads[0].id]));
    assert_eq!(
        (made[0].body["language"].as_str(), made[0].body["spoiler_text"].as_str()),
        (Some("de"), Some("numbers"))
    );
    assert!(made[0].body.get("in_reply_to_id").is_none());
    assert_eq!(made[1].body["in_reply_to_id"], json!(made[0].id), "the reply names the post before it");
    assert_eq!(made[1].body["status"], "2/2 Read more\n\nhttps://example.com/more", "the card's link is in the text");
    assert_eq!(done.remote_id.as_deref(), Some(made[0].id.as_str()));
}

async fn a_502_after_the_status_was_made_is_retried_only_while_mastodon_keeps_the_key(ctx: TestCtx) {
    let s = setup(&ctx).await;
    // Within the window: the retry, with the same key, gets the status the first request made.
    s.platform.script([Answer::MadeThen(502)]);
    let soon = enqueue(&s.engine, "masto-502-soon", json!({"channel": "masto", "text": "Hello"})).await.unwrap();
    run_ticks(&s.engine, 1).await;
    let first = reread(&s.engine, soon.id).await;
    assert_eq!(first.status, "RETRY", "{:?}", first.last_error);
    assert!(first.reached_at_utc.is_some(), "it may have reached Mastodon: remembered");
    s.clock.advance(TimeDelta::minutes(10));
    run_ticks(&s.engine, 1).await;
    let done = reread(&s.engine, soon.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    assert_eq!(s.platform.made().len(), 1, "one status");

    // Past the window (the daemon was paused, say): the key may be forgotten, so it is not sent again.
    s.platform.script([Answer::MadeThen(502)]);
    let late = enqueue(&s.engine, "masto-502-late", json!({"channel": "masto", "text": "Hello again"})).await.unwrap();
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, late.id).await.status, "RETRY");
    // Meanwhile its text cannot change: Mastodon may hold the post as it was.
    let err = s.engine.edit(late.id, json!({"channel": "masto", "text": "x"}).as_object().unwrap(), &ops()).await;
    let err = err.unwrap_err().to_string();
    assert!(err.contains("already left for its platform"), "{err}");
    s.platform.forget_keys();
    s.clock.advance(TimeDelta::hours(2));
    run_ticks(&s.engine, 1).await;
    let unconfirmed = reread(&s.engine, late.id).await;
    assert_eq!(unconfirmed.status, "UNCONFIRMED", "{:?}", unconfirmed.last_error);
    assert!(unconfirmed.last_error.as_deref().unwrap().contains("keeps a request's key for a limited time only"));
    run_ticks(&s.engine, 1).await;
    let made = s.platform.made();
    assert_eq!(made.len(), 2, "never a second status for the late post: {made:?}");
    assert_eq!(made.iter().filter(|m| m.key == "masto-502-late").count(), 1);

    // A webhook receiver keeps a key for 24 hours: the same rule, with its window.
    s.platform.script([Answer::Raw(502, vec![], "{}".into())]);
    let hook = enqueue(&s.engine, "hook-502", json!({"channel": "hook", "text": "Hi"})).await.unwrap();
    run_ticks(&s.engine, 1).await;
    s.clock.advance(TimeDelta::hours(25));
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, hook.id).await.status, "UNCONFIRMED");
}

async fn a_webhook_gets_the_whole_post_signed_and_another_image_voids_an_approval(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let chart = s.engine.media_add(&Actor::system("test"), CHART).await.unwrap().info.sha256;
    let thumb =
        s.engine.media_add(&Actor::system("test"), include_bytes!("fixtures/thumb.png")).await.unwrap().info.sha256;
    s.engine.policy_set("hook", "POST_SOCIAL", Policy::RequireApproval, &ops()).await.unwrap();
    let payload = |image: &str| {
        json!({"channel": "hook", "text": "1/2 Café ☕", "langs": ["fr"], "images": [{"media": image, "alt": "the chart"}],
               "thread": [{"text": "2/2", "link": {"url": "https://example.com", "title": "Example"}}]})
    };
    let action = enqueue(&s.engine, "hook-rich", payload(&chart)).await.unwrap();
    let shown = s.engine.inbox(20).await.unwrap().remove(0);
    let first = shown.request.unwrap();
    assert!(first.body.contains(&format!("{{{{aol:base64 {chart}}}}}")), "the document names the file, not its bytes");
    let post = shown.post.unwrap();
    assert_eq!((post.parts.len(), post.parts[0].images[0].alt.as_deref()), (2, Some("the chart")));
    s.engine.approve(action.id, Some(&first.sha256), &ops()).await.unwrap();

    // Another image: another request; the yes given for the first no longer holds.
    // (Changed by someone else than who approves: four eyes.)
    s.engine.edit(action.id, payload(&thumb).as_object().unwrap(), &Actor::system("editor")).await.unwrap();
    let approvals = s.engine.db().approvals_for(action.id).await.unwrap();
    assert!(approvals[0].voided_at_utc.is_some());
    let second = s.engine.inbox(20).await.unwrap().remove(0).request.unwrap();
    assert_ne!(second.sha256, first.sha256);
    run_ticks(&s.engine, 1).await;
    assert!(s.platform.received().is_empty(), "nothing sent on a voided approval");
    s.engine.approve(action.id, Some(&second.sha256), &ops()).await.unwrap();
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, action.id).await.status, "SUCCESS");

    let received = s.platform.received();
    assert_eq!(received.len(), 1, "one request, the whole post");
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    use base64::Engine as _;
    let inline = base64::engine::general_purpose::STANDARD.decode(body["images"][0]["data_base64"].as_str().unwrap());
    assert_eq!(inline.unwrap(), include_bytes!("fixtures/thumb.png"), "the image's bytes, inline");
    assert_eq!(body["images"][0]["alt"], "the chart");
    assert_eq!(body["images"][0]["sha256"], json!(thumb));
    assert_eq!((body["text"].as_str(), body["langs"].clone()), (Some("1/2 Café ☕"), json!(["fr"])));
    assert_eq!(body["thread"][0]["link"]["url"], "https://example.com");
    let signature = &received[0].headers["x-aol-signature"];
    let t: i64 = signature.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    let at = chrono::DateTime::from_timestamp(t, 0).unwrap();
    let expected = aol::engine::channels::webhook::signature(b"rich-posts-test-secret", at, &received[0].body);
    assert_eq!(signature, &expected, "signed over the bytes sent, images included");
}

on_both_databases!(
    a_webhook_gets_the_whole_post_signed_and_another_image_voids_an_approval,
    every_limit_is_checked_at_enqueue_with_its_reason_and_nothing_is_written,
    a_mastodon_thread_carries_its_image_alt_text_and_language,
    a_502_after_the_status_was_made_is_retried_only_while_mastodon_keeps_the_key,
);
