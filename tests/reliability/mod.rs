//! What the reliability tests (crash, split brain) share: real `aol daemon`
//! processes, a queue of PROOF posts, and the end-of-run check that nothing
//! was lost, failed or done twice.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aol::engine::Actor;
use aol::engine::NewItem;
use sha2::{Digest, Sha256};

use crate::common::TestCtx;

/// Prints a run's figures and appends them to `target/tmp/reliability-report.txt`
/// (the test command shows that file at the end: libtest hides a passing
/// test's output).
pub fn report(line: &str) {
    use std::io::Write;
    eprintln!("{line}");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-report.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{line}");
    }
}

/// Whether `AOL_RELIABILITY=long` asked for the long runs.
pub fn long() -> bool {
    std::env::var("AOL_RELIABILITY").as_deref() == Ok("long")
}

/// A seed for the run's random choices: `AOL_RELIABILITY_SEED` replays one.
pub fn seed() -> u64 {
    std::env::var("AOL_RELIABILITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random)
}

/// Enqueues `n` PROOF posts, keys `{prefix}-0`….
pub async fn enqueue_posts(ctx: &TestCtx, prefix: &str, n: usize) {
    let engine = crate::common::engine(&ctx.db).await;
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let payloads: Vec<_> = (0..n)
        .map(|i| aol::engine::queue::parse_payload(&format!(r#"{{"text": "post number {i}"}}"#)).unwrap())
        .collect();
    let items: Vec<NewItem> =
        keys.iter().zip(&payloads).map(|(key, payload)| NewItem::new("POST_SOCIAL", key, payload)).collect();
    engine.enqueue_many(&Actor::system("test"), &items).await.unwrap();
}

/// `aol daemon --proof` on `url` with these extra arguments; its output (JSON
/// log lines) goes to `log`.
pub fn start_daemon(url: &str, log: &Path, args: &[&str]) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["daemon", "--proof", "--max-retries", MAX_RETRIES])
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "info")
        .env("AOL_LOG_FORMAT", "json")
        .env_remove("AOL_MAX_TICKS")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start aol daemon")
}

/// Fails the test, with the daemon's own words, if it has exited.
pub fn assert_running(daemon: &mut Child, log: &Path) {
    if let Some(status) = daemon.try_wait().unwrap() {
        let words = std::fs::read_to_string(log).unwrap_or_default();
        panic!("aol daemon exited ({status}): {words}");
    }
}

/// Actions not finished yet.
pub async fn unfinished(ctx: &TestCtx) -> i64 {
    let counts = ctx.db.action_counts().await.unwrap();
    counts.iter().filter(|c| matches!(c.status.as_str(), "PENDING" | "RETRY" | "RUNNING")).map(|c| c.count).sum()
}

/// Waits until every action is finished, checking on `daemons` meanwhile.
pub async fn wait_drained(ctx: &TestCtx, daemons: &mut [(Child, std::path::PathBuf)], limit: Duration) {
    let started = Instant::now();
    while unfinished(ctx).await > 0 {
        for (daemon, log) in daemons.iter_mut() {
            assert_running(daemon, log);
        }
        assert!(started.elapsed() < limit, "the daemons did not finish the queue within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How a run ended, from the database.
#[derive(Debug)]
pub struct Outcome {
    pub by_status: HashMap<String, usize>,
    /// Attempts that a kill or a takeover interrupted, rescued by a later term.
    pub rescued: usize,
}

/// The runs' daemons allow this many attempts, so that no action can end in
/// the dead-letter queue however many of its attempts the kills, freezes or
/// outages interrupt: in these runs nothing should fail.
pub const MAX_RETRIES: &str = "1000";

/// Every one of the `expected` actions ended SUCCESS (nothing lost, nothing
/// failed), with exactly one successful attempt (nothing done twice), and
/// each success's artifact is in the content store with the SHA-256 its log
/// line names.
pub async fn assert_all_succeeded_once(ctx: &TestCtx, expected: usize) -> Outcome {
    let rows: Vec<(i64, String, Option<String>)> =
        ctx.fetch_all_raw("SELECT id, status, last_error FROM aol_actions ORDER BY id").await;
    assert_eq!(rows.len(), expected, "every accepted action is still in the queue");
    let mut by_status: HashMap<String, usize> = HashMap::new();
    for (id, status, error) in &rows {
        *by_status.entry(status.clone()).or_default() += 1;
        assert_eq!(status, "SUCCESS", "action {id} ended {status} ({error:?}); nothing in this run should fail");
    }
    let successes: Vec<(i64, String, Option<Vec<u8>>)> = ctx
        .fetch_all_raw(
            "SELECT l.action_id, l.artifact_sha256, l.artifact_bytes FROM aol_execution_logs l \
             WHERE l.artifact_sha256 IS NOT NULL ORDER BY l.id",
        )
        .await;
    let mut per_action: HashMap<i64, usize> = HashMap::new();
    for (action_id, sha, bytes) in &successes {
        *per_action.entry(*action_id).or_default() += 1;
        let bytes = bytes.as_ref().unwrap_or_else(|| panic!("the artifact {sha} of action {action_id} is not stored"));
        assert_eq!(
            &hex::encode(Sha256::digest(bytes)),
            sha,
            "the artifact of action {action_id} does not match its log"
        );
    }
    for (id, _, _) in &rows {
        let n = per_action.get(id).copied().unwrap_or(0);
        assert_eq!(n, 1, "action {id} has {n} successful attempts");
    }
    Outcome { by_status, rescued: rescued_count(ctx).await }
}

/// How many interrupted attempts later daemons found RUNNING and rescued.
pub async fn rescued_count(ctx: &TestCtx) -> usize {
    let rescued: Vec<(i64,)> =
        ctx.fetch_all_raw("SELECT action_id FROM aol_execution_logs WHERE message LIKE 'rescued:%'").await;
    rescued.len()
}
