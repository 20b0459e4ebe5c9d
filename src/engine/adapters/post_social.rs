//! POST_SOCIAL: a post to a social account, on the channel its payload names.
//! PROOF writes the exact request REAL would send to a file (or, without a
//! channel, the post itself); REAL sends it once, on an armed channel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{Adapter, AdapterError, Artifact, ChannelLookup, Done, Job, Verdict};
use crate::engine::channels::{resolve_secret, Platform, Platforms, Post, Prepared, Sent};
use crate::model::{Action, Channel};

pub const POST_SOCIAL: &str = "POST_SOCIAL";

/// Longest text accepted at enqueue, in characters, whatever the channel
/// (each platform's own limit is checked at enqueue too).
const MAX_TEXT_CHARS: usize = 10_000;

/// How long a REAL post waits on a disarmed channel before it looks again.
const DISARMED_WAIT: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

pub struct PostSocial {
    artifact_dir: PathBuf,
    platforms: Arc<Platforms>,
}

impl PostSocial {
    pub fn new(artifact_dir: PathBuf, platforms: Arc<Platforms>) -> PostSocial {
        PostSocial { artifact_dir, platforms }
    }

    /// The platform of `channel`'s kind.
    pub fn platform(&self, channel: &Channel) -> Result<&dyn Platform, AdapterError> {
        let kind = channel.kind().ok_or_else(|| {
            AdapterError::Permanent(format!("channel {:?} has an unknown kind {:?}", channel.name, channel.kind))
        })?;
        Ok(self.platforms.get(kind))
    }

    /// The post an action asks for: built from what never changes between
    /// attempts (its id, key, creation time) and its payload's text.
    fn post<'a>(action: &'a Action, payload: &'a Map<String, Value>) -> Post<'a> {
        Post {
            action_id: action.id,
            idempotency_key: &action.idempotency_key,
            text: payload.get("text").and_then(Value::as_str).unwrap_or_default(),
            created_at: action.created_at_utc,
        }
    }

    /// Writes `bytes` as the action's PROOF artifact.
    async fn write_proof(&self, job: &Job<'_>, bytes: &[u8], what: &str) -> Result<Done, AdapterError> {
        let path = self.artifact_path(&job.action.idempotency_key);
        write_atomically(&path, bytes)
            .await
            .map_err(|e| AdapterError::Transient(format!("cannot write the PROOF artifact {}: {e}", path.display())))?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        Ok(Done {
            message: format!("PROOF: wrote {what} ({} bytes) to the artifact", bytes.len()),
            artifact: Some(Artifact { path: path.display().to_string(), sha256 }),
            remote: None,
        })
    }

    /// `ARTIFACT_DIR/proof_social/<key, made file-safe>-<hash of key>.json`: the
    /// same key always names the same file, and different keys never share one.
    pub fn artifact_path(&self, idempotency_key: &str) -> PathBuf {
        let safe: String = idempotency_key
            .chars()
            .take(64)
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        let hash = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
        self.artifact_dir.join("proof_social").join(format!("{safe}-{}.json", &hash[..16]))
    }
}

#[async_trait]
impl Adapter for PostSocial {
    fn action_type(&self) -> &'static str {
        POST_SOCIAL
    }

    fn validate(&self, payload: &Map<String, Value>) -> Result<(), String> {
        let text = match payload.get("text") {
            Some(Value::String(text)) => text,
            Some(_) => return Err("\"text\" must be a string".into()),
            None => return Err("POST_SOCIAL needs a \"text\" field".into()),
        };
        if text.trim().is_empty() {
            return Err("\"text\" is empty".into());
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("\"text\" is longer than {MAX_TEXT_CHARS} characters"));
        }
        match payload.get("channel") {
            None | Some(Value::String(_)) => Ok(()),
            Some(_) => Err("\"channel\" must be a string".into()),
        }
    }

    fn prepare(&self, action: &Action, channel: &Channel) -> Result<Prepared, String> {
        let payload = match serde_json::from_str(&action.payload_json) {
            Ok(Value::Object(payload)) => payload,
            _ => return Err("the stored payload is not a JSON object".into()),
        };
        self.validate(&payload)?;
        let platform = self.platform(channel).map_err(|e| e.to_string())?;
        platform.prepare(channel, &PostSocial::post(action, &payload))
    }

    async fn execute(&self, job: &Job<'_>) -> Result<Done, AdapterError> {
        self.validate(job.payload).map_err(AdapterError::Permanent)?;
        let post = PostSocial::post(job.action, job.payload);
        let text = post.text;
        let channel = match &job.channel {
            ChannelLookup::Found(channel) => Some((channel, self.platform(channel)?)),
            ChannelLookup::NotNamed | ChannelLookup::Missing(_) => None,
        };

        if job.proof_mode {
            return match channel {
                Some((channel, platform)) => {
                    let prepared = platform.prepare(channel, &post).map_err(AdapterError::Permanent)?;
                    let what = format!("the request REAL would send to {} ({})", channel.name, prepared.url);
                    self.write_proof(job, &prepared.body, &what).await
                }
                None => {
                    // Deterministic bytes: a re-run of the same action rewrites the same file.
                    let record = json!({
                        "mode": "PROOF",
                        "action_type": POST_SOCIAL,
                        "idempotency_key": job.action.idempotency_key,
                        "would_post": { "channel": job.payload.get("channel"), "text": text },
                    });
                    let mut bytes = serde_json::to_vec_pretty(&record).expect("JSON values serialise");
                    bytes.push(b'\n');
                    self.write_proof(job, &bytes, "what would be posted").await
                }
            };
        }

        let (channel, platform) = match (&job.channel, channel) {
            (_, Some(found)) => found,
            (ChannelLookup::Missing(name), _) => {
                return Err(AdapterError::Permanent(format!(
                    "real run unconfigured: there is no channel named {name:?}, nothing was posted"
                )))
            }
            _ => {
                return Err(AdapterError::Permanent(
                    "real run unconfigured: the payload names no \"channel\" to post to, nothing was posted".into(),
                ))
            }
        };
        if !channel.armed {
            return Err(AdapterError::Deferred {
                at: job.now + DISARMED_WAIT,
                reason: format!(
                    "waiting: channel {:?} is disarmed, REAL posts go out once it is armed (aol channel arm {})",
                    channel.name, channel.name
                ),
            });
        }
        let secret =
            resolve_secret(channel).map_err(|e| AdapterError::Permanent(format!("real run unconfigured: {e}")))?;
        let prepared = platform.prepare(channel, &post).map_err(AdapterError::Permanent)?;
        match job.gate.open(channel, &prepared.sha256).await {
            Verdict::Go => {}
            Verdict::AwaitApproval => return Err(AdapterError::AwaitApproval(prepared.sha256)),
            Verdict::Expired(why) => return Err(AdapterError::Expired(why)),
            Verdict::Wait { at, reason } => return Err(AdapterError::Deferred { at, reason }),
            Verdict::Denied(why) => return Err(AdapterError::Permanent(why)),
            Verdict::Closed(why) => return Err(AdapterError::Transient(format!("{why}: nothing was sent"))),
        }
        let on = format!("{} ({})", channel.name, channel.kind);
        match platform.send(channel, &secret, &post, &prepared).await {
            Sent::Posted(remote) => Ok(Done {
                message: format!("REAL: posted to {on}: {} (request SHA-256 {})", remote.id, prepared.sha256),
                artifact: None,
                remote: Some(remote),
            }),
            Sent::AlreadyPosted(remote) => Ok(Done {
                message: format!(
                    "REAL: {on} already had this post from an earlier attempt, nothing new was posted: {}",
                    remote.id
                ),
                artifact: None,
                remote: Some(remote),
            }),
            Sent::RetryAt { at, why } => {
                // The platform's wait, on the engine's clock (the system's,
                // but in tests that move time by hand).
                let at = job.now + (at - chrono::Utc::now()).max(chrono::TimeDelta::zero());
                Err(AdapterError::ChannelWait {
                    channel: channel.name.clone(),
                    at,
                    reason: format!("{on} asked to wait ({why}); next try at {}", at.to_rfc3339()),
                })
            }
            Sent::NotSent(e) => Err(AdapterError::Transient(format!("not posted to {on}: {e}"))),
            Sent::Rejected(e) => Err(AdapterError::Permanent(format!("{on} refused the post: {e}"))),
            Sent::Unknown(e) => Err(AdapterError::Unconfirmed(format!(
                "the request to {on} may have been posted ({e}); it is not sent again by itself"
            ))),
        }
    }
}

/// Writes via a temporary file and a rename, so a reader never sees half a file.
async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("artifact paths have a parent");
    tokio::fs::create_dir_all(dir).await?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}
