//! The `aol` binary as a user runs it: exit codes, messages, and what ends up
//! in the database.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TestCtx;
use sha2::{Digest, Sha256};

fn aol(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("AOL_PROOF_MODE")
        .env_remove("AOL_MAX_TICKS")
        .output()
        .expect("run aol")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn daemon_runs_two_ticks_and_exits_zero(ctx: TestCtx) {
    let out = aol(&ctx.url, &["daemon", "--proof", "--ticks", "2", "--tick-interval-seconds", "0.05"]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 2);
    assert!(ctx.db.flags_get().await.unwrap().proof_mode);
}

async fn flags_and_status_round_trip(ctx: TestCtx) {
    let out = aol(&ctx.url, &["flags", "pause", "--reason", "maintenance"]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("pause: done"), "{}", text(&out.stdout));

    let out = aol(&ctx.url, &["status", "--json"]);
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json prints JSON");
    assert_eq!(status["flags"]["paused"], true);
    assert_eq!(status["flags"]["reason"], "maintenance");
    assert!(status["flags"]["updated_by"].as_str().unwrap().starts_with("cli:"));

    let out = aol(&ctx.url, &["flags", "pause"]);
    assert!(text(&out.stdout).contains("already so"), "{}", text(&out.stdout));
    assert_eq!(ctx.db.flag_changes_recent(10).await.unwrap().len(), 1);
}

async fn bad_input_is_refused_and_writes_nothing(ctx: TestCtx) {
    let cases: [(&[&str], &str); 3] = [
        (&["flags", "stop"], "pause, resume, kill, revive, proof, real"),
        (&["daemon", "--ticks", "1", "--tick-interval-seconds", "0"], "must be greater than 0"),
        (&["daemon", "--ticks", "0"], "must be at least 1"),
    ];
    for (args, expected) in cases {
        let out = aol(&ctx.url, args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 0);
    assert!(ctx.db.flag_changes_recent(10).await.unwrap().is_empty());
}

async fn env_settings_are_checked_too(ctx: TestCtx) {
    let out = Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["daemon", "--ticks", "1"])
        .env("DATABASE_URL", &ctx.url)
        .env("AOL_MAX_RETRIES", "-1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("--max-retries"), "{err}");
    assert_eq!(ctx.db.ticks_count().await.unwrap(), 0);
}

/// `aol serve` answers, renders the page from the database, and stops cleanly on SIGTERM.
async fn serve_renders_the_page_and_stops_on_sigterm(ctx: TestCtx) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["serve", "--bind", "127.0.0.1:0", "--tick-interval-seconds", "0.1"])
        .env("DATABASE_URL", &ctx.url)
        // Anyone who reaches it may look (AOL_PUBLIC_READ), so the page shows the state unsigned.
        .env("AOL_PUBLIC_READ", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines();
    let addr = loop {
        let line = lines.next().expect("serve exited early").unwrap();
        if let Some(rest) = line.split("AOL dashboard on http://").nth(1) {
            break rest.trim().to_string();
        }
    };
    let page = get(&format!("http://{addr}/")).await;
    assert!(page.contains("data-testid=\"daemon-state\""), "{page}");
    assert!(page.contains("PROOF"));
    assert_eq!(get(&format!("http://{addr}/healthz")).await, "ok");

    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "serve ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(ctx.db.ticks_count().await.unwrap() >= 1, "the in-process daemon never ticked");
}

async fn get(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}

async fn enqueue_then_daemon_posts_in_proof(ctx: TestCtx) {
    let dir = tempfile::tempdir().unwrap();
    let payload = r#"{"text":"Hello from the CLI"}"#;
    let out = aol(&ctx.url, &["enqueue", "--type", "POST_SOCIAL", "--key", "cli-1", "--payload", payload, "--json"]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["action"]["status"], "PENDING");

    let out = aol(&ctx.url, &["enqueue", "--type", "POST_SOCIAL", "--key", "cli-1", "--payload", payload]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("duplicate key: nothing added"), "{}", text(&out.stdout));

    let out = aol(&ctx.url, &["daemon", "--proof", "--ticks", "1", "--tick-interval-seconds", "0.05"]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let action = ctx.db.action_by_key("cli-1").await.unwrap().unwrap();
    assert_eq!(action.status, "SUCCESS");
    let logs = ctx.db.logs_for_action(action.id).await.unwrap();
    let sha = logs.iter().find_map(|l| l.artifact_sha256.clone()).expect("artifact logged");
    // The artifact, from the database: printed, and exported as a file.
    let id = action.id.to_string();
    let out = aol(&ctx.url, &["artifact", &id]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Hello from the CLI"), "{}", text(&out.stdout));
    assert_eq!(hex::encode(Sha256::digest(&out.stdout)), sha, "the bytes printed are the ones logged");
    let file = dir.path().join("export").join("artifact.json");
    std::fs::create_dir(file.parent().unwrap()).unwrap();
    let out = aol(&ctx.url, &["artifact", &id, "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(hex::encode(Sha256::digest(std::fs::read(&file).unwrap())), sha);
    assert!(text(&out.stderr).contains(&sha), "{}", text(&out.stderr));
    let out = aol(&ctx.url, &["artifact", "999999"]);
    assert!(!out.status.success() && text(&out.stderr).contains("no action with id 999999"));

    let out = aol(&ctx.url, &["actions", "--status", "success", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let out = aol(&ctx.url, &["status"]);
    let status = text(&out.stdout);
    assert!(status.contains("SUCCESS 1"), "{status}");
    assert!(status.contains("lease:"), "{status}");
}

async fn enqueue_refuses_bad_input(ctx: TestCtx) {
    let cases: [(&[&str], &str); 4] = [
        (&["enqueue", "--type", "POST_SOCIAL", "--key", "k", "--payload", "not json"], "not valid JSON"),
        (&["enqueue", "--type", "POST_SOCIAL", "--key", "k", "--payload", "[1]"], "must be a JSON object"),
        (&["enqueue", "--type", "NOPE", "--key", "k", "--payload", "{\"text\":\"x\"}"], "unknown action type"),
        (
            &["enqueue", "--type", "POST_SOCIAL", "--key", "", "--payload", "{\"text\":\"x\"}"],
            "invalid idempotency key",
        ),
    ];
    for (args, expected) in cases {
        let out = aol(&ctx.url, args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(text(&out.stderr).contains(expected), "{args:?}: {}", text(&out.stderr));
    }
    assert!(ctx.db.actions_recent(None, 10).await.unwrap().is_empty());
}

async fn requeue_and_cancel_from_the_cli(ctx: TestCtx) {
    let out =
        aol(&ctx.url, &["enqueue", "--type", "POST_SOCIAL", "--key", "c", "--payload", r#"{"text":"x"}"#, "--json"]);
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["action"]["id"].as_i64().unwrap();
    let out = aol(&ctx.url, &["requeue", &id.to_string()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("only FAILED or DLQ"), "{}", text(&out.stderr));
    let out = aol(&ctx.url, &["cancel", &id.to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("is now CANCELLED"));
    assert_eq!(ctx.db.action_get(id).await.unwrap().unwrap().status, "CANCELLED");
    let out = aol(&ctx.url, &["cancel", "424242"]);
    assert!(text(&out.stderr).contains("no action with id 424242"));
}

async fn show_tells_one_actions_story(ctx: TestCtx) {
    let out = aol(&ctx.url, &["enqueue", "--type", "POST_SOCIAL", "--key", "story", "--payload", r#"{"text":"hi"}"#]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&aol(&ctx.url, &["actions"]).stdout);
    assert!(listed.contains("NEXT TRY") && listed.contains("now"), "a due action says so:\n{listed}");
    assert!(aol(&ctx.url, &["cancel", "1"]).status.success());

    let out = aol(&ctx.url, &["show", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for part in ["action #1", "\"story\"", "CANCELLED", r#"{"text":"hi"}"#, "cancelled by cli:"] {
        assert!(shown.contains(part), "{part:?} missing from:\n{shown}");
    }
    let json: serde_json::Value = serde_json::from_slice(&aol(&ctx.url, &["show", "1", "--json"]).stdout).unwrap();
    assert_eq!(json["action"]["status"], "CANCELLED");
    assert_eq!(json["logs"].as_array().unwrap().len(), 1);

    let out = aol(&ctx.url, &["show", "99"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no action with id 99"), "{}", text(&out.stderr));
}

async fn backup_copies_sqlite_and_points_postgres_to_pg_dump(ctx: TestCtx) {
    assert!(aol(&ctx.url, &["enqueue", "--type", "POST_SOCIAL", "--key", "kept", "--payload", r#"{"text":"x"}"#])
        .status
        .success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.db");
    let out = aol(&ctx.url, &["backup", file.to_str().unwrap()]);
    match ctx.backend {
        common::Backend::Sqlite => {
            assert!(out.status.success(), "{}", text(&out.stderr));
            let copy = aol::storage::Db::connect(&format!("sqlite://{}", file.display())).await.unwrap();
            assert_eq!(copy.action_by_key("kept").await.unwrap().unwrap().status, "PENDING");
            copy.close().await;
            let again = aol(&ctx.url, &["backup", file.to_str().unwrap()]);
            assert!(!again.status.success(), "an existing file is never overwritten");
            assert!(text(&again.stderr).contains("exists already"), "{}", text(&again.stderr));
        }
        common::Backend::Postgres => {
            assert!(!out.status.success());
            assert!(text(&out.stderr).contains("pg_dump"), "{}", text(&out.stderr));
            assert!(!file.exists());
        }
    }
}

/// Global options go anywhere; `aol serve`'s own options before another
/// subcommand are refused, not ignored; `--proof-mode` takes 0 or 1 like its
/// env var.
async fn options_go_where_they_belong(ctx: TestCtx) {
    let out = aol(&ctx.url, &["--log-format", "json", "status"]);
    assert!(out.status.success(), "a global option before the subcommand: {}", text(&out.stderr));
    let out = aol(&ctx.url, &["status", "--log-format", "json"]);
    assert!(out.status.success(), "a global option after the subcommand: {}", text(&out.stderr));

    let out = aol(&ctx.url, &["--bind", "127.0.0.1:1", "status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--bind belongs to `aol serve`"), "{err}");

    let out = aol(&ctx.url, &["daemon", "--proof-mode", "0", "--ticks", "1", "--tick-interval-seconds", "0.05"]);
    assert!(out.status.success(), "--proof-mode 0: {}", text(&out.stderr));
    assert!(!ctx.db.flags_get().await.unwrap().proof_mode, "--proof-mode 0 starts in REAL");
    let out = aol(&ctx.url, &["daemon", "--proof-mode", "maybe", "--ticks", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected 1 (PROOF) or 0 (REAL)"), "{}", text(&out.stderr));
}

on_both_databases!(
    options_go_where_they_belong,
    show_tells_one_actions_story,
    backup_copies_sqlite_and_points_postgres_to_pg_dump,
    enqueue_then_daemon_posts_in_proof,
    enqueue_refuses_bad_input,
    requeue_and_cancel_from_the_cli,
    daemon_runs_two_ticks_and_exits_zero,
    flags_and_status_round_trip,
    bad_input_is_refused_and_writes_nothing,
    env_settings_are_checked_too,
    serve_renders_the_page_and_stops_on_sigterm,
);

#[test]
fn unusable_database_url_names_the_setting() {
    let out = aol("mysql://localhost/x", &["status"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("DATABASE_URL"), "{err}");
}

#[test]
fn daemon_with_unreachable_database_exits_non_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["daemon", "--ticks", "1"])
        .env("DATABASE_URL", "postgres://postgres:secret@127.0.0.1:1/aol")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(!err.contains("secret"), "password leaked: {err}");
}
