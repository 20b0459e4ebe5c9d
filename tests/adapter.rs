//! POST_SOCIAL on its own (SPEC §3): the PROOF artifact's bytes and SHA-256
//! (the adapter writes nothing itself: the daemon stores the artifact with
//! the result); REAL without credentials refuses. The daemon runs it against both
//! databases in daemon_actions.rs.

use aol::engine::adapters::{Adapter, AdapterError, ChannelLookup, Job, PostSocial, Resources, SendGate, Verdict};
use aol::engine::channels::{Files, MediaMap, Platforms};
use aol::engine::queue::parse_payload;
use aol::model::Action;
use chrono::Utc;
use sha2::{Digest, Sha256};

fn post_social() -> PostSocial {
    PostSocial::new(std::sync::Arc::new(Platforms::new(Default::default())))
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
async fn proof_mode_success_makes_the_artifact_and_a_rerun_the_same_bytes() {
    let cwd_before: Vec<_> = std::fs::read_dir(".").unwrap().map(|e| e.unwrap().path()).collect();
    let adapter = post_social();
    let payload = parse_payload(r#"{"text":"Hello","channel":"main"}"#).unwrap();
    let act = action("post/1");
    let job = job(&act, &payload, true, ChannelLookup::Missing("main".into()));

    let first = adapter.execute(&job).await.unwrap().artifact.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&first.bytes)), first.sha256);
    let record: serde_json::Value = serde_json::from_slice(&first.bytes).unwrap();
    assert_eq!(record["mode"], "PROOF");
    assert_eq!(record["would_post"]["text"], "Hello");
    assert_eq!(record["would_post"]["channel"], "main");

    let second = adapter.execute(&job).await.unwrap().artifact.unwrap();
    assert_eq!(second, first, "same action: same bytes");
    let cwd_after: Vec<_> = std::fs::read_dir(".").unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(cwd_before, cwd_after, "the adapter wrote no file");
}

#[tokio::test]
async fn real_mode_without_credentials_is_a_permanent_error() {
    let adapter = post_social();
    let payload = parse_payload(r#"{"text":"Hello"}"#).unwrap();
    let act = action("k");
    let err = adapter.execute(&job(&act, &payload, false, ChannelLookup::NotNamed)).await.unwrap_err();
    assert!(matches!(&err, AdapterError::Permanent(m) if m.contains("real run unconfigured")), "{err:?}");
}
