//! The real `aol serve`, logging JSON at debug level, used through every door
//! (API with operator and agent tokens, dashboard sign-in, pages, metrics, a
//! PROOF and a REAL post on a webhook channel): no secret appears in its log,
//! in its artifacts or in anything it serves, and every action attempt is
//! logged with its id and key.

mod common;
mod fake_platform;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{Backend, TestCtx};
use serde_json::{json, Value};

const OPERATOR: &str = "operator-secret-token-5f2a9c";
const LLM_KEY: &str = "sk-llm-secret-key-8d1e7b";
const DB_PASSWORD: &str = "db-secret-password-3c6f";
const CHANNEL_SECRET: &str = "channel-signing-secret-9b4e1d";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn nothing_secret_is_logged_or_served(ctx: TestCtx) {
    // The database password to look for is the one in the URL the server is
    // given: the test URL's own, or (PostgreSQL here trusts local users, so
    // one is accepted and ignored) one put in. SQLite has none.
    let (url, db_password) = match ctx.backend {
        Backend::Postgres => {
            let mut url = url::Url::parse(&ctx.url).expect("the test database URL parses");
            if url.password().is_none() {
                url.set_password(Some(DB_PASSWORD)).unwrap();
            }
            let password = url.password().expect("a password to look for").to_string();
            assert!(password.len() >= 4, "the database password {password:?} is too short to look for");
            (url.to_string(), Some(password))
        }
        Backend::Sqlite => (ctx.url.clone(), None),
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["token", "agent-add", "newsroom-bot"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(agent.status.success(), "{}", String::from_utf8_lossy(&agent.stderr));
    let agent_token = String::from_utf8(agent.stdout).unwrap().trim().to_string();
    assert_eq!(agent_token.len(), 64);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log_path = dir.path().join("serve.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_aol"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--tick-interval-seconds", "0.1"])
            .env("DATABASE_URL", &url)
            .env("AOL_OPERATOR_TOKEN", OPERATOR)
            .env("AOL_ALLOW_PRIVATE_CHANNELS", "1")
            .env("OPENAI_API_KEY", LLM_KEY)
            .env("AOL_SECRET_TEST_HOOK", CHANNEL_SECRET)
            .env("AOL_LOG_FORMAT", "json")
            .env("RUST_LOG", "debug")
            .env_remove("AOL_PROOF_MODE")
            // A file, not a pipe: a pipe nobody reads fills up and stops the server.
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut served = String::new();
    let post = |token: &str, key: &str| {
        http.post(format!("{base}/api/v1/actions"))
            .bearer_auth(token)
            .json(&json!({ "action_type": "POST_SOCIAL", "idempotency_key": key, "payload": { "text": "hello" } }))
            .send()
    };
    for (token, key) in [(OPERATOR, "by-operator"), (agent_token.as_str(), "by-agent")] {
        let r = post(token, key).await.unwrap();
        assert_eq!(r.status(), 201);
        served += &r.text().await.unwrap();
    }
    for change in [json!({ "paused": true, "reason": "check" }), json!({ "paused": false })] {
        let r = http.put(format!("{base}/api/v1/flags")).bearer_auth(OPERATOR).json(&change).send().await.unwrap();
        assert_eq!(r.status(), 200);
        served += &r.text().await.unwrap();
    }
    // Wrong tokens are refused without being echoed.
    let r = post(&format!("{OPERATOR}x"), "refused").await.unwrap();
    assert_eq!(r.status(), 401);
    served += &r.text().await.unwrap();
    let cookie = common::sign_in(&http, &base, OPERATOR).await;
    assert!(!cookie.contains(OPERATOR), "the session cookie is not the token itself");

    // Both actions run (PROOF) before the log is read.
    let started = Instant::now();
    loop {
        let r = http.get(format!("{base}/api/v1/actions?status=SUCCESS")).bearer_auth(OPERATOR).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        if body["actions"].as_array().unwrap().len() == 2 {
            served += &body.to_string();
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the actions did not run: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A webhook channel, its secret in the server's environment: one post in
    // PROOF, then one in REAL.
    let hook = fake_platform::FakePlatform::start().await;
    let mut cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_aol"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("AOL_ALLOW_PRIVATE_CHANNELS", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        served += &String::from_utf8_lossy(&out.stdout);
    };
    cli(&[
        "channel",
        "add",
        "hook",
        "--kind",
        "webhook",
        "--url",
        &format!("{}/hook", hook.base),
        "--secret-env",
        "AOL_SECRET_TEST_HOOK",
    ]);
    cli(&["channel", "arm", "hook"]);
    cli(&["policy", "set", "hook", "auto"]);
    cli(&["channel", "list", "--json"]);
    let to_hook = |key: &'static str| {
        http.post(format!("{base}/api/v1/actions"))
            .bearer_auth(OPERATOR)
            .json(&json!({ "action_type": "POST_SOCIAL", "idempotency_key": key, "payload": { "channel": "hook", "text": "hi" } }))
            .send()
    };
    served += &to_hook("hook-proof").await.unwrap().text().await.unwrap();
    wait_for_success(&http, &base, 3).await;
    let real = json!({ "mode": "REAL", "confirm_real": true });
    let r = http.put(format!("{base}/api/v1/flags")).bearer_auth(OPERATOR).json(&real).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A switch to REAL applies from the next tick: a tick that began in PROOF
    // may still claim a post enqueued now and run it in PROOF.
    wait_for_tick_after(&url, Utc::now()).await;
    served += &to_hook("hook-real").await.unwrap().text().await.unwrap();
    served += &wait_for_success(&http, &base, 4).await;
    let sent = hook.received();
    assert_eq!(sent.len(), 1, "one REAL post");
    assert!(sent[0].headers["x-aol-signature"].contains(",v1="), "signed with the secret, not carrying it");

    for path in ["/", "/actions/1", "/actions/3", "/actions/4", "/metrics", "/api/v1/openapi.json", "/readyz"] {
        served += &http.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
    }
    let session = common::sign_in(&http, &base, OPERATOR).await;
    let session = session.split(';').next().unwrap().to_string();
    for (endpoint, form) in [("dashboard", ""), ("action", "id=1")] {
        let r = http
            .post(format!("{base}/ui/{endpoint}"))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "/ui/{endpoint}: {}", r.status());
        served += &r.text().await.unwrap();
    }
    assert!(served.contains("configured"), "the dashboard says an LLM key is configured");

    let _ = server.0.kill();
    let _ = server.0.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();

    // Every artifact, as its log line holds it.
    let mut artifacts = String::new();
    for line in ctx.db.logs_latest(1000).await.unwrap().iter().filter(|l| l.artifact_sha256.is_some()) {
        artifacts += &String::from_utf8(ctx.db.artifact_bytes(line.id).await.unwrap().expect("stored")).unwrap();
    }
    assert!(artifacts.contains("\"text\":\"hi\""), "the channel post's PROOF artifact is there: {artifacts}");
    let secrets =
        [Some(OPERATOR), Some(LLM_KEY), db_password.as_deref(), Some(agent_token.as_str()), Some(CHANNEL_SECRET)];
    for secret in secrets.into_iter().flatten() {
        assert!(!log.contains(secret), "a secret is in the log:\n{log}");
        assert!(!served.contains(secret), "a secret was served");
        assert!(!artifacts.contains(secret), "a secret is in an artifact");
    }
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    let odd = lines.iter().find(|l| !(l["level"].is_string() && l["timestamp"].is_string() && l["target"].is_string()));
    assert!(odd.is_none(), "a log line without level, timestamp or target: {odd:?}");
    for key in ["by-operator", "by-agent"] {
        for message in ["attempt started", "attempt ended"] {
            assert!(
                lines.iter().any(|l| l["message"] == message && l["key"] == key && l["action_id"].is_i64()),
                "no {message:?} line with the key {key} and an action id"
            );
        }
    }
}

/// Waits until `n` actions are SUCCESS; the API's answer.
async fn wait_for_success(http: &reqwest::Client, base: &str, n: usize) -> String {
    let started = Instant::now();
    loop {
        let r = http.get(format!("{base}/api/v1/actions?status=SUCCESS")).bearer_auth(OPERATOR).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        if body["actions"].as_array().unwrap().len() == n {
            return body.to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the actions did not run: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Until the daemon has started a tick after `after` (read with `aol status`).
async fn wait_for_tick_after(url: &str, after: DateTime<Utc>) {
    let started = Instant::now();
    loop {
        let out = Command::new(env!("CARGO_BIN_EXE_aol")).args(["status", "--json"]).env("DATABASE_URL", url).output();
        let status: Value = serde_json::from_slice(&out.unwrap().stdout).unwrap();
        let tick_start = status["last_tick"]["started_at_utc"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok());
        if tick_start.is_some_and(|t| t > after) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no tick started after {after}: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

on_both_databases!(nothing_secret_is_logged_or_served);
