//! Bad input to the dashboard's server functions (`/ui/*`), as a browser or a
//! script could send it, signed in as the operator: each request gets a 4xx
//! with a message (arguments that do not parse: 400, not leptos's 500), the
//! server keeps answering, and nothing is written.

mod common;

use aol::storage::Db;
use common::{TestCtx, TestServer, OPERATOR_TOKEN};

async fn snapshot(db: &Db) -> String {
    let actions = db.actions_recent(None, 1000).await.unwrap();
    format!(
        "{actions:?}\n{:?}\n{:?}\n{:?}",
        db.flags_get().await.unwrap(),
        db.flag_changes_recent(1000).await.unwrap(),
        db.action_counts().await.unwrap()
    )
}

async fn every_bad_argument_gets_a_clear_4xx_and_writes_nothing(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    let session = common::sign_in(&http, &server.base, OPERATOR_TOKEN).await;
    let cookie = session.split(';').next().unwrap().to_string();
    // A form POST from the dashboard's own origin, signed in.
    let post = |path: &str, body: Vec<u8>| {
        http.post(server.url(path))
            .header("Origin", &server.base)
            .header("Cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // One action, so that some requests meet existing state.
    let ok = post("/ui/enqueue", "key=existing&text=hello".into()).await.unwrap();
    assert!(ok.status().is_success(), "a good enqueue: {}", ok.status());
    let before = snapshot(&ctx.db).await;

    let long_key = "k".repeat(201);
    let long_text = "x".repeat(10_001);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("/ui/flag", "command=explode&confirm=false".into(), "explode"),
        ("/ui/flag", "confirm=false".into(), "missing field `command`"),
        ("/ui/flag", "command=real&confirm=false".into(), "must be confirmed"),
        ("/ui/flag", "command=pause&confirm=maybe".into(), "not `true` or `false`"),
        ("/ui/enqueue", "key=&text=hi".into(), "idempotency key"),
        ("/ui/enqueue", "key=%20%20&text=hi".into(), "idempotency key"),
        ("/ui/enqueue", format!("key={long_key}&text=hi").into_bytes(), "idempotency key"),
        ("/ui/enqueue", "key=a%01b&text=hi".into(), "idempotency key"),
        ("/ui/enqueue", "key=fresh&text=".into(), "text"),
        ("/ui/enqueue", format!("key=fresh&text={long_text}").into_bytes(), "text"),
        ("/ui/enqueue", "key=fresh".into(), "missing field `text`"),
        ("/ui/action_change", "id=abc&change=requeue".into(), "invalid digit"),
        ("/ui/action_change", "id=999999&change=requeue".into(), "999999"),
        ("/ui/action_change", "id=1&change=requeue".into(), "PENDING"),
        ("/ui/action_change", "id=-5&change=cancel".into(), "-5"),
        ("/ui/action_change", "change=cancel".into(), "missing field `id`"),
        ("/ui/action_change", "id=1".into(), "missing field `change`"),
        ("/ui/action_change", "id=1&change=delete".into(), "delete"),
        ("/ui/action_change", "id=1&change=send_again".into(), "PENDING"),
        ("/ui/action_change", "id=1&change=posted&url=javascript:alert(1)".into(), "not a link"),
        ("/ui/action_change", "id=1&change=requeue&url=https://x.example/1".into(), "only"),
        ("/ui/channel_change", "name=nope&change=arm".into(), "nope"),
        ("/ui/channel_change", "name=nope&change=explode".into(), "explode"),
        ("/ui/action", "id=12abc".into(), "invalid digit"),
        ("/ui/dashboard", "filter[before_id]=soon".into(), "invalid digit"),
        ("/ui/login", "secret=".into(), "not the operator token"),
        ("/ui/login", "name=nobody&secret=guess".into(), "wrong name or password"),
        ("/ui/login", "token=x".into(), "missing field `secret`"),
        // Found by the request fuzz target: a body that is not UTF-8.
        ("/ui/action_change", vec![0xFF], "utf-8"),
        ("/ui/enqueue", b"key=k&text=\xC3".to_vec(), "utf-8"),
    ];
    let mut failures = Vec::new();
    for (path, body, expected) in &cases {
        let response = post(path, body.clone()).await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let shown: String = String::from_utf8_lossy(body).chars().take(60).collect();
        if !status.is_client_error() {
            failures.push(format!("{path} {shown}: {status} (want 4xx): {text}"));
        } else if text.trim().is_empty() || !text.contains(expected) {
            failures.push(format!("{path} {shown}: {status}, message {text:?} lacks {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert_eq!(snapshot(&ctx.db).await, before, "a refused request changed something");
    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert!(health.status().is_success(), "the server still answers");
}

on_both_databases!(every_bad_argument_gets_a_clear_4xx_and_writes_nothing);
