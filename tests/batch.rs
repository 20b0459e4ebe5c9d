//! Batches (issue 21), on both databases: `POST /api/v1/actions/batch` and
//! `aol enqueue --file`. Every item is checked first; a bad one refuses the
//! whole batch, naming its index (or line), and nothing is written; otherwise
//! one transaction, answering each item new or duplicate with its id.

mod common;

use std::process::{Command, Output};

use aol::auth::AgentToken;
use common::{TestCtx, TestServer, OPERATOR_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn post(key: &str, text: &str) -> Value {
    json!({"action_type": "POST_SOCIAL", "idempotency_key": key, "payload": {"text": text}})
}

async fn batch(server: &TestServer, token: &str, body: &Value) -> (StatusCode, Value) {
    let answer = reqwest::Client::new()
        .post(server.url("/api/v1/actions/batch"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

async fn count(ctx: &TestCtx) -> usize {
    ctx.db.actions_recent(None, 5_000).await.unwrap().len()
}

async fn a_batch_is_one_transaction_and_a_bad_item_refuses_it(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;

    // A bad item anywhere: the whole batch is refused, naming it; nothing written.
    let bad = json!({"actions": [post("b-1", "one"), post("b-2", "two"), post("b-3", "")]});
    let (status, body) = batch(&server, OPERATOR_TOKEN, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.starts_with("item 2: invalid payload"), "{error}");
    let not_object = json!({"actions": [post("b-1", "one"), {"action_type": "POST_SOCIAL", "idempotency_key": "b-2",
        "payload": [1]}]});
    let (status, body) = batch(&server, OPERATOR_TOKEN, &not_object).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("item 1: invalid payload: must be a JSON object"), "{body}");
    let unknown_field = json!({"actions": [post("b-1", "one")], "extra": 1});
    assert_eq!(batch(&server, OPERATOR_TOKEN, &unknown_field).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = batch(&server, OPERATOR_TOKEN, &json!({"actions": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("at least one"), "{body}");
    let many: Vec<Value> = (0..1_001).map(|i| post(&format!("m-{i}"), "x")).collect();
    let (status, body) = batch(&server, OPERATOR_TOKEN, &json!({ "actions": many })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("at most 1000 actions, not 1001"), "{body}");
    let lone = json!({"actions": [{"action_type": "NOPE", "idempotency_key": "b-9", "payload": {"text": "x"}}]});
    let (status, body) = batch(&server, OPERATOR_TOKEN, &lone).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().starts_with("item 0: unknown action type"), "{body}");
    assert_eq!(count(&ctx).await, 0, "{}: a refused batch wrote something", ctx.backend_name());

    // A good one: each item new, in order, with its id; a key given twice in it is one action.
    let good = json!({"actions": [post("b-1", "one"), post("b-2", "two"), post("b-1", "one again")]});
    let (status, body) = batch(&server, OPERATOR_TOKEN, &good).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["added"], 2);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        (&items[0]["duplicate"], &items[1]["duplicate"], &items[2]["duplicate"]),
        (&json!(false), &json!(false), &json!(true))
    );
    assert_eq!(items[0]["id"], items[2]["id"]);
    assert_ne!(items[0]["id"], items[1]["id"]);
    assert_eq!(items[0]["status"], "PENDING");
    for item in &items[..2] {
        let stored = ctx.db.action_get(item["id"].as_i64().unwrap()).await.unwrap().expect("stored");
        assert_eq!(stored.enqueued_by.as_deref(), Some("operator-token"));
    }
    // The same batch again adds nothing: 200, every item a duplicate of the same action.
    let (status, again) = batch(&server, OPERATOR_TOKEN, &good).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["added"], 0);
    for (first, second) in items.iter().zip(again["items"].as_array().unwrap()) {
        assert_eq!((&first["id"], &second["duplicate"]), (&second["id"], &json!(true)));
    }
    assert_eq!(count(&ctx).await, 2);

    // A thousand in one call, numbered in the order they were given.
    let thousand: Vec<Value> = (0..1_000).map(|i| post(&format!("t-{i}"), "x")).collect();
    let (status, body) = batch(&server, OPERATOR_TOKEN, &json!({ "actions": thousand })).await;
    assert_eq!((status, &body["added"]), (StatusCode::CREATED, &json!(1000)));
    let ids: Vec<i64> = body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{}: ids not in the items' order", ctx.backend_name());
    assert_eq!(count(&ctx).await, 1_002);

    // The call's one `enqueued` row, on each of its actions' pages and in
    // the audit page filtered by one of them.
    let http = reqwest::Client::new();
    let session = common::sign_in(&http, &server.base, OPERATOR_TOKEN).await;
    let session = session.split(';').next().unwrap().to_string();
    let page = |path: String| {
        let (http, session) = (http.clone(), session.clone());
        async move { http.get(&path).header("cookie", session).send().await.unwrap().text().await.unwrap() }
    };
    let (first, last) = (ids[0], ids[999]);
    let shown = page(server.url(&format!("/actions/{}", ids[500]))).await;
    assert!(shown.contains("t-500"), "its own entry of the call's row");
    assert!(shown.contains("(one of 1000 actions enqueued in one call)"), "{}", ctx.backend_name());
    let audit = page(server.url(&format!("/audit?action={}", ids[500]))).await;
    assert!(audit.contains(&format!("1000 actions enqueued in one call: #{first} to #{last}")), "{audit}");
}

async fn an_agents_batch_stays_in_its_channels(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let bot = AgentToken::create(&ctx.db, "bot", &["brand".to_string()]).await.unwrap();
    let item = |key: &str, channel: &str| json!({"action_type": "POST_SOCIAL", "idempotency_key": key, "payload": {"channel": channel, "text": "hi"}});
    let (status, body) = batch(&server, &bot, &json!({"actions": [item("a-1", "brand"), item("a-2", "other")]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("may post only to brand"), "{body}");
    assert_eq!(count(&ctx).await, 0, "a refused batch wrote something");
}

fn aol(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("AOL_TOKEN")
        .output()
        .expect("run aol")
}

async fn the_cli_enqueues_a_file_in_one_transaction(ctx: TestCtx) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("posts.jsonl");
    let lines: Vec<String> = (1..=3).map(|i| post(&format!("f-{i}"), &format!("post {i}")).to_string()).collect();
    // Line 4 is blank (skipped); line 5 is bad.
    let bad = format!("{}\n\n{}\n", lines.join("\n"), post("f-9", ""));
    std::fs::write(&file, bad).unwrap();
    let out = aol(&ctx.url, &["enqueue", "--file", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("posts.jsonl line 5: invalid payload"), "{stderr}");
    std::fs::write(dir.path().join("broken.jsonl"), "{\"action_type\": \n").unwrap();
    let out = aol(&ctx.url, &["enqueue", "--file", dir.path().join("broken.jsonl").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.jsonl line 1: not an enqueue body"));
    assert_eq!(count(&ctx).await, 0, "{}: a refused file wrote something", ctx.backend_name());

    std::fs::write(&file, format!("{}\n", lines.join("\n"))).unwrap();
    let out = aol(&ctx.url, &["enqueue", "--file", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let answer = answer.as_array().unwrap();
    assert_eq!(answer.len(), 3);
    assert_eq!((&answer[2]["line"], &answer[2]["duplicate"]), (&json!(3), &json!(false)));
    let out = aol(&ctx.url, &["enqueue", "--file", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("enqueued 0 new action(s); 3 key(s) were known"), "{stdout}");
    let stored = ctx.db.actions_recent(None, 10).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|a| a.enqueued_by.as_deref().is_some_and(|by| by.starts_with("cli:"))));
}

/// Many callers at once (enqueues of one process are written in groups):
/// each gets its own outcomes, a key two callers give is added once, and a
/// caller whose insert fails (a file that is not stored, which the engine's
/// checks would have refused) fails alone while everyone else's is saved.
async fn callers_at_once_each_get_their_own_outcome(ctx: TestCtx) {
    use aol::storage::{Inserted, NewAction};
    let now = chrono::Utc::now();
    let missing = vec!["0".repeat(64)];
    let mut tasks = Vec::new();
    for caller in 0..24 {
        let db = ctx.db.clone();
        let missing = missing.clone();
        tasks.push(tokio::spawn(async move {
            let keys: Vec<String> = (0..1 + caller % 3).map(|i| format!("caller-{caller}-{i}")).collect();
            let mut news: Vec<NewAction> =
                keys.iter().map(|k| NewAction::pending(k, "POST_SOCIAL", r#"{"text":"hi"}"#, now)).collect();
            news.push(NewAction::pending("shared", "POST_SOCIAL", r#"{"text":"hi"}"#, now));
            if caller % 8 == 5 {
                news[0].media = &missing;
            }
            let outcome = db.actions_insert(&news, now).await;
            drop(news);
            (caller, keys, outcome)
        }));
    }
    let mut shared_added = 0;
    for task in tasks {
        let (caller, keys, outcome) = task.await.unwrap();
        if caller % 8 == 5 {
            assert!(outcome.is_err(), "caller {caller}: its file is not stored");
            for key in &keys {
                assert!(ctx.db.action_by_key(key).await.unwrap().is_none(), "{key}: nothing of it written");
            }
            continue;
        }
        let outcome = outcome.unwrap_or_else(|e| panic!("caller {caller}: {e}"));
        assert_eq!(outcome.len(), keys.len() + 1, "caller {caller}: one outcome per action");
        for (key, inserted) in keys.iter().zip(&outcome) {
            match inserted {
                Inserted::New(a) => assert_eq!(&a.idempotency_key, key),
                other => panic!("caller {caller}, {key}: {other:?}"),
            }
        }
        match outcome.last().unwrap() {
            Inserted::New(a) => {
                assert_eq!(a.idempotency_key, "shared");
                shared_added += 1;
            }
            Inserted::Existing(a) => assert_eq!(a.idempotency_key, "shared"),
            other => panic!("caller {caller}, shared: {other:?}"),
        }
    }
    assert_eq!(shared_added, 1, "the shared key is added once");
    let written = ctx.db.actions_recent(None, 100).await.unwrap();
    let callers_ok = (0..24).filter(|c| c % 8 != 5);
    assert_eq!(written.len(), callers_ok.map(|c| 1 + c % 3).sum::<usize>() + 1);
    assert!(matches!(ctx.db.audit_verify().await.unwrap(), aol::model::AuditCheck::Intact { .. }));
}

/// An insert answers with each new action as it then reads back from the
/// table, every column (the answer is built from what was written, not read).
async fn a_new_action_is_answered_as_stored(ctx: TestCtx) {
    use aol::storage::{Inserted, NewAction};
    use chrono::{TimeDelta, TimeZone, Timelike};
    let now = chrono::Utc.with_ymd_and_hms(2026, 3, 29, 8, 59, 1).unwrap().with_nanosecond(123_456_789).unwrap();
    let at = now + TimeDelta::hours(2) + TimeDelta::nanoseconds(987_654_321);
    let full = NewAction {
        status: "AWAITING_APPROVAL",
        channel: Some("brand"),
        scheduled_for_utc: Some(at),
        not_after_utc: Some(at + TimeDelta::hours(1)),
        policy: Some("require_approval"),
        enqueued_by: Some("operator:ana"),
        time_zone: Some("Europe/Berlin"),
        ..NewAction::pending("full", "POST_SOCIAL", r#"{"text":"first","channel":"brand"}"#, at)
    };
    let plain = NewAction::pending("plain", "POST_SOCIAL", r#"{"text":"plain"}"#, now);
    // The same key again in the same insert, with another payload: the first is written.
    let again = NewAction::pending("full", "POST_SOCIAL", r#"{"text":"second"}"#, now);
    let outcome = ctx.db.actions_insert(&[full, plain, again], now).await.unwrap();
    assert_eq!(outcome.len(), 3);
    for (i, key) in ["full", "plain"].iter().enumerate() {
        let Inserted::New(answered) = &outcome[i] else { panic!("{key}: {:?}", outcome[i]) };
        let stored = ctx.db.action_by_key(key).await.unwrap().unwrap();
        assert_eq!(answered, &stored, "{key}");
    }
    let Inserted::Existing(found) = &outcome[2] else { panic!("again: {:?}", outcome[2]) };
    assert_eq!(found.payload_json, r#"{"text":"first","channel":"brand"}"#);
    let Inserted::New(first) = &outcome[0] else { unreachable!() };
    assert_eq!(found, first);
}

/// Big batches at once (PostgreSQL writes two groups at a time), each sharing
/// 55 keys with the next: every key is added once, every caller learns the
/// same id for it, and the audit chain's "enqueued" rows name each action
/// once.
async fn big_batches_at_once_add_each_key_once(ctx: TestCtx) {
    use aol::storage::{Inserted, NewAction};
    let now = chrono::Utc::now();
    let mut tasks = Vec::new();
    for caller in 0..12 {
        let db = ctx.db.clone();
        tasks.push(tokio::spawn(async move {
            let keys: Vec<String> = (caller * 100..caller * 100 + 155).map(|k| format!("k-{k}")).collect();
            let news: Vec<NewAction> =
                keys.iter().map(|k| NewAction::pending(k, "POST_SOCIAL", r#"{"text":"hi"}"#, now)).collect();
            let outcome = db.actions_insert(&news, now).await.unwrap();
            keys.into_iter().zip(outcome).collect::<Vec<_>>()
        }));
    }
    let mut ids = std::collections::HashMap::new();
    let mut added = 0;
    for task in tasks {
        for (key, outcome) in task.await.unwrap() {
            let action = match outcome {
                Inserted::New(a) => {
                    added += 1;
                    a
                }
                Inserted::Existing(a) => a,
                other => panic!("{key}: {other:?}"),
            };
            assert_eq!(action.idempotency_key, key);
            assert_eq!(*ids.entry(key.clone()).or_insert(action.id), action.id, "{key}: one id for everyone");
        }
    }
    assert_eq!(ids.len(), 1_255);
    assert_eq!(added, 1_255, "each key added once");
    assert_eq!(count(&ctx).await, 1_255);
    let find = aol::model::AuditFind { event: Some("enqueued".into()), limit: 5_000, ..Default::default() };
    let mut named: Vec<i64> =
        ctx.db.audit_find(&find).await.unwrap().iter().flat_map(|r| r.enqueued_actions()).collect();
    named.sort_unstable();
    let mut all: Vec<i64> = ids.values().copied().collect();
    all.sort_unstable();
    assert_eq!(named, all);
    assert!(matches!(ctx.db.audit_verify().await.unwrap(), aol::model::AuditCheck::Intact { .. }));
}

/// Two handles on the database (each with its own enqueue groups and
/// connections, as two processes have) enqueue the same keys at once, in
/// opposite orders: each key is added once, by one of them, and neither
/// fails. (Each holds the keys it has written until it commits; written in
/// the items' order, each could hold one the other waits for, and
/// PostgreSQL failed one of them as a deadlock.) Half the rounds go the
/// long way (a known key).
async fn opposite_orders_at_once_add_each_key_once(ctx: TestCtx) {
    use aol::storage::{Inserted, NewAction};
    let other = aol::storage::Db::connect(&ctx.url).await.unwrap();
    let now = chrono::Utc::now();
    for round in 0..10 {
        let mut keys: Vec<String> = (0..200).map(|k| format!("r{round}-{k}")).collect();
        if round % 2 == 1 {
            ctx.db
                .action_insert(&NewAction::pending(&keys[100], "POST_SOCIAL", r#"{"text":"hi"}"#, now), now)
                .await
                .unwrap();
        }
        let forward = keys.clone();
        keys.reverse();
        let enqueue = |db: aol::storage::Db, keys: Vec<String>| async move {
            let news: Vec<NewAction> =
                keys.iter().map(|k| NewAction::pending(k, "POST_SOCIAL", r#"{"text":"hi"}"#, now)).collect();
            db.actions_insert(&news, now).await
        };
        let (a, b) = tokio::join!(enqueue(ctx.db.clone(), forward), enqueue(other.clone(), keys));
        let (a, b) = (a.unwrap(), b.unwrap());
        let added = |outcomes: &[Inserted]| outcomes.iter().filter(|o| matches!(o, Inserted::New(_))).count();
        assert!(a.iter().chain(&b).all(|o| matches!(o, Inserted::New(_) | Inserted::Existing(_))));
        assert_eq!(added(&a) + added(&b), 200 - round % 2, "round {round}: each key added once");
    }
    assert_eq!(count(&ctx).await, 10 * 200);
    assert!(matches!(ctx.db.audit_verify().await.unwrap(), aol::model::AuditCheck::Intact { .. }));
}

/// An `enqueued` event's data is the same text whichever way its group was
/// written: on PostgreSQL a group of new keys is one statement that writes
/// the events in the server, and a group with a known key goes the long way
/// (SQLite always does); and on the long way whether it is written
/// straight to text or, for an action that notifies as it is enqueued
/// (one awaiting approval), through a JSON value the outbox reads.
async fn an_enqueued_event_reads_the_same_either_way(ctx: TestCtx) {
    use aol::storage::NewAction;
    let now = chrono::Utc::now();
    let scoped = |key: &str| aol::model::scoped_key(Some("agent:bot"), key);
    let (first, second, third, asks) = (scoped("first"), scoped("second"), scoped("third"), scoped("asks"));
    let by_bot = |key| NewAction {
        channel: Some("news"),
        policy: Some("auto"),
        enqueued_by: Some("agent:bot"),
        ..NewAction::pending(key, "POST_SOCIAL", r#"{"text":"hi"}"#, now)
    };
    let all_new = [by_bot(&first), NewAction::pending("plain", "POST_SOCIAL", r#"{"text":"hi"}"#, now)];
    ctx.db.actions_insert(&all_new, now).await.unwrap();
    let awaiting = NewAction { status: "AWAITING_APPROVAL", policy: Some("require_approval"), ..by_bot(&asks) };
    let with_a_known_key = [by_bot(&second), by_bot(&first), by_bot(&third), awaiting];
    ctx.db.actions_insert(&with_a_known_key, now).await.unwrap();

    let find = aol::model::AuditFind { event: Some("enqueued".into()), limit: 10, ..Default::default() };
    let mut rows = ctx.db.audit_find(&find).await.unwrap();
    rows.sort_by_key(|r| r.id);
    let written: Vec<(&str, &str)> = rows.iter().map(|r| (r.actor.as_str(), r.data_json.as_str())).collect();
    let bots = |key: &str| {
        format!(r#"{{"channel":"news","key":"{key}","policy":"auto","status":"PENDING","type":"POST_SOCIAL"}}"#)
    };
    let (bot_first, bot_second, bot_third) = (bots("first"), bots("second"), bots("third"));
    let plain = r#"{"channel":null,"key":"plain","policy":null,"status":"PENDING","type":"POST_SOCIAL"}"#;
    let asking = r#"{"channel":"news","key":"asks","policy":"require_approval","status":"AWAITING_APPROVAL","type":"POST_SOCIAL"}"#;
    // One call's items enqueued by two (storage allows it) are two calls.
    let mut ids = Vec::new();
    for key in [&second, &third, &asks] {
        ids.push(ctx.db.action_by_key(key).await.unwrap().unwrap().id.to_string());
    }
    let listed = format!(r#"{{"actions":[{bot_second},{bot_third},{asking}],"ids":[{}]}}"#, ids.join(","));
    assert_eq!(written, [("agent:bot", bot_first.as_str()), ("aol", plain), ("agent:bot", listed.as_str())]);
    assert!(matches!(ctx.db.audit_verify().await.unwrap(), aol::model::AuditCheck::Intact { .. }));
}

on_both_databases!(
    a_new_action_is_answered_as_stored,
    big_batches_at_once_add_each_key_once,
    opposite_orders_at_once_add_each_key_once,
    an_enqueued_event_reads_the_same_either_way,
    callers_at_once_each_get_their_own_outcome,
    a_batch_is_one_transaction_and_a_bad_item_refuses_it,
    an_agents_batch_stays_in_its_channels,
    the_cli_enqueues_a_file_in_one_transaction,
);
