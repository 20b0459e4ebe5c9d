//! The agents' HTTP API over a real loopback server: enqueue (201/200), read,
//! list, flags, tokens, the OpenAPI document, and a corpus of bad requests
//! that must each get a clear 4xx and write nothing.

mod common;

use aol::api::{ActionList, ActionView, FlagsView, Mode};
use aol::auth::AgentToken;
use aol::engine::Actor;
use aol::model::ActionFilter;
use aol::storage::Db;
use common::{TestCtx, TestServer, OPERATOR_TOKEN};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

fn client() -> Client {
    Client::new()
}

async fn post_action(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    client().post(server.url("/api/v1/actions")).bearer_auth(token).json(&body).send().await.unwrap()
}

fn post(key: &str, text: &str) -> Value {
    json!({ "action_type": "POST_SOCIAL", "idempotency_key": key, "payload": { "text": text } })
}

async fn enqueue_is_201_then_200_with_the_same_action(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let first = post_action(&server, OPERATOR_TOKEN, post("launch-1", "We launch today.")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let created: ActionView = first.json().await.unwrap();
    assert_eq!((created.status.as_str(), created.attempts), ("PENDING", 0));
    assert_eq!(created.payload, json!({ "text": "We launch today." }));

    let row = ctx.db.action_get(created.id).await.unwrap().expect("the row is there");
    assert_eq!(row.idempotency_key, "launch-1");
    assert_eq!(serde_json::from_str::<Value>(&row.payload_json).unwrap(), created.payload);

    // The same key again, even with another text: the existing action, nothing added.
    let again = post_action(&server, OPERATOR_TOKEN, post("launch-1", "Something else")).await;
    assert_eq!(again.status(), StatusCode::OK);
    let existing: ActionView = again.json().await.unwrap();
    assert_eq!(existing.id, created.id);
    assert_eq!(existing.payload, json!({ "text": "We launch today." }));
    assert_eq!(all_actions(&ctx.db).await.len(), 1);
}

/// A PROOF success's artifact over the API: the stored bytes with their
/// SHA-256 as logged; 404 before there is one; an agent only its own.
async fn the_artifact_is_served_as_stored(ctx: TestCtx) {
    use sha2::{Digest, Sha256};
    let server = TestServer::start(&ctx.db).await;
    let created: ActionView =
        post_action(&server, OPERATOR_TOKEN, post("art-1", "Proof me.")).await.json().await.unwrap();
    let url = server.url(&format!("/api/v1/actions/{}/artifact", created.id));
    let before = client().get(&url).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
    assert_eq!(before.status(), StatusCode::NOT_FOUND);
    assert!(before.text().await.unwrap().contains("has no PROOF artifact"));

    common::run_ticks(&server.engine, 1).await;
    let logs = ctx.db.logs_for_action(created.id).await.unwrap();
    let logged = logs.iter().find_map(|l| l.artifact_sha256.clone()).expect("an artifact logged");
    let got = client().get(&url).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "application/json");
    assert_eq!(got.headers()["x-aol-sha256"].to_str().unwrap(), logged);
    let bytes = got.bytes().await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), logged);
    assert!(String::from_utf8_lossy(&bytes).contains("Proof me."));

    let agent = AgentToken::create(&ctx.db, "other-bot", &[]).await.unwrap();
    let theirs = client().get(&url).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND, "another's action is not there for an agent");
    let none = client().get(server.url("/api/v1/actions/99999/artifact")).bearer_auth(OPERATOR_TOKEN).send().await;
    assert_eq!(none.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn all_actions(db: &Db) -> Vec<aol::model::Action> {
    db.actions_page(&ActionFilter::default(), 10_000).await.unwrap()
}

async fn read_one_and_list_by_status_with_pages(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    for i in 0..5 {
        assert_eq!(post_action(&server, OPERATOR_TOKEN, post(&format!("k-{i}"), "hi")).await.status(), 201);
    }
    let cancelled = server.engine.cancel(2, &Actor::system("test")).await.unwrap();
    assert_eq!(cancelled.status, "CANCELLED");

    let get = |path: String| client().get(server.url(&path)).bearer_auth(OPERATOR_TOKEN).send();
    let one: ActionView = get("/api/v1/actions/2".into()).await.unwrap().json().await.unwrap();
    assert_eq!((one.id, one.status.as_str(), one.idempotency_key.as_str()), (2, "CANCELLED", "k-1"));
    assert_eq!(get("/api/v1/actions/99".into()).await.unwrap().status(), StatusCode::NOT_FOUND);

    let pending: ActionList = get("/api/v1/actions?status=pending".into()).await.unwrap().json().await.unwrap();
    let ids: Vec<i64> = pending.actions.iter().map(|a| a.id).collect();
    assert_eq!(ids, [5, 4, 3, 1], "newest first, CANCELLED left out");

    let page1: ActionList = get("/api/v1/actions?limit=2".into()).await.unwrap().json().await.unwrap();
    assert_eq!(page1.actions.iter().map(|a| a.id).collect::<Vec<_>>(), [5, 4]);
    let next = page1.next_before_id.expect("more pages");
    let page2: ActionList =
        get(format!("/api/v1/actions?limit=2&before_id={next}")).await.unwrap().json().await.unwrap();
    assert_eq!(page2.actions.iter().map(|a| a.id).collect::<Vec<_>>(), [3, 2]);
    let page3: ActionList = get("/api/v1/actions?limit=2&before_id=2".into()).await.unwrap().json().await.unwrap();
    assert_eq!((page3.actions.len(), page3.next_before_id), (1, None));

    let by_key: ActionList = get("/api/v1/actions?idempotency_key=k-3".into()).await.unwrap().json().await.unwrap();
    assert_eq!(by_key.actions.iter().map(|a| a.id).collect::<Vec<_>>(), [4]);
}

async fn flags_are_read_and_changed_by_the_operator_only(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let agent = AgentToken::create(&ctx.db, "writer-bot", &[]).await.unwrap();
    let flags = |token: &str| client().get(server.url("/api/v1/flags")).bearer_auth(token).send();
    let put =
        |token: &str, body: Value| client().put(server.url("/api/v1/flags")).bearer_auth(token).json(&body).send();

    let read: FlagsView = flags(&agent).await.unwrap().json().await.unwrap();
    assert_eq!((read.paused, read.killed, read.mode), (false, false, Mode::Proof), "agents may read the flags");

    let refused = put(&agent, json!({ "paused": true })).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(!ctx.db.flags_get().await.unwrap().paused);

    let paused = put(OPERATOR_TOKEN, json!({ "paused": true, "reason": "launch review" })).await.unwrap();
    assert_eq!(paused.status(), StatusCode::OK);
    let stored = ctx.db.flags_get().await.unwrap();
    assert!(stored.paused);
    let change = &ctx.db.flag_changes_recent(1).await.unwrap()[0];
    assert_eq!(
        (change.flag.as_str(), change.new_value, change.changed_by.as_str(), change.reason.as_deref()),
        ("paused", true, "operator-token", Some("launch review"))
    );

    let unconfirmed = put(OPERATOR_TOKEN, json!({ "mode": "REAL" })).await.unwrap();
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ctx.db.flags_get().await.unwrap().proof_mode, "still PROOF");
    let real: FlagsView = put(OPERATOR_TOKEN, json!({ "mode": "REAL", "confirm_real": true, "paused": false }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((real.mode, real.paused), (Mode::Real, false));
    assert!(!ctx.db.flags_get().await.unwrap().proof_mode);
}

async fn agent_tokens_enqueue_until_revoked(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let token = AgentToken::create(&ctx.db, "writer-bot", &[]).await.unwrap();
    assert!(AgentToken::create(&ctx.db, "writer-bot", &[]).await.is_err(), "one token per name");
    assert!(AgentToken::create(&ctx.db, "bad name", &[]).await.is_err());
    assert_eq!(post_action(&server, &token, post("a-1", "hi")).await.status(), StatusCode::CREATED);
    let names: Vec<String> = AgentToken::list(&ctx.db).await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["writer-bot"]);
    assert!(AgentToken::revoke(&ctx.db, "writer-bot").await.unwrap());
    assert_eq!(post_action(&server, &token, post("a-2", "hi")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(all_actions(&ctx.db).await.len(), 1);
}

/// One bad request and what it must get.
struct Bad {
    what: &'static str,
    method: Method,
    path: String,
    token: Token,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    /// A piece of the error message that says what is wrong.
    says: &'static str,
}

#[derive(Clone, Copy)]
enum Token {
    None,
    Operator,
    Agent,
    Raw(&'static str),
}

fn bad_enqueue(what: &'static str, body: impl Into<Vec<u8>>, status: u16, says: &'static str) -> Bad {
    Bad {
        what,
        method: Method::POST,
        path: "/api/v1/actions".into(),
        token: Token::Operator,
        content_type: Some("application/json"),
        body: body.into(),
        status,
        says,
    }
}

fn bad_json(what: &'static str, body: Value, status: u16, says: &'static str) -> Bad {
    bad_enqueue(what, serde_json::to_vec(&body).unwrap(), status, says)
}

fn bad_get(what: &'static str, path: &str, status: u16, says: &'static str) -> Bad {
    Bad {
        method: Method::GET,
        path: path.into(),
        body: Vec::new(),
        content_type: None,
        ..bad_enqueue(what, "", status, says)
    }
}

fn bad_flags(what: &'static str, token: Token, body: Value, status: u16, says: &'static str) -> Bad {
    Bad { method: Method::PUT, path: "/api/v1/flags".into(), token, ..bad_json(what, body, status, says) }
}

/// The corpus: every way a request can be wrong that an agent or a script is
/// likely to hit.
fn corpus() -> Vec<Bad> {
    let good = post("fresh-key", "hello");
    let with = |field: &str, value: Value| {
        let mut v = good.clone();
        v[field] = value;
        v
    };
    let without = |field: &str| {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(field);
        v
    };
    vec![
        Bad { token: Token::None, ..bad_json("no token", good.clone(), 401, "Bearer") },
        Bad { token: Token::Raw("Bearer not-the-token"), ..bad_json("wrong token", good.clone(), 401, "valid token") },
        Bad { token: Token::Raw("Bearer "), ..bad_json("empty bearer token", good.clone(), 401, "valid token") },
        Bad { token: Token::Raw("Basic dXNlcjpwYXNz"), ..bad_json("basic auth", good.clone(), 401, "Bearer") },
        Bad { token: Token::Raw(OPERATOR_TOKEN), ..bad_json("token without Bearer", good.clone(), 401, "Bearer") },
        bad_enqueue("truncated JSON", r#"{"action_type": "POST_SOCIAL", "idempotency_key": "#, 400, "parse"),
        bad_enqueue("not JSON", "hello", 400, "parse"),
        bad_enqueue("empty body", "", 400, "parse"),
        bad_enqueue("invalid UTF-8", b"{\"action_type\": \"\xff\xfe\"}".to_vec(), 400, "parse"),
        bad_enqueue("trailing garbage", format!("{good} x"), 400, "parse"),
        bad_json("a JSON array", json!([good.clone()]), 422, "invalid type"),
        bad_json("a JSON string", json!("POST_SOCIAL"), 422, "invalid type"),
        Bad { content_type: None, ..bad_json("no content type", good.clone(), 415, "Content-Type") },
        Bad { content_type: Some("text/plain"), ..bad_json("text/plain", good.clone(), 415, "Content-Type") },
        bad_json("missing action_type", without("action_type"), 422, "action_type"),
        bad_json("missing idempotency_key", without("idempotency_key"), 422, "idempotency_key"),
        bad_json("missing payload", without("payload"), 422, "payload"),
        bad_json("action_type a number", with("action_type", json!(5)), 422, "invalid type"),
        bad_json("idempotency_key a number", with("idempotency_key", json!(17)), 422, "invalid type"),
        bad_json("idempotency_key null", with("idempotency_key", Value::Null), 422, "invalid type"),
        bad_json("payload a string", with("payload", json!("hello")), 422, "JSON object"),
        bad_json("payload an array", with("payload", json!(["hello"])), 422, "JSON object"),
        bad_json("payload null", with("payload", Value::Null), 422, "JSON object"),
        bad_json("an unknown field", with("priority", json!(1)), 422, "unknown field"),
        bad_json("unknown action type", with("action_type", json!("SEND_EMAIL")), 422, "unknown action type"),
        bad_json("action type in lower case", with("action_type", json!("post_social")), 422, "unknown action type"),
        bad_json("empty key", with("idempotency_key", json!("")), 422, "empty"),
        bad_json("blank key", with("idempotency_key", json!("   ")), 422, "empty"),
        bad_json("key of 201 characters", with("idempotency_key", json!("k".repeat(201))), 422, "at most 200"),
        bad_json("key with a newline", with("idempotency_key", json!("a\nb")), 422, "control character"),
        bad_json("key with a NUL", with("idempotency_key", json!("a\u{0}b")), 422, "control character"),
        bad_json("payload without text", with("payload", json!({ "body": "hi" })), 422, "\"text\""),
        bad_json("text not a string", with("payload", json!({ "text": 42 })), 422, "\"text\" must be a string"),
        bad_json("empty text", with("payload", json!({ "text": "  " })), 422, "\"text\" is empty"),
        bad_json("payload over 64 KiB", with("payload", json!({ "text": "a".repeat(70_000) })), 422, "at most 65536"),
        bad_json("body over 128 KiB", with("payload", json!({ "text": "a".repeat(140_000) })), 413, "larger than"),
        bad_get("id not a number", "/api/v1/actions/abc", 400, "i64"),
        bad_get("id too large", "/api/v1/actions/99999999999999999999", 400, "i64"),
        bad_get("no such action", "/api/v1/actions/424242", 404, "no action with id 424242"),
        bad_get("unknown status", "/api/v1/actions?status=DONE", 400, "unknown status"),
        bad_get("limit 0", "/api/v1/actions?limit=0", 400, "between 1 and 500"),
        bad_get("limit too large", "/api/v1/actions?limit=501", 400, "between 1 and 500"),
        bad_get("limit not a number", "/api/v1/actions?limit=ten", 400, "limit"),
        bad_get("unknown query parameter", "/api/v1/actions?stauts=PENDING", 400, "unknown field"),
        Bad { token: Token::None, ..bad_get("list without token", "/api/v1/actions", 401, "Bearer") },
        bad_get("unknown API path", "/api/v1/jobs", 404, "no such API path"),
        Bad { method: Method::DELETE, ..bad_get("DELETE an action", "/api/v1/actions/1", 405, "not allowed") },
        bad_flags("agent changes a flag", Token::Agent, json!({ "killed": true }), 403, "may not control the flags"),
        bad_flags("no flag given", Token::Operator, json!({}), 422, "nothing to change"),
        bad_flags("only a reason", Token::Operator, json!({ "reason": "why not" }), 422, "nothing to change"),
        bad_flags("flag as a string", Token::Operator, json!({ "paused": "yes" }), 422, "invalid type"),
        bad_flags("mode in lower case", Token::Operator, json!({ "mode": "real" }), 422, "unknown variant"),
        bad_flags("REAL unconfirmed", Token::Operator, json!({ "mode": "REAL" }), 422, "confirm_real"),
        bad_flags(
            "REAL, confirm false",
            Token::Operator,
            json!({ "mode": "REAL", "confirm_real": false }),
            422,
            "confirm_real",
        ),
        bad_flags(
            "reason too long",
            Token::Operator,
            json!({ "paused": true, "reason": "r".repeat(501) }),
            422,
            "longer than 500",
        ),
        bad_flags("an unknown flag", Token::Operator, json!({ "stopped": true }), 422, "unknown field"),
        bad_flags("flags without token", Token::None, json!({ "paused": true }), 401, "Bearer"),
    ]
}

/// Everything a bad request could have changed.
async fn snapshot(db: &Db) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        all_actions(db).await,
        db.flags_get().await.unwrap(),
        db.flag_changes_recent(1000).await.unwrap(),
        db.action_counts().await.unwrap()
    )
}

async fn every_bad_request_gets_a_clear_4xx_and_writes_nothing(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let agent = AgentToken::create(&ctx.db, "corpus-bot", &[]).await.unwrap();
    // One action, so that some requests meet existing state.
    assert_eq!(post_action(&server, OPERATOR_TOKEN, post("existing", "hello")).await.status(), 201);
    let before = snapshot(&ctx.db).await;
    let corpus = corpus();
    assert!(corpus.len() >= 50, "the corpus has {} cases", corpus.len());
    let mut failures = Vec::new();
    for bad in &corpus {
        let mut request = client().request(bad.method.clone(), server.url(&bad.path));
        request = match bad.token {
            Token::None => request,
            Token::Operator => request.bearer_auth(OPERATOR_TOKEN),
            Token::Agent => request.bearer_auth(&agent),
            Token::Raw(header) => request.header("authorization", header),
        };
        if let Some(ct) = bad.content_type {
            request = request.header("content-type", ct);
        }
        if !bad.body.is_empty() || bad.method != Method::GET {
            request = request.body(bad.body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let is_json = response.headers().get("content-type").is_some_and(|v| v == "application/json");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let error = body["error"].as_str().unwrap_or("");
        if status != bad.status || !is_json || !error.contains(bad.says) {
            failures.push(format!("{}: got {status} {body}, want {} saying {:?}", bad.what, bad.status, bad.says));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), corpus.len(), failures.join("\n"));
    assert_eq!(snapshot(&ctx.db).await, before, "a bad request changed the database");
}

async fn the_openapi_document_describes_every_route(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let response = client().get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the document needs no token");
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let operations: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| format!("{m} {path}")))
        .collect();
    for want in [
        "post /api/v1/actions",
        "post /api/v1/actions/batch",
        "get /api/v1/actions",
        "get /api/v1/actions/{id}",
        "get /api/v1/actions/{id}/artifact",
        "patch /api/v1/actions/{id}",
        "post /api/v1/actions/{id}/approve",
        "post /api/v1/actions/{id}/reject",
        "get /api/v1/flags",
        "put /api/v1/flags",
        "post /api/v1/media",
        "get /api/v1/media/{sha256}",
        "get /api/v1/audit/verify",
    ] {
        assert!(operations.contains(&want.to_string()), "{want} missing from {operations:?}");
    }
    assert_eq!(paths.len(), 10);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let enqueue = &doc["components"]["schemas"]["EnqueueRequest"];
    assert_eq!(enqueue["required"], json!(["action_type", "idempotency_key", "payload"]));
}

on_both_databases!(
    the_artifact_is_served_as_stored,
    enqueue_is_201_then_200_with_the_same_action,
    read_one_and_list_by_status_with_pages,
    flags_are_read_and_changed_by_the_operator_only,
    agent_tokens_enqueue_until_revoked,
    every_bad_request_gets_a_clear_4xx_and_writes_nothing,
    the_openapi_document_describes_every_route,
);
