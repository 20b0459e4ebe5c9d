//! POST_SOCIAL on its own (SPEC §3): the PROOF artifact's place, bytes and
//! SHA-256; REAL without credentials refuses. The daemon runs it against both
//! databases in daemon_actions.rs.

use std::collections::HashSet;

use aol::engine::adapters::{Adapter, AdapterError, ChannelLookup, Job, PostSocial, Resources, SendGate, Verdict};
use aol::engine::channels::{Files, MediaMap, Platforms};
use aol::engine::queue::parse_payload;
use aol::model::Action;
use chrono::Utc;
use sha2::{Digest, Sha256};

fn post_social(dir: &std::path::Path) -> PostSocial {
    PostSocial::new(dir.to_path_buf(), std::sync::Arc::new(Platforms::new(Default::default())))
}

/// A gate that never opens: these tests must send nothing.
struct Closed;

#[async_trait::async_trait]
impl SendGate for Closed {
    async fn open(&self, _: &aol::model::Channel, _: &str) -> Verdict {
        Verdict::Closed("these tests send nothing".into())
    }
}

/// A store with no files: these posts have none.
struct NoFiles;

#[async_trait::async_trait]
impl Files for NoFiles {
    async fn bytes(&self, sha256: &str) -> Result<Vec<u8>, String> {
        Err(format!("no file {sha256} here"))
    }
}

#[async_trait::async_trait]
impl Resources for NoFiles {
    async fn media(&self, _: &[String]) -> Result<MediaMap, String> {
        Ok(MediaMap::new())
    }

    async fn keep_facts(&self, _: &Action, _: &str) -> Result<Option<String>, String> {
        Err("nothing is kept here".into())
    }
}

fn job<'a>(
    action: &'a Action,
    payload: &'a serde_json::Map<String, serde_json::Value>,
    proof_mode: bool,
    channel: ChannelLookup,
) -> Job<'a> {
    Job { action, payload, proof_mode, channel, now: Utc::now(), gate: &Closed, resources: &NoFiles }
}

fn action(key: &str) -> Action {
    Action {
        id: 1,
        idempotency_key: key.into(),
        action_type: "POST_SOCIAL".into(),
        payload_json: String::new(),
        status: "RUNNING".into(),
        attempts: 1,
        not_before_utc: Utc::now(),
        last_error: None,
        created_at_utc: Utc::now(),
        updated_at_utc: Utc::now(),
        lease_epoch: Some(1),
        prepared_sha256: None,
        remote_id: None,
        remote_url: None,
        channel: None,
        scheduled_for_utc: None,
        not_after_utc: None,
        policy: None,
        facts_json: None,
        first_sent_at_utc: None,
        reached_at_utc: None,
        enqueued_by: None,
        time_zone: None,
        edited_by: None,
    }
}

#[tokio::test]
async fn proof_mode_success_writes_the_artifact_and_a_rerun_rewrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = post_social(dir.path());
    let payload = parse_payload(r#"{"text":"Hello","channel":"main"}"#).unwrap();
    let act = action("post/1");
    let job = job(&act, &payload, true, ChannelLookup::Missing("main".into()));

    let first = adapter.execute(&job).await.unwrap().artifact.unwrap();
    let bytes = std::fs::read(&first.path).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), first.sha256);
    let record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(record["mode"], "PROOF");
    assert_eq!(record["would_post"]["text"], "Hello");
    assert_eq!(record["would_post"]["channel"], "main");

    let second = adapter.execute(&job).await.unwrap().artifact.unwrap();
    assert_eq!(second, first, "same key: same file, same bytes");
    let files = std::fs::read_dir(dir.path().join("proof_social")).unwrap().count();
    assert_eq!(files, 1, "no temporary or second file left behind");
}

#[tokio::test]
async fn real_mode_without_credentials_is_a_permanent_error() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = post_social(dir.path());
    let payload = parse_payload(r#"{"text":"Hello"}"#).unwrap();
    let act = action("k");
    let err = adapter.execute(&job(&act, &payload, false, ChannelLookup::NotNamed)).await.unwrap_err();
    assert!(matches!(&err, AdapterError::Permanent(m) if m.contains("real run unconfigured")), "{err:?}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
}

#[test]
fn artifact_names_are_file_safe_and_distinct() {
    let adapter = post_social(std::path::Path::new("/arts"));
    let keys = ["a/b", "a_b", "a b", "../../etc/passwd", "ünï", &"x".repeat(200)];
    let paths: HashSet<_> = keys.iter().map(|k| adapter.artifact_path(k)).collect();
    assert_eq!(paths.len(), keys.len(), "two keys share a file");
    for p in &paths {
        assert_eq!(p.parent().unwrap(), std::path::Path::new("/arts/proof_social"), "{p:?} escapes the folder");
        assert!(p.file_name().unwrap().len() < 100);
    }
    assert_eq!(adapter.artifact_path("a/b"), adapter.artifact_path("a/b"));
}
