//! Media for posts (issue 19): files uploaded to AOL, named by the SHA-256
//! of their bytes, their type read from the bytes; over the engine, the API
//! and the CLI; checked at enqueue (a payload can only name stored files);
//! kept while an action refers to them, pruned after. Both databases.

mod common;

use aol::engine::media::MAX_MEDIA_BYTES;
use aol::engine::Actor;
use aol::engine::RetentionSettings;
use common::{TestCtx, TestServer, OPERATOR_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn ops() -> Actor {
    Actor::system("test")
}
pub const CHART: &[u8] = include_bytes!("fixtures/chart.png");

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn payload(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn count(ctx: &TestCtx, table: &str) -> i64 {
    let rows: Vec<(i64,)> = ctx.fetch_all_raw(&format!("SELECT COUNT(*) FROM {table}")).await;
    rows[0].0
}

async fn a_file_is_stored_once_under_its_sha256_with_its_type_from_the_bytes(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let added = engine.media_add(&Actor::system("test"), CHART).await.unwrap();
    assert!(added.new);
    assert_eq!(added.info.sha256, sha(CHART));
    assert_eq!((added.info.mime.as_str(), added.info.size), ("image/png", CHART.len() as i64));
    assert_eq!((added.info.width, added.info.height), (Some(60), Some(48)));
    let again = engine.media_add(&Actor::system("test"), CHART).await.unwrap();
    assert!(!again.new, "the same bytes are the same file");
    assert_eq!(count(&ctx, "aol_blobs").await, 1);
    let (bytes, mime) = engine.media_bytes(&sha(CHART)).await.unwrap().unwrap();
    assert_eq!((bytes.as_slice(), mime.as_str()), (CHART, "image/png"));

    // Not an image, an empty file, one too large: refused, nothing stored.
    for (bad, why) in [
        (b"%PDF-1.7 not an image".to_vec(), "not an image AOL can post"),
        (Vec::new(), "empty"),
        (vec![0u8; MAX_MEDIA_BYTES + 1], "AOL takes files up to"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(), "not an image AOL can post"),
    ] {
        let err = engine.media_add(&Actor::system("test"), &bad).await.unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
    assert_eq!(count(&ctx, "aol_blobs").await, 1);
}

async fn a_payload_names_only_stored_files_and_they_live_as_long_as_it_does(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let stored = engine.media_add(&Actor::system("test"), CHART).await.unwrap().info.sha256;
    let unknown = "ab".repeat(32);

    let err = engine
        .enqueue("POST_SOCIAL", "k-unknown", &payload(json!({"text": "x", "images": [{"media": unknown, "alt": "a"}]})))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("the media {unknown} is not a file uploaded to AOL")), "{err}");
    assert_eq!(count(&ctx, "aol_actions").await, 0, "nothing written");

    let post = payload(json!({"text": "x", "images": [{"media": stored, "alt": "the chart"}]}));
    let action = engine.enqueue("POST_SOCIAL", "k-1", &post).await.unwrap().action;
    let refs: Vec<(i64, String)> = ctx.fetch_all_raw("SELECT action_id, sha256 FROM aol_action_media").await;
    assert_eq!(refs, vec![(action.id, stored.clone())]);

    // A file an action refers to cannot go, whatever its age.
    let later = engine.clock().now() + chrono::TimeDelta::days(400);
    assert_eq!(engine.db().blobs_prune(later, 100).await.unwrap(), 0);
    let gone = "DELETE FROM aol_blobs";
    let deleted = std::panic::AssertUnwindSafe(ctx.execute_raw(gone));
    assert!(futures::FutureExt::catch_unwind(deleted).await.is_err(), "the database refuses to delete a file in use");

    // An edit that drops the image lets it go; a fresh upload is kept a week.
    engine.edit(action.id, &payload(json!({"text": "no picture"})), &ops()).await.unwrap();
    assert_eq!(count(&ctx, "aol_action_media").await, 0);
    let fresh = engine.prune(&RetentionSettings::default()).await.unwrap();
    assert_eq!(fresh.media, 0, "uploaded just now: kept for the agent to use");
    ctx.execute_raw("UPDATE aol_blobs SET created_at_utc = '2000-01-01T00:00:00Z'").await;
    let old = engine.prune(&RetentionSettings::default()).await.unwrap();
    assert_eq!(old.media, 1);
    assert_eq!(count(&ctx, "aol_blobs").await, 0);
}

async fn the_api_takes_raw_bytes_and_answers_with_the_sha256(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    let upload = |body: Vec<u8>, content_type: &'static str| {
        http.post(server.url("/api/v1/media"))
            .bearer_auth(OPERATOR_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let first = upload(CHART.to_vec(), "image/png").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body, json!({"sha256": sha(CHART), "size": CHART.len(), "mime": "image/png"}));
    // Declared as JPEG: the bytes say PNG, and the bytes win.
    let again = upload(CHART.to_vec(), "image/jpeg").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["mime"], "image/png");

    let agent = aol::auth::AgentToken::create(&ctx.db, "bot", &[]).await.unwrap();
    let by_agent = http
        .post(server.url("/api/v1/media"))
        .bearer_auth(&agent)
        .header("content-type", "image/png")
        .body(CHART.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(by_agent.status(), StatusCode::OK, "agents upload too");

    let cases: Vec<(Vec<u8>, &str, StatusCode, &str)> = vec![
        (CHART.to_vec(), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type"),
        (CHART.to_vec(), "image/svg+xml", StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type"),
        (CHART[..20].to_vec(), "image/png", StatusCode::UNPROCESSABLE_ENTITY, "cut short"),
        (b"hello".to_vec(), "image/png", StatusCode::UNPROCESSABLE_ENTITY, "not an image"),
        (Vec::new(), "image/png", StatusCode::UNPROCESSABLE_ENTITY, "empty"),
        (vec![0u8; MAX_MEDIA_BYTES + 10], "image/png", StatusCode::PAYLOAD_TOO_LARGE, "larger than"),
    ];
    for (bytes, content_type, status, why) in cases {
        let answer = upload(bytes, content_type).await.unwrap();
        assert_eq!(answer.status(), status, "{content_type}");
        let error = answer.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_string();
        assert!(error.contains(why), "{content_type}: {error}");
    }
    let anonymous = http.post(server.url("/api/v1/media")).header("content-type", "image/png").body(CHART.to_vec());
    assert_eq!(anonymous.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&ctx, "aol_blobs").await, 1);

    let read = http.get(server.url(&format!("/api/v1/media/{}", sha(CHART)))).bearer_auth(OPERATOR_TOKEN);
    let read = read.send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()["content-type"], "image/png");
    assert_eq!(read.headers()["x-content-type-options"], "nosniff");
    assert_eq!(read.bytes().await.unwrap().as_ref(), CHART);
    let page = server.url(&format!("/ui/media/{}", sha(CHART)));
    let unsigned = http.get(&page).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED, "the pages' files need a signed-in person");
    let session = common::sign_in(&http, &server.base, OPERATOR_TOKEN).await;
    let session = session.split(';').next().unwrap().to_string();
    let page = http.get(&page).header("cookie", session).send().await.unwrap();
    assert_eq!(page.bytes().await.unwrap().as_ref(), CHART, "the dashboard shows it");
    for (path, status) in [(format!("/api/v1/media/{}", "0".repeat(64)), 404), ("/api/v1/media/nope".into(), 400)] {
        let answer = http.get(server.url(&path)).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status, "{path}");
    }
}

async fn the_cli_prints_the_sha256_or_json(ctx: TestCtx) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chart.png");
    std::fs::write(&file, CHART).unwrap();
    let aol = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aol")).args(args).env("DATABASE_URL", &ctx.url).output().unwrap()
    };
    let plain = aol(&["media", "add", file.to_str().unwrap()]);
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    assert_eq!(String::from_utf8(plain.stdout).unwrap().trim(), sha(CHART));
    let json_out = aol(&["media", "add", file.to_str().unwrap(), "--json"]);
    let printed: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(printed, json!({"sha256": sha(CHART), "size": CHART.len(), "mime": "image/png"}));

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    for (args, why) in [
        (vec!["media", "add", text.to_str().unwrap()], "not an image AOL can post"),
        (vec!["media", "add", "/no/such/file.png"], "cannot read /no/such/file.png"),
    ] {
        let out = aol(&args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{stderr}");
    }
    assert_eq!(count(&ctx, "aol_blobs").await, 1);
}

on_both_databases!(
    a_file_is_stored_once_under_its_sha256_with_its_type_from_the_bytes,
    a_payload_names_only_stored_files_and_they_live_as_long_as_it_does,
    the_api_takes_raw_bytes_and_answers_with_the_sha256,
    the_cli_prints_the_sha256_or_json,
);
