//! Agents, scoped (issue 20), over the API on both databases: an agent
//! enqueues only to its channels, sees and edits only its own actions (404
//! for anyone else's), and its idempotency keys live in its own namespace,
//! so one agent never takes another's key; keys from before namespaces still
//! belong to every agent (a key sent again after an upgrade is never posted
//! twice). Each action records who enqueued it.

mod common;

use aol::auth::AgentToken;
use aol::storage::NewAction;
use common::{TestCtx, TestServer, OPERATOR_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn enqueue(server: &TestServer, token: &str, key: &str, channel: &str) -> (StatusCode, Value) {
    let body =
        json!({"action_type": "POST_SOCIAL", "idempotency_key": key, "payload": {"channel": channel, "text": "hi"}});
    let answer =
        reqwest::Client::new().post(server.url("/api/v1/actions")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

async fn get(server: &TestServer, token: &str, path: &str) -> (StatusCode, Value) {
    let answer = reqwest::Client::new().get(server.url(path)).bearer_auth(token).send().await.unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

async fn an_agent_stays_in_its_channels_and_its_own_actions(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let bot = AgentToken::create(&ctx.db, "bot", &["brand".to_string()]).await.unwrap();
    let rival = AgentToken::create(&ctx.db, "rival", &[]).await.unwrap();

    let (status, body) = enqueue(&server, &bot, "k1", "elsewhere").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("agent bot may post only to brand"), "{body}");
    assert!(ctx.db.actions_recent(None, 10).await.unwrap().is_empty(), "nothing written");

    let (status, mine) = enqueue(&server, &bot, "k1", "brand").await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert_eq!(mine["idempotency_key"], "k1", "shown as the agent wrote it");
    // The same key from another agent is another action: one agent never takes another's key.
    let (status, theirs) = enqueue(&server, &rival, "k1", "brand").await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    assert_ne!(mine["id"], theirs["id"]);
    let (status, again) = enqueue(&server, &bot, "k1", "brand").await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &mine["id"]), "its own key again: its own action");

    let stored = ctx.db.action_get(mine["id"].as_i64().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.enqueued_by.as_deref(), Some("agent:bot"));
    assert_eq!(stored.key(), "k1");

    // Another agent's action does not exist for it: not to read, list, find by key or edit.
    let theirs_path = format!("/api/v1/actions/{}", theirs["id"]);
    assert_eq!(get(&server, &bot, &theirs_path).await.0, StatusCode::NOT_FOUND);
    let (_, listed) = get(&server, &bot, "/api/v1/actions").await;
    let ids: Vec<&Value> = listed["actions"].as_array().unwrap().iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&mine["id"]]);
    let (_, by_key) = get(&server, &rival, "/api/v1/actions?idempotency_key=k1").await;
    let ids: Vec<&Value> = by_key["actions"].as_array().unwrap().iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&theirs["id"]]);
    let edit = reqwest::Client::new()
        .patch(server.url(&theirs_path))
        .bearer_auth(&bot)
        .json(&json!({"payload": {"channel": "brand", "text": "hijacked"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), StatusCode::NOT_FOUND);
    let untouched = ctx.db.action_get(theirs["id"].as_i64().unwrap()).await.unwrap().unwrap();
    assert!(untouched.payload_json.contains("\"hi\""), "{}", untouched.payload_json);
    assert_eq!(untouched.edited_by, None);

    // Its own it may edit; the operator sees everyone's.
    let own = reqwest::Client::new()
        .patch(server.url(&format!("/api/v1/actions/{}", mine["id"])))
        .bearer_auth(&bot)
        .json(&json!({"payload": {"channel": "brand", "text": "better"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let (_, all) = get(&server, OPERATOR_TOKEN, "/api/v1/actions").await;
    assert_eq!(all["actions"].as_array().unwrap().len(), 2);
}

async fn a_key_from_before_namespaces_is_never_posted_twice(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let bot = AgentToken::create(&ctx.db, "bot", &[]).await.unwrap();
    // An action enqueued before AOL recorded who enqueued (as after an upgrade).
    let old = NewAction::pending("launch-1", "POST_SOCIAL", r#"{"text":"hi"}"#, chrono::Utc::now());
    let old = ctx.db.action_insert(&old, chrono::Utc::now()).await.unwrap().into_action().unwrap();
    assert_eq!(old.enqueued_by, None);
    let (status, body) = enqueue(&server, &bot, "launch-1", "brand").await;
    assert_eq!((status, body["id"].as_i64()), (StatusCode::OK, Some(old.id)), "{body}");
    assert_eq!(ctx.db.actions_recent(None, 10).await.unwrap().len(), 1, "no second action");
}

on_both_databases!(
    an_agent_stays_in_its_channels_and_its_own_actions,
    a_key_from_before_namespaces_is_never_posted_twice
);
