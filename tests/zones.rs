//! Time zones and posting windows (issue 21), on both databases: "09:00
//! Europe/Berlin" is stored as the right instant on either side of a
//! daylight-saving change (API, CLI) and shown in that zone; a channel's
//! posting window holds a due REAL post until its next opening without using
//! an attempt, and the channel says when it will go.

mod common;
mod fake_platform;
mod real_setup;

use std::process::Command;

use aol::engine::zones::PostingWindow;
use aol::model::Policy;
use chrono::{Datelike, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use common::{run_ticks, TestCtx, TestServer, OPERATOR_TOKEN};
use real_setup::{enqueue, ops, reread, sent, setup};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The next last Sunday of `month` still ahead (within a year: it may be scheduled).
fn next_last_sunday(month: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    (today.year()..=today.year() + 1)
        .map(|year| {
            let first_of_next = NaiveDate::from_ymd_opt(year, month + 1, 1).unwrap();
            let mut day = first_of_next.pred_opt().unwrap();
            while day.weekday() != Weekday::Sun {
                day = day.pred_opt().unwrap();
            }
            day
        })
        .find(|day| *day > today + TimeDelta::days(1))
        .unwrap()
}

async fn enqueue_at(server: &TestServer, key: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"action_type": "POST_SOCIAL", "idempotency_key": key, "payload": {"text": "hi"}});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let answer = reqwest::Client::new()
        .post(server.url("/api/v1/actions"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

async fn nine_in_berlin_is_the_right_instant_across_the_change(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    // Berlin's next changes: summer time starts on the last Sunday of March
    // (09:00 is 08:00 UTC the day before, 07:00 UTC that day), ends on the last of October.
    let spring = next_last_sunday(3);
    let autumn = next_last_sunday(10);
    let at = |day: NaiveDate, h: u32| Utc.from_utc_datetime(&day.and_hms_opt(h, 0, 0).unwrap());
    for (key, local, want) in [
        ("before", format!("{}T09:00", spring.pred_opt().unwrap()), at(spring.pred_opt().unwrap(), 8)),
        ("after", format!("{spring}T09:00"), at(spring, 7)),
        ("autumn", format!("{autumn}T09:00:00"), at(autumn, 8)),
    ] {
        let (status, body) =
            enqueue_at(&server, key, json!({"scheduled_for": local, "time_zone": "Europe/Berlin"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let stored = ctx.db.action_get(body["id"].as_i64().unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.scheduled_for_utc, Some(want), "{key}");
        assert_eq!(stored.not_before_utc, want, "{key}");
        assert_eq!(stored.time_zone.as_deref(), Some("Europe/Berlin"));
    }
    // An offset wins over the zone; the zone is kept for showing.
    let (_, body) =
        enqueue_at(&server, "offset", json!({"scheduled_for": "2026-03-29T09:00:00Z", "time_zone": "Asia/Tokyo"}))
            .await;
    assert_eq!(body["scheduled_for_utc"], "2026-03-29T09:00:00Z");

    for (extra, says) in [
        (json!({"scheduled_for": "2026-03-29T09:00"}), "invalid scheduled_for"),
        (json!({"scheduled_for": "2026-03-29T09:00", "time_zone": "Berlin"}), "invalid time_zone"),
        (json!({"scheduled_for": format!("{spring}T02:30"), "time_zone": "Europe/Berlin"}), "does not exist"),
        (json!({"not_after": "soon", "time_zone": "Europe/Berlin"}), "invalid not_after"),
    ] {
        let (status, body) = enqueue_at(&server, "bad", extra.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{extra}: {body}");
    }
    assert_eq!(ctx.db.actions_recent(None, 10).await.unwrap().len(), 4, "refusals wrote nothing");

    // The command line takes the place's time too, and `aol show` shows it there.
    let out = Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["enqueue", "--type", "POST_SOCIAL", "--key", "cli-berlin", "--payload", r#"{"text":"hi"}"#])
        .args(["--scheduled-for", &format!("{spring} 09:00 Europe/Berlin"), "--json"])
        .env("DATABASE_URL", &ctx.url)
        .env_remove("AOL_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["action"]["scheduled_for_utc"], json!(at(spring, 7)));
    let id = answer["action"]["id"].to_string();
    let shown =
        Command::new(env!("CARGO_BIN_EXE_aol")).args(["show", &id]).env("DATABASE_URL", &ctx.url).output().unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains(&format!("not before {spring} 09:00 CEST Europe/Berlin")), "{shown}");
}

async fn a_post_outside_the_window_waits_for_the_opening_without_an_attempt(ctx: TestCtx) {
    let s = setup(&ctx).await;
    s.engine.policy_set("brand", "POST_SOCIAL", Policy::Auto, &ops()).await.unwrap();
    // Weekdays 08:00-20:00 in New York (UTC-5 in November).
    let window = PostingWindow::new("mon-fri", "08:00", "20:00", "America/New_York").unwrap();
    s.engine.channel_window("brand", Some(&window), &ops()).await.unwrap();
    // start() is Friday 2026-11-27 09:00 UTC = 04:00 in New York: closed until 08:00 there (13:00 UTC).
    let opening = Utc.with_ymd_and_hms(2026, 11, 27, 13, 0, 0).unwrap();
    let view = s.engine.channel_views().await.unwrap().pop().unwrap();
    assert_eq!(view.next_post_utc, Some(opening));
    assert!(view.waiting_why.unwrap().contains("posting window"));

    let action = enqueue(&s.engine, "early", "Good morning, New York").await;
    run_ticks(&s.engine, 1).await;
    let waiting = reread(&s.engine, action.id).await;
    assert!(sent(&s).is_empty(), "nothing sent before the opening");
    assert_eq!(waiting.not_before_utc, opening, "{waiting:?}");
    assert_eq!(waiting.attempts, 0, "the wait used no attempt: {waiting:?}");
    let log = ctx.db.logs_for_action(action.id).await.unwrap();
    assert!(log.iter().any(|l| l.message.contains("outside its posting window")), "{log:?}");

    s.clock.advance(opening - TimeDelta::minutes(1) - s.engine.clock().now());
    run_ticks(&s.engine, 1).await;
    assert!(sent(&s).is_empty(), "a minute early: still nothing");
    s.clock.advance(TimeDelta::seconds(61));
    run_ticks(&s.engine, 1).await;
    let posted = reread(&s.engine, action.id).await;
    assert_eq!((posted.status.as_str(), posted.attempts), ("SUCCESS", 1), "{posted:?}");
    assert_eq!(sent(&s).len(), 1);

    // At 20:00 New York it closes until Monday 08:00 (13:00 UTC).
    s.clock.advance(Utc.with_ymd_and_hms(2026, 11, 28, 1, 0, 0).unwrap() - s.engine.clock().now());
    let late = enqueue(&s.engine, "late", "Good night").await;
    run_ticks(&s.engine, 1).await;
    let waiting = reread(&s.engine, late.id).await;
    assert_eq!(waiting.not_before_utc, Utc.with_ymd_and_hms(2026, 11, 30, 13, 0, 0).unwrap());
    assert_eq!(sent(&s).len(), 1);
    // Lifted: it may go at once.
    s.engine.channel_window("brand", None, &ops()).await.unwrap();
    assert_eq!(s.engine.channel_views().await.unwrap()[0].next_post_utc, None);
}

on_both_databases!(
    nine_in_berlin_is_the_right_instant_across_the_change,
    a_post_outside_the_window_waits_for_the_opening_without_an_attempt,
);
