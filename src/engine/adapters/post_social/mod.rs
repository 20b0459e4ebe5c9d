//! POST_SOCIAL: a post to a social account, on the channel its payload
//! names: text with its links, tags and mentions, images, a link card, a
//! thread (`payload`). PROOF makes the exact requests REAL would send into
//! one document (or, without a channel, the post itself), the artifact the
//! daemon stores with the SUCCESS; REAL sends them once, on an armed channel
//! (`real`).

mod payload;
mod real;
mod view;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{Adapter, AdapterError, Artifact, ChannelLookup, Done, Job, Lookups, Resources};
use crate::engine::channels::{Facts, MediaMap, Outgoing, Platform, Platforms, Prepared, SocialPost};
use crate::model::{Action, Channel};

pub use payload::is_sha256;

pub const POST_SOCIAL: &str = "POST_SOCIAL";

pub struct PostSocial {
    platforms: Arc<Platforms>,
}

/// What a post's requests are built from, besides the post: its files and
/// what was looked up for it.
struct Materials {
    media: MediaMap,
    facts: Facts,
}

impl PostSocial {
    pub fn new(platforms: Arc<Platforms>) -> PostSocial {
        PostSocial { platforms }
    }

    /// The platform of `channel`'s kind.
    fn platform(&self, channel: &Channel) -> Result<&dyn Platform, AdapterError> {
        self.platforms.of(channel).map_err(AdapterError::Permanent)
    }

    /// What is known of the post's files, and what its request needs looked
    /// up: kept with the action since an earlier look, or looked up now and
    /// kept (so the request's bytes never change afterwards). `Err` when
    /// something could not be had now (try later).
    async fn materials(
        action: &Action,
        post: &SocialPost,
        channel: &Channel,
        platform: &dyn Platform,
        resources: &dyn Resources,
        lookups: Lookups,
    ) -> Result<Materials, String> {
        let media = resources.media(&post.media()).await?;
        let facts = match &action.facts_json {
            Some(kept) => {
                serde_json::from_str(kept).map_err(|e| format!("the action's kept lookups are unreadable: {e}"))?
            }
            None if platform.needs_lookup(post) && lookups == Lookups::KeptOnly => {
                return Err(format!(
                    "what it names is still to be looked up on {} (the daemon does it within a tick or two)",
                    channel.base_url
                ))
            }
            None if platform.needs_lookup(post) => {
                let found = platform.look_up(channel, post).await?;
                let text = serde_json::to_string(&found).expect("facts serialise");
                let kept = resources
                    .keep_facts(action, &text)
                    .await?
                    .ok_or("the action's payload changed while its request was being built")?;
                serde_json::from_str(&kept).map_err(|e| format!("the action's kept lookups are unreadable: {e}"))?
            }
            None => Facts::default(),
        };
        Ok(Materials { media, facts })
    }

    /// The requests for `post` of `action` on `channel`, with what they were built from.
    async fn requests(
        &self,
        action: &Action,
        post: &SocialPost,
        channel: &Channel,
        resources: &dyn Resources,
        lookups: Lookups,
    ) -> Result<(Prepared, Materials), AdapterError> {
        let platform = self.platform(channel)?;
        let materials = PostSocial::materials(action, post, channel, platform, resources, lookups)
            .await
            .map_err(|e| AdapterError::Transient(format!("cannot build the request yet: {e}")))?;
        let out = outgoing(action, post, &materials);
        let prepared = platform.prepare(channel, &out).map_err(AdapterError::Permanent)?;
        Ok((prepared, materials))
    }
}

/// The post an action's stored payload asks for.
fn stored_post(action: &Action) -> Result<SocialPost, String> {
    match serde_json::from_str(&action.payload_json) {
        Ok(Value::Object(payload)) => payload::parse(&payload),
        _ => Err("the stored payload is not a JSON object".into()),
    }
}

/// The key a platform deduplicates on (its `Idempotency-Key`): the action's
/// key as it was sent, or for a key in an agent's namespace (which holds a
/// control character no header may carry) the agent's name and a hash of it.
pub fn platform_key(stored: &str) -> std::borrow::Cow<'_, str> {
    match stored.split_once(crate::model::KEY_SCOPE) {
        None => std::borrow::Cow::Borrowed(stored),
        Some((agent, _)) => std::borrow::Cow::Owned(format!("{agent}-{}", &hex::encode(Sha256::digest(stored))[..32])),
    }
}

/// The post as its platform builds requests from it.
fn outgoing<'a>(action: &'a Action, post: &'a SocialPost, materials: &'a Materials) -> Outgoing<'a> {
    Outgoing {
        action_id: action.id,
        idempotency_key: platform_key(&action.idempotency_key),
        created_at: action.created_at_utc,
        post,
        media: &materials.media,
        facts: &materials.facts,
    }
}

#[async_trait]
impl Adapter for PostSocial {
    fn action_type(&self) -> &'static str {
        POST_SOCIAL
    }

    fn validate(&self, payload: &Map<String, Value>) -> Result<(), String> {
        payload::parse(payload).map(|_| ())
    }

    fn validate_naming_media(&self, payload: &Map<String, Value>) -> Result<Vec<String>, String> {
        payload::parse(payload).map(|post| post.media())
    }

    fn check_for_channel(
        &self,
        payload: &Map<String, Value>,
        channel: &Channel,
        media: &MediaMap,
    ) -> Result<(), String> {
        let post = payload::parse(payload)?;
        self.platform(channel).map_err(|e| e.to_string())?.check(channel, &post, media)
    }

    async fn post_view(
        &self,
        action: &Action,
        channel: Option<&Channel>,
        resources: &dyn Resources,
    ) -> Option<crate::model::PostView> {
        let post = stored_post(action).ok()?;
        let media = resources.media(&post.media()).await.unwrap_or_default();
        let facts: Option<Facts> = action.facts_json.as_deref().and_then(|f| serde_json::from_str(f).ok());
        Some(view::view(&post, channel, &media, facts.as_ref()))
    }

    async fn prepare(
        &self,
        action: &Action,
        channel: &Channel,
        resources: &dyn Resources,
        lookups: Lookups,
    ) -> Result<Prepared, String> {
        let post = stored_post(action)?;
        self.requests(action, &post, channel, resources, lookups).await.map(|(p, _)| p).map_err(|e| e.to_string())
    }

    async fn execute(&self, job: &Job<'_>) -> Result<Done, AdapterError> {
        let post = payload::parse(job.payload).map_err(AdapterError::Permanent)?;
        let channel = match &job.channel {
            ChannelLookup::Found(channel) => Some(channel.as_ref()),
            ChannelLookup::NotNamed | ChannelLookup::Missing(_) => None,
        };
        if !job.proof_mode {
            return real::send(self, job, &post).await;
        }
        match channel {
            Some(channel) => {
                let (prepared, _) = self.requests(job.action, &post, channel, job.resources, Lookups::Allowed).await?;
                let what = format!(
                    "the {} request{} REAL would send to {} ({})",
                    prepared.requests.len(),
                    if prepared.requests.len() == 1 { "" } else { "s" },
                    channel.name,
                    prepared.url()
                );
                Ok(proof(Artifact { sha256: prepared.sha256, bytes: prepared.artifact }, &what))
            }
            None => Ok(proof(Artifact::of(proof_record(job.action.key(), job.payload)), "what would be posted")),
        }
    }
}

/// A PROOF attempt's success; `what` says what its artifact holds.
fn proof(artifact: Artifact, what: &str) -> Done {
    Done {
        message: format!("made {what} ({} bytes), stored as the artifact", artifact.bytes.len()),
        artifact: Some(artifact),
        remote: None,
    }
}

/// PROOF's artifact for a post that names no channel: the post itself, in
/// deterministic bytes (a re-run of the same action makes the same bytes).
pub fn proof_record(key: &str, payload: &Map<String, Value>) -> Vec<u8> {
    let record = json!({
        "mode": "PROOF",
        "action_type": POST_SOCIAL,
        "idempotency_key": key,
        "would_post": payload,
    });
    let mut bytes = serde_json::to_vec_pretty(&record).expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}
