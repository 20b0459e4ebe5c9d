//! A REAL engine for the approval tests: one armed webhook channel `brand`
//! on the platform stand-in, and a clock moved only by the test. (Each test
//! file uses what it needs of it.)
#![allow(dead_code)]

use std::time::Duration;

use aol::engine::channels::ChannelRequest;
use aol::engine::{Actor, Clock, Engine};
use aol::model::{Action, FlagCommand};
use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::common::TestCtx;
use super::fake_platform::FakePlatform;

/// An admin named `ops`, with a reason.
pub fn ops() -> Actor {
    Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)).because(Some("checked"))
}

#[allow(dead_code)] // each test file uses what it needs
pub struct Setup {
    pub engine: Engine,
    pub clock: Clock,
    pub platform: FakePlatform,
    _dir: tempfile::TempDir,
}

/// 2026-11-27 09:00 UTC, a Friday.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}

/// REAL mode, one armed webhook channel `brand` on the stand-in, the
/// engine's clock at [`start`] and moved only by the test.
pub async fn setup(ctx: &TestCtx) -> Setup {
    let platform = FakePlatform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "approval-test-signing-key\n").unwrap();
    let registry = super::common::local_registry(dir.path(), Duration::from_secs(2));
    let clock = Clock::manual(start());
    let engine = Engine::new(ctx.db.clone(), clock.clone(), registry).await.unwrap();
    let request = ChannelRequest {
        name: "brand".into(),
        kind: "webhook".into(),
        url: format!("{}/hook", platform.base),
        secret_file: Some("secret".into()),
        ..Default::default()
    };
    engine.channel_add(&request, &ops()).await.unwrap();
    engine.channel_arm("brand", true, &ops()).await.unwrap();
    engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();
    Setup { engine, clock, platform, _dir: dir }
}

pub fn post(text: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::json!({ "channel": "brand", "text": text }).as_object().unwrap().clone()
}

pub async fn enqueue(engine: &Engine, key: &str, text: &str) -> Action {
    engine.enqueue("POST_SOCIAL", key, &post(text)).await.unwrap().action
}

pub async fn reread(engine: &Engine, id: i64) -> Action {
    engine.db().action_get(id).await.unwrap().unwrap()
}

/// One tick of the daemon (the clock does not move during it).
/// The request the platform got, as text, and its SHA-256.
pub fn sent(s: &Setup) -> Vec<(String, String)> {
    s.platform
        .received()
        .iter()
        .map(|r| (String::from_utf8_lossy(&r.body).into_owned(), hex::encode(Sha256::digest(&r.body))))
        .collect()
}
