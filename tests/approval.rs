//! Human approval, policy, schedule and rate limits (issue 10), on both
//! databases, against the platform stand-in with the engine's clock moved by
//! hand: a REAL post waits for a yes bound to its exact request; an edit
//! voids the yes; a yes is used once and expires; `deny` refuses at enqueue;
//! past its deadline nothing is sent; a channel posts no faster than its
//! limits, after an outage too.

mod common;
mod fake_platform;
mod real_setup;

use aol::engine::Actor;
use aol::engine::{EditError, Engine, EnqueueError, NewItem, OperatorError, Window};
use aol::model::{Action, Policy};
use aol::storage::RateLimits;
use chrono::{DurationRound, TimeDelta};
use common::{run_ticks, TestCtx};
use fake_platform::Answer;
use real_setup::{enqueue, ops, post, reread, sent, setup, start};

async fn a_real_post_waits_for_a_yes_and_goes_out_once(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let action = enqueue(&s.engine, "launch", "We launch today").await;
    assert_eq!(action.status, "AWAITING_APPROVAL", "REAL posts need approval by default");
    assert_eq!(action.policy.as_deref(), Some("require_approval"));
    run_ticks(&s.engine, 1).await;
    assert!(sent(&s).is_empty(), "nothing sent without a yes");

    let inbox = s.engine.inbox(20).await.unwrap();
    assert_eq!(inbox.len(), 1);
    let shown = inbox[0].request.clone().expect("the request to approve");
    assert!(shown.body.contains("We launch today"), "{shown:?}");
    // The PROOF artifact of this action would be these very bytes.
    let approved = s.engine.approve(action.id, Some(&shown.sha256), &ops()).await.unwrap();
    assert_eq!(approved.status, "PENDING");
    let again = s.engine.approve(action.id, Some(&shown.sha256), &ops()).await.unwrap_err();
    assert!(matches!(again, OperatorError::WrongStatus { .. }), "{again}");

    run_ticks(&s.engine, 1).await;
    run_ticks(&s.engine, 1).await;
    let done = reread(&s.engine, action.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    let sent = sent(&s);
    assert_eq!(sent.len(), 1, "posted once");
    assert!(
        shown.body.contains(&format!(",\"body\":{}}}", sent[0].0)),
        "the bytes sent are the bytes approved: {sent:?}"
    );
    assert_eq!(done.prepared_sha256.as_deref(), Some(shown.sha256.as_str()));
    let approvals = s.engine.db().approvals_for(action.id).await.unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!((approvals[0].decided_by.as_str(), approvals[0].reason.as_deref()), ("ops", Some("checked")));
    assert!(approvals[0].used_at_utc.is_some(), "the approval is used up");
}

async fn a_rejected_post_is_never_sent(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let action = enqueue(&s.engine, "off-brand", "Something we regret").await;
    let rejected = s
        .engine
        .reject(
            action.id,
            &Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)).because(Some("off brand")),
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, "CANCELLED");
    assert_eq!(rejected.last_error.as_deref(), Some("rejected by ops: off brand"));
    run_ticks(&s.engine, 1).await;
    assert!(sent(&s).is_empty());
    assert!(s.engine.approve(action.id, None, &ops()).await.is_err(), "a rejection is final");
    // A reason is optional (the CLI asks for one, as SPEC §7 writes it).
    let other = enqueue(&s.engine, "off-brand-2", "Also regrettable").await;
    let rejected = s
        .engine
        .reject(other.id, &Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)))
        .await
        .unwrap();
    assert_eq!((rejected.status.as_str(), rejected.last_error.as_deref()), ("CANCELLED", Some("rejected by ops")));
}

async fn an_edit_voids_the_approval(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let action = enqueue(&s.engine, "edited", "First words").await;
    let first = s.engine.inbox(20).await.unwrap()[0].request.clone().unwrap();
    s.engine.approve(action.id, Some(&first.sha256), &ops()).await.unwrap();

    // Changed after the yes, before it went out (by someone else: whoever
    // changes a post last may not approve it): the yes no longer holds.
    let editor = Actor::new(aol::model::Principal::person("eve", aol::model::Role::Approver));
    let edited = s.engine.edit(action.id, &post("Second words"), &editor).await.unwrap();
    assert_eq!(edited.status, "AWAITING_APPROVAL");
    let approvals = s.engine.db().approvals_for(action.id).await.unwrap();
    assert!(approvals[0].voided_at_utc.is_some(), "the old approval is voided");
    run_ticks(&s.engine, 1).await;
    assert!(sent(&s).is_empty(), "nothing sent on a voided approval");

    // An approval of what was shown before the edit is refused.
    let stale = s.engine.approve(action.id, Some(&first.sha256), &ops()).await.unwrap_err();
    assert!(stale.to_string().contains("changed since it was shown"), "{stale}");
    let second = s.engine.inbox(20).await.unwrap()[0].request.clone().unwrap();
    assert_ne!(second.sha256, first.sha256);
    s.engine.approve(action.id, Some(&second.sha256), &ops()).await.unwrap();
    run_ticks(&s.engine, 1).await;
    let sent = sent(&s);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.contains("Second words") && second.body.contains(&sent[0].0), "{sent:?}");

    // A running or finished action cannot change.
    let late = s.engine.edit(action.id, &post("Third words"), &ops()).await.unwrap_err();
    assert!(matches!(late, EditError::Operator(OperatorError::WrongStatus { .. })), "{late}");
}

async fn an_approval_is_used_once(ctx: TestCtx) {
    let s = setup(&ctx).await;
    s.platform.script([Answer::Raw(500, vec![], "{\"error\":\"down\"}".into())]);
    let action = enqueue(&s.engine, "retried", "Try twice").await;
    let shown = s.engine.inbox(20).await.unwrap()[0].request.clone().unwrap();
    s.engine.approve(action.id, Some(&shown.sha256), &ops()).await.unwrap();
    run_ticks(&s.engine, 1).await;
    let retry = reread(&s.engine, action.id).await;
    assert_eq!(retry.status, "RETRY", "{retry:?}");
    // The retry comes due: the used approval does not let it out again.
    s.clock.advance(TimeDelta::minutes(10));
    run_ticks(&s.engine, 1).await;
    let waiting = reread(&s.engine, action.id).await;
    assert_eq!(waiting.status, "AWAITING_APPROVAL", "{waiting:?}");
    assert_eq!(waiting.attempts, 1, "asking again used no attempt");
    assert_eq!(sent(&s).len(), 1, "one request so far");
    s.engine.approve(action.id, None, &ops()).await.unwrap();
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, action.id).await.status, "SUCCESS");
    assert_eq!(sent(&s).len(), 2);
}

async fn approvals_and_requests_expire(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let approved = enqueue(&s.engine, "approved-late", "Old news").await;
    let unanswered = enqueue(&s.engine, "never-answered", "Also old").await;
    s.engine.approve(approved.id, None, &ops()).await.unwrap();
    // The daemon was away for a day and more.
    s.clock.advance(TimeDelta::hours(25));
    run_ticks(&s.engine, 1).await;
    let a = reread(&s.engine, approved.id).await;
    assert_eq!(a.status, "EXPIRED");
    assert!(a.last_error.as_deref().unwrap().contains("approval by ops ran out"), "{a:?}");
    let b = reread(&s.engine, unanswered.id).await;
    assert_eq!(b.status, "EXPIRED");
    assert!(b.last_error.as_deref().unwrap().contains("no approval or rejection"), "{b:?}");
    assert!(sent(&s).is_empty(), "nothing stale went out");
}

async fn deny_refuses_at_enqueue_and_the_api_is_held_to_it(ctx: TestCtx) {
    let s = setup(&ctx).await;
    s.engine.policy_set("brand", "POST_SOCIAL", Policy::Deny, &ops()).await.unwrap();
    let refused = s.engine.enqueue("POST_SOCIAL", "denied", &post("No")).await.unwrap_err();
    assert!(matches!(refused, EnqueueError::Denied(_)), "{refused}");
    assert!(refused.to_string().contains("deny"), "{refused}");
    assert!(s.engine.db().action_by_key("denied").await.unwrap().is_none(), "nothing written");

    // The same over HTTP, and approval over HTTP: an agent never approves.
    let server = common::TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    let agent = aol::auth::AgentToken::create(&ctx.db, "writer", &[]).await.unwrap();
    let body =
        serde_json::json!({ "action_type": "POST_SOCIAL", "idempotency_key": "api-denied", "payload": post("No") });
    let r = http.post(server.url("/api/v1/actions")).bearer_auth(&agent).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("deny"));

    s.engine.policy_set("brand", "POST_SOCIAL", Policy::RequireApproval, &ops()).await.unwrap();
    let body =
        serde_json::json!({ "action_type": "POST_SOCIAL", "idempotency_key": "api-held", "payload": post("Hold me") });
    let r = http.post(server.url("/api/v1/actions")).bearer_auth(&agent).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let held: serde_json::Value = r.json().await.unwrap();
    assert_eq!(held["status"], "AWAITING_APPROVAL", "{held}");
    let id = held["id"].as_i64().unwrap();
    let approve = format!("/api/v1/actions/{id}/approve");
    let r = http.post(server.url(&approve)).bearer_auth(&agent).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(r.status(), 403, "an agent may not approve");
    let r = http
        .post(server.url(&approve))
        .bearer_auth(common::OPERATOR_TOKEN)
        .json(&serde_json::json!({ "prepared_sha256": "0".repeat(64) }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "not the request shown");
    let r = http
        .post(server.url(&approve))
        .bearer_auth(common::OPERATOR_TOKEN)
        .json(&serde_json::json!({ "reason": "fine" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let approved: serde_json::Value = r.json().await.unwrap();
    assert_eq!(approved["status"], "PENDING");
    // An agent's edit after the yes puts it back in the inbox.
    let r = http
        .patch(server.url(&format!("/api/v1/actions/{id}")))
        .bearer_auth(&agent)
        .json(&serde_json::json!({ "payload": post("Hold me, changed") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "AWAITING_APPROVAL");
}

async fn approve_and_edit_at_once_never_send_an_unapproved_request(ctx: TestCtx) {
    let s = setup(&ctx).await;
    for round in 0..12 {
        let key = format!("race-{round}");
        let action = enqueue(&s.engine, &key, &format!("Original {round}")).await;
        let shown = s.engine.inbox(50).await.unwrap().into_iter().find(|i| i.action.id == action.id).unwrap();
        let shown = shown.request.unwrap();
        let (engine_a, engine_b) = (s.engine.clone(), s.engine.clone());
        let sha = shown.sha256.clone();
        let approve = tokio::spawn(async move { engine_a.approve(action.id, Some(&sha), &ops()).await });
        let edit =
            tokio::spawn(async move { engine_b.edit(action.id, &post(&format!("Edited {round}")), &ops()).await });
        let (approved, edited) = (approve.await.unwrap(), edit.await.unwrap());
        assert!(edited.is_ok(), "round {round}: the edit of a waiting action: {edited:?}");
        run_ticks(&s.engine, 1).await;
        let after = reread(&s.engine, action.id).await;
        // Whichever came first, the edited text has no yes: it waits.
        assert_eq!(after.status, "AWAITING_APPROVAL", "round {round} (approve {approved:?}): {after:?}");
    }
    let approvals = s.engine.db().approvals_for(1).await.unwrap();
    assert!(approvals.iter().all(|a| a.used_at_utc.is_none()), "no approval was used");
    assert!(sent(&s).is_empty(), "nothing was sent");
}

async fn deadlines_and_the_daily_limit(ctx: TestCtx) {
    let s = setup(&ctx).await;
    s.engine.policy_set("brand", "POST_SOCIAL", Policy::Auto, &ops()).await.unwrap();
    let limits = RateLimits { max_per_day: Some(3), ..Default::default() };
    s.engine.channel_limits("brand", &limits, &ops()).await.unwrap();

    // A deadline already past, or before the time it may go: refused.
    let payload = post("x");
    let past = Window { not_after: Some(start() - TimeDelta::minutes(1)), ..Default::default() };
    let item = NewItem { window: past, ..NewItem::new("POST_SOCIAL", "too-late", &payload) };
    let refused = s.engine.enqueue_many(&Actor::system("test"), &[item]).await.unwrap_err();
    assert!(refused.to_string().contains("already past"), "{refused}");

    // A window: not before 10:00, not after 10:30.
    let window = Window {
        scheduled_for: Some(start() + TimeDelta::hours(1)),
        not_after: Some(start() + TimeDelta::minutes(90)),
        ..Default::default()
    };
    let payload = post("In the window");
    let item = NewItem { window, ..NewItem::new("POST_SOCIAL", "windowed", &payload) };
    let windowed = s.engine.enqueue_many(&Actor::system("test"), &[item]).await.unwrap().pop().unwrap().unwrap().action;
    assert_eq!(windowed.not_before_utc, start() + TimeDelta::hours(1));
    let payload = post("Too late anyway");
    let short = Window { not_after: Some(start() + TimeDelta::minutes(5)), ..Default::default() };
    let item = NewItem { window: short, ..NewItem::new("POST_SOCIAL", "short-lived", &payload) };
    let short_lived =
        s.engine.enqueue_many(&Actor::system("test"), &[item]).await.unwrap().pop().unwrap().unwrap().action;
    // Four posts for a channel that may post three a day.
    let day: Vec<Action> =
        enqueue_all(&s.engine, ["d1", "d2", "d3", "d4"].map(|k| (k.to_string(), format!("Post {k}")))).await;
    s.platform.script([]);

    // Paused past the short deadline: that one expires, never sent.
    s.clock.advance(TimeDelta::minutes(10));
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, short_lived.id).await.status, "EXPIRED");
    run_ticks(&s.engine, 1).await; // three actions a tick (MAX_ACTIONS_PER_TICK)
    let mut statuses = Vec::new();
    for a in &day {
        statuses.push(reread(&s.engine, a.id).await.status);
    }
    assert_eq!(statuses, ["SUCCESS", "SUCCESS", "SUCCESS", "PENDING"]);
    let fourth = reread(&s.engine, day[3].id).await;
    let midnight = (start() + TimeDelta::days(1)).duration_trunc(TimeDelta::days(1)).unwrap();
    assert_eq!((fourth.attempts, fourth.not_before_utc), (0, midnight), "the 4th waits for tomorrow: {fourth:?}");
    assert!(fourth.last_error.as_deref().unwrap().contains("at most 3 per day"), "{fourth:?}");
    // The windowed one is not due before 10:00, and today is full anyway.
    s.clock.advance(TimeDelta::hours(1));
    run_ticks(&s.engine, 1).await;
    assert_eq!(sent(&s).len(), 3, "three today");
    // Tomorrow: the 4th goes; the windowed one's deadline passed overnight.
    s.clock.advance(TimeDelta::days(1));
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, day[3].id).await.status, "SUCCESS");
    assert_eq!(reread(&s.engine, windowed.id).await.status, "EXPIRED");
    assert_eq!(sent(&s).len(), 4);
}

/// Enqueues `(key, text)` posts in order.
async fn enqueue_all<const N: usize>(engine: &Engine, posts: [(String, String); N]) -> Vec<Action> {
    let mut out = Vec::new();
    for (key, text) in posts {
        out.push(enqueue(engine, &key, &text).await);
    }
    out
}

async fn a_platform_wait_holds_the_whole_channel(ctx: TestCtx) {
    let s = setup(&ctx).await;
    s.engine.policy_set("brand", "POST_SOCIAL", Policy::Auto, &ops()).await.unwrap();
    let reset = start() + TimeDelta::minutes(30);
    s.platform.script([Answer::Raw(429, vec![("Retry-After".into(), "1800".into())], "{}".into())]);
    let first = enqueue(&s.engine, "first", "One").await;
    let second = enqueue(&s.engine, "second", "Two").await;
    run_ticks(&s.engine, 1).await;
    assert_eq!(sent(&s).len(), 1, "the first request got the 429");
    for minute in 0..29 {
        s.clock.advance(TimeDelta::minutes(1));
        run_ticks(&s.engine, 1).await;
        assert_eq!(sent(&s).len(), 1, "minute {minute}: no request before the reset");
    }
    let waiting = reread(&s.engine, second.id).await;
    assert!(waiting.not_before_utc >= reset - TimeDelta::seconds(1), "the second waits too: {waiting:?}");
    s.clock.advance(TimeDelta::minutes(2));
    run_ticks(&s.engine, 1).await;
    run_ticks(&s.engine, 1).await;
    assert_eq!(sent(&s).len(), 3);
    for id in [first.id, second.id] {
        let a = reread(&s.engine, id).await;
        assert_eq!((a.status.as_str(), a.attempts), ("SUCCESS", 1), "the wait used no attempt: {a:?}");
    }
}

/// 200 posts queued, the daemon away for 48 hours: those past their deadline
/// end EXPIRED, the rest drain at the channel's rate, never in a burst. The
/// posts per hour after the restart are printed (the closing note cites them).
async fn after_a_48_hour_outage_the_backlog_drains_at_the_channel_rate(ctx: TestCtx) {
    let s = setup(&ctx).await;
    s.engine.policy_set("brand", "POST_SOCIAL", Policy::Auto, &ops()).await.unwrap();
    let limits = RateLimits { max_per_hour: Some(10), min_spacing_seconds: Some(120), ..Default::default() };
    s.engine.channel_limits("brand", &limits, &ops()).await.unwrap();
    let texts: Vec<(String, serde_json::Map<String, serde_json::Value>)> =
        (0..200).map(|i| (format!("backlog-{i:03}"), post(&format!("Backlog post {i}")))).collect();
    // Every 4th has a deadline 24 h out: it cannot make it through a 48 h outage.
    let items: Vec<NewItem> = texts
        .iter()
        .enumerate()
        .map(|(i, (key, payload))| {
            let not_after = (i % 4 == 0).then(|| start() + TimeDelta::hours(24));
            NewItem { window: Window { not_after, ..Default::default() }, ..NewItem::new("POST_SOCIAL", key, payload) }
        })
        .collect();
    for outcome in s.engine.enqueue_many(&Actor::system("test"), &items).await.unwrap() {
        outcome.unwrap();
    }
    s.clock.advance(TimeDelta::hours(48));
    let restart = s.clock.now();
    // Back: a tick a minute for 16 hours.
    for _ in 0..(16 * 60) {
        run_ticks(&s.engine, 1).await;
        s.clock.advance(TimeDelta::minutes(1));
    }
    let counts = s.engine.db().action_counts().await.unwrap();
    let count = |status: &str| counts.iter().find(|c| c.status == status).map_or(0, |c| c.count);
    assert_eq!(count("EXPIRED"), 50, "the 50 with a 24 h deadline expired: {counts:?}");
    assert_eq!(count("SUCCESS"), 150, "the other 150 went out: {counts:?}");
    let sends = s.engine.db().channel_sends_since("brand", start()).await.unwrap();
    assert_eq!(sends.len(), 150);
    assert_eq!(sent(&s).len(), 150, "one request per post");
    let mut per_hour = vec![0; 16];
    for t in &sends {
        per_hour[((*t - restart).num_minutes() / 60) as usize] += 1;
    }
    eprintln!("{}: posts per hour after the restart: {per_hour:?}", ctx.backend_name());
    for window in sends.windows(11) {
        assert!(window[10] - window[0] >= TimeDelta::hours(1), "11 posts within an hour: {window:?}");
    }
    for pair in sends.windows(2) {
        assert!(pair[1] - pair[0] >= TimeDelta::seconds(120), "two posts closer than 120 s: {pair:?}");
    }
    assert!(per_hour.iter().all(|n| *n <= 10), "{per_hour:?}");
    let expired = s.engine.db().actions_recent(Some("EXPIRED"), 100).await.unwrap();
    assert!(expired.iter().all(|a| a.attempts == 0 && a.prepared_sha256.is_none()), "none of them was sent");
}

on_both_databases!(
    a_real_post_waits_for_a_yes_and_goes_out_once,
    a_rejected_post_is_never_sent,
    an_edit_voids_the_approval,
    an_approval_is_used_once,
    approvals_and_requests_expire,
    deny_refuses_at_enqueue_and_the_api_is_held_to_it,
    approve_and_edit_at_once_never_send_an_unapproved_request,
    deadlines_and_the_daily_limit,
    a_platform_wait_holds_the_whole_channel,
    after_a_48_hour_outage_the_backlog_drains_at_the_channel_rate,
);
