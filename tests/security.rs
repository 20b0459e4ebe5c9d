//! Findings of the security review (issue 20) fixed so far, each shown from
//! the outside: every answer forbids framing and sniffing; a platform's
//! answer is read only so far and kept short wherever it is stored; a link
//! a platform or an operator gives for a post is a link only if it is http
//! or https; sign-in stops after ten wrong tokens in a minute; a request
//! naming a host that is not this server's (DNS rebinding) is refused. Both
//! databases.

mod common;
mod fake_platform;

use std::time::Duration;

use aol::engine::channels::ChannelRequest;
use aol::engine::Actor;
use aol::engine::{Clock, Engine};
use aol::model::{FlagCommand, Policy};
use aol::storage::Resolution;
use common::{run_ticks, TestCtx, TestServer};
use fake_platform::{Answer, FakePlatform};

fn ops() -> Actor {
    Actor::system("test")
}

async fn every_answer_forbids_framing_and_sniffing(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    for path in ["/", "/actions/1", "/healthz", "/api/v1/flags", "/api/v1/openapi.json", "/no/such/page"] {
        let answer = http.get(server.url(path)).send().await.unwrap();
        let header = |name: &str| answer.headers().get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert!(header("content-security-policy").unwrap_or_default().contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(header("referrer-policy").as_deref(), Some("same-origin"), "{path}");
    }
    // A page allows only its own scripts: the inline loader carries this answer's nonce.
    let page = http.get(server.url("/")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    let html = page.text().await.unwrap();
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(policy.contains("script-src 'self' 'nonce-") && policy.contains("object-src 'none'"), "{policy}");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the loader carries the nonce");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let again = http.get(server.url("/")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(nonce), "a new nonce each time");
}

async fn sign_in_is_refused_for_a_minute_after_ten_wrong_tokens(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    let sign_in = |token: &'static str| {
        http.post(server.url("/ui/login")).header("origin", &server.base).form(&[("secret", token)]).send()
    };
    for _ in 0..10 {
        assert_eq!(sign_in("a-wrong-guess").await.unwrap().status(), 401);
    }
    let refused = sign_in(common::OPERATOR_TOKEN).await.unwrap();
    assert_eq!(refused.status(), 429, "even the right token waits now");
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((50..=61).contains(&wait), "{wait}");
    assert!(refused.headers().get("set-cookie").is_none(), "no session");
    assert!(refused.text().await.unwrap().contains("too many wrong sign-ins"));
}

async fn a_request_naming_another_host_is_refused(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    let port = server.base.rsplit(':').next().unwrap().to_string();
    for (host, allowed) in [
        (format!("127.0.0.1:{port}"), true),
        (format!("localhost:{port}"), true),
        ("LOCALHOST".to_string(), true),
        (format!("[::1]:{port}"), true),
        ("10.1.2.3".to_string(), true),
        // A page's own name made to point at this machine (DNS rebinding).
        (format!("attacker.example:{port}"), false),
        ("localhost.attacker.example".to_string(), false),
        ("".to_string(), false),
    ] {
        for path in ["/", "/ui/dashboard", "/api/v1/flags", "/healthz"] {
            let answer = http.get(server.url(path)).header("host", &host).send().await.unwrap();
            if allowed {
                assert_ne!(answer.status(), 403, "{host} {path}");
            } else {
                assert_eq!(answer.status(), 403, "{host} {path}");
                let body: serde_json::Value = answer.json().await.unwrap();
                assert!(body["error"].as_str().unwrap().contains("AOL_ALLOWED_HOSTS"), "{body}");
            }
        }
    }
    // A name the operator allows is answered.
    assert!(aol::server::host_allowed(Some("aol.example.com:443"), &["aol.example.com".to_string()]));
    assert!(!aol::server::host_allowed(Some("aol.example.com.evil"), &["aol.example.com".to_string()]));
}

/// REAL mode with an armed webhook channel `hook` on the stand-in, posting without asking.
async fn webhook_engine(ctx: &TestCtx, platform: &FakePlatform, dir: &std::path::Path) -> Engine {
    let secret = dir.join("secret");
    std::fs::write(&secret, "security-test-secret\n").unwrap();
    let registry = common::local_registry(dir, Duration::from_secs(5));
    let engine = Engine::new(ctx.db.clone(), Clock::System, registry).await.unwrap();
    let request = ChannelRequest {
        name: "hook".into(),
        kind: "webhook".into(),
        url: format!("{}/hook", platform.base),
        secret_file: Some("secret".into()),
        ..Default::default()
    };
    engine.channel_add(&request, &ops()).await.unwrap();
    engine.channel_arm("hook", true, &ops()).await.unwrap();
    engine.policy_set("hook", "POST_SOCIAL", Policy::Auto, &ops()).await.unwrap();
    engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();
    engine
}

async fn post(engine: &Engine, key: &str) -> i64 {
    let payload = serde_json::json!({"channel": "hook", "text": "Hello"});
    engine.enqueue("POST_SOCIAL", key, payload.as_object().unwrap()).await.unwrap().action.id
}

async fn a_platforms_huge_answer_is_read_only_so_far_and_kept_short(ctx: TestCtx) {
    let platform = FakePlatform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = webhook_engine(&ctx, &platform, dir.path()).await;
    let huge = format!(r#"{{"error":"boom","message":"{}"}}"#, "x".repeat(5_000_000));
    platform.script([Answer::Raw(400, vec![], huge), Answer::Raw(400, vec![], "y".repeat(3_000_000))]);
    let (first, second) = (post(&engine, "huge-json").await, post(&engine, "huge-text").await);
    run_ticks(&engine, 1).await;
    for id in [first, second] {
        let action = engine.db().action_get(id).await.unwrap().unwrap();
        assert_eq!(action.status, "FAILED", "a 400 is a refusal");
        let error = action.last_error.unwrap();
        assert!(error.len() < 1_000, "kept short: {} bytes", error.len());
        assert!(error.contains("HTTP 400") && error.contains("(cut)"), "{error}");
        let lines = engine.db().logs_for_action(id).await.unwrap();
        assert!(lines.iter().all(|l| l.message.len() < 1_500), "log lines kept short");
    }
}

async fn only_an_http_link_is_ever_a_link(ctx: TestCtx) {
    let platform = FakePlatform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = webhook_engine(&ctx, &platform, dir.path()).await;
    platform.script([Answer::Raw(200, vec![], r#"{"id":"p1","url":"javascript:alert(document.cookie)"}"#.into())]);
    let id = post(&engine, "js-link").await;
    run_ticks(&engine, 1).await;
    let action = engine.db().action_get(id).await.unwrap().unwrap();
    assert_eq!((action.status.as_str(), action.remote_id.as_deref()), ("SUCCESS", Some("p1")));
    assert_eq!(action.remote_url, None, "a javascript: link is not kept");

    // An operator's link when settling an UNCONFIRMED post: the same rule.
    ctx.execute_raw(&format!("UPDATE aol_actions SET status = 'UNCONFIRMED' WHERE id = {id}")).await;
    for bad in ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://x.example/post"] {
        let posted = Resolution::Posted { remote_id: None, remote_url: Some(bad.into()) };
        let err = engine.resolve_unconfirmed(id, &posted, &Actor::system("ops")).await.unwrap_err().to_string();
        assert!(err.contains("is not a link to the post"), "{bad}: {err}");
    }
    assert_eq!(engine.db().action_get(id).await.unwrap().unwrap().status, "UNCONFIRMED", "nothing changed");
    let posted = Resolution::Posted { remote_id: None, remote_url: Some("https://hooks.example/p1".into()) };
    engine.resolve_unconfirmed(id, &posted, &Actor::system("ops")).await.unwrap();

    // And a link stored before this rule is shown as text, not as a link.
    ctx.execute_raw(&format!("UPDATE aol_actions SET remote_url = 'javascript:alert(1)' WHERE id = {id}")).await;
    let server = TestServer::start(&ctx.db).await;
    let page = reqwest::get(server.url(&format!("/actions/{id}"))).await.unwrap().text().await.unwrap();
    assert!(!page.contains("href=\"javascript:"), "no javascript: link on the page");
}

on_both_databases!(
    every_answer_forbids_framing_and_sniffing,
    a_request_naming_another_host_is_refused,
    sign_in_is_refused_for_a_minute_after_ten_wrong_tokens,
    a_platforms_huge_answer_is_read_only_so_far_and_kept_short,
    only_an_http_link_is_ever_a_link,
);
