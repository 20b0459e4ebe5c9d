//! A kill -9 between a change and its notification's delivery (the rest of
//! tests/notify.rs, in the same test binary): a new server delivers it.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::{notifier, wait_for_secs, Got};
use crate::common::{self, TestCtx};
use crate::on_both_databases;
use crate::real_setup::ops;

/// `aol serve` on a free port over `ctx`'s database, up; killed when dropped.
struct Serve(std::process::Child);

impl Serve {
    async fn start(ctx: &TestCtx) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_aol"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--tick-interval-seconds", "0.2"])
            .env("DATABASE_URL", &ctx.url)
            .env("AOL_OPERATOR_TOKEN", common::OPERATOR_TOKEN)
            .env("AOL_ALLOW_PRIVATE_CHANNELS", "1")
            .env("AOL_SECRET_NOTIFY_TEST", "notify-test-secret")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let serve = Serve(child);
        for _ in 0..300 {
            let up = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aol serve did not come up");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill(); // SIGKILL: nothing runs on the way out
        let _ = self.0.wait();
    }
}

async fn a_kill_between_the_change_and_its_delivery_still_delivers(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    // The receiver is down at first: its port is free, nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    engine.notifier_add(&notifier("ops", &url, "paused,killed"), &ops()).await.unwrap();
    let serve = Serve::start(&ctx).await;
    let paused = std::process::Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["flags", "pause"])
        .env("DATABASE_URL", &ctx.url)
        .env_remove("AOL_TOKEN")
        .output()
        .unwrap();
    assert!(paused.status.success(), "{}", String::from_utf8_lossy(&paused.stderr));
    // The server tried (the receiver is down), then is killed -9.
    let mut tried = false;
    for _ in 0..300 {
        let rows = ctx.db.outbox_of("ops").await.unwrap();
        if rows.first().is_some_and(|r| r.attempts >= 1) {
            tried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(tried, "the server never tried to deliver");
    drop(serve);
    let row = ctx.db.outbox_of("ops").await.unwrap().remove(0);
    assert_eq!((row.event.as_str(), row.delivered_at_utc), ("paused", None));

    // The receiver comes up; a new server delivers what the dead one could not.
    let got: Got = Arc::default();
    let record = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push((headers, body.to_vec()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let _serve = Serve::start(&ctx).await;
    wait_for_secs(&got, 1, 10).await;
    let (headers, body) = got.lock().unwrap()[0].clone();
    assert_eq!(headers["x-aol-event-id"].to_str().unwrap(), row.id.to_string());
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((&body["event"], &body["data"]["flag"]), (&Value::from("paused"), &Value::from("paused")));
}

on_both_databases!(a_kill_between_the_change_and_its_delivery_still_delivers);
