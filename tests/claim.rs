//! What a claim hands the daemon (SPEC §3): the stored rows, every field as
//! written, whichever way the database returns them, and a big claim's parts.

mod common;

use std::collections::HashSet;

use aol::engine::queue::parse_payload;
use aol::engine::{Actor, NewItem};
use common::{Backend, TestCtx};
use futures::StreamExt;
use serde_json::json;

fn payload(text: &str) -> serde_json::Map<String, serde_json::Value> {
    parse_payload(&json!({ "text": text }).to_string()).unwrap()
}

/// On SQLite the claimed rows come back as one JSON row: each field must read
/// back as the row holds it (times to the nanosecond, quotes, newlines,
/// non-ASCII, every optional column set), and a time written in a form only
/// sqlx reads (no offset) must not break the claim.
async fn a_claim_returns_every_field_as_stored(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let plain = engine.enqueue("POST_SOCIAL", "plain", &payload("plain")).await.unwrap().action;
    let text = "Quotes \" and \\ and a\nnewline, ünïcödé 🎉";
    let full = engine.enqueue("POST_SOCIAL", "full", &payload(text)).await.unwrap().action;
    let (past, late, bare) = match ctx.backend {
        Backend::Sqlite => {
            ("'2026-01-02T03:04:05.123456789+00:00'", "'2999-01-02T03:04:05.5+00:00'", "'2026-01-02 03:04:05'")
        }
        Backend::Postgres => {
            ("'2026-01-02T03:04:05.123456+00:00'", "'2999-01-02T03:04:05.5+00:00'", "'2026-01-02 03:04:05+00'")
        }
    };
    ctx.execute_raw(&format!(
        "UPDATE aol_actions SET last_error = 'it said \"no\"\nthen ''stop''', prepared_sha256 = 'ab12', \
         remote_id = 'at://did:plc:x/app.bsky.feed.post/1', remote_url = 'https://example.com/p/1', \
         channel = 'main', scheduled_for_utc = {past}, not_after_utc = {late}, policy = 'require_approval', \
         facts_json = '{{\"mentions\":{{\"@ann\":\"did:plc:ann\"}}}}', first_sent_at_utc = {past}, \
         reached_at_utc = {past}, edited_by = 'person:ann', time_zone = 'Europe/Paris' WHERE id = {}",
        full.id
    ))
    .await;
    ctx.execute_raw(&format!("UPDATE aol_actions SET created_at_utc = {bare} WHERE id = {}", plain.id)).await;
    let epoch = engine.lease_acquire(std::time::Duration::from_secs(30)).await.unwrap().expect("lease").epoch;

    // The plain one first (it is older), with its bare time; then the full one.
    for (limit, expected) in [(1, plain.id), (10, full.id)] {
        let claimed = ctx.db.actions_claim(&engine.fence(epoch), limit).await.unwrap();
        let stored = ctx.db.action_get(expected).await.unwrap().unwrap();
        assert_eq!(claimed, std::slice::from_ref(&stored), "claimed as stored, on {}", ctx.backend_name());
        assert_eq!((stored.status.as_str(), stored.attempts, stored.lease_epoch), ("RUNNING", 1, Some(epoch)));
    }
    let full = ctx.db.action_get(full.id).await.unwrap().unwrap();
    assert_eq!(full.last_error.as_deref(), Some("it said \"no\"\nthen 'stop'"));
    assert!(full.payload_json.contains("ünïcödé 🎉"));
    assert_eq!(full.not_after_utc.unwrap().to_rfc3339(), "2999-01-02T03:04:05.500+00:00");
    let nanos = if matches!(ctx.backend, Backend::Sqlite) { 123_456_789 } else { 123_456_000 };
    assert_eq!(full.scheduled_for_utc.unwrap().timestamp_subsec_nanos(), nanos);
    let plain = ctx.db.action_get(plain.id).await.unwrap().unwrap();
    assert_eq!(plain.created_at_utc.to_rfc3339(), "2026-01-02T03:04:05+00:00");
}

/// A big claim comes as its statements return (two on PostgreSQL, one on
/// SQLite): together they take every due action once, each part oldest
/// first, all RUNNING under the term; what is not due stays.
async fn a_big_claim_comes_in_parts(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let items: Vec<(String, serde_json::Map<String, serde_json::Value>)> =
        (0..450).map(|i| (format!("part-{i:03}"), payload(&format!("post {i}")))).collect();
    let news: Vec<NewItem> = items.iter().map(|(key, p)| NewItem::new("POST_SOCIAL", key, p)).collect();
    engine.enqueue_many(&Actor::system("test"), &news).await.unwrap();
    let epoch = engine.lease_acquire(std::time::Duration::from_secs(30)).await.unwrap().expect("lease").epoch;
    let fence = engine.fence(epoch);
    let mut parts = ctx.db.actions_claim_parts(&fence, 400);
    let expected_parts = if ctx.db.concurrent_writes() > 1 { 2 } else { 1 };
    assert_eq!(parts.len(), expected_parts);
    let mut claimed: Vec<i64> = Vec::new();
    while let Some(part) = parts.next().await {
        let part = part.unwrap();
        assert!(
            part.windows(2).all(|w| (w[0].not_before_utc, w[0].id) < (w[1].not_before_utc, w[1].id)),
            "oldest first"
        );
        assert!(part.iter().all(|a| a.status == "RUNNING" && a.lease_epoch == Some(epoch)));
        claimed.extend(part.iter().map(|a| a.id));
    }
    let unique: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!((claimed.len(), unique.len()), (400, 400), "every action claimed once");
    let counts = ctx.db.action_counts().await.unwrap();
    let of = |s: &str| counts.iter().find(|c| c.status == s).map_or(0, |c| c.count);
    assert_eq!((of("RUNNING"), of("PENDING")), (400, 50));
}

on_both_databases!(a_claim_returns_every_field_as_stored, a_big_claim_comes_in_parts);
