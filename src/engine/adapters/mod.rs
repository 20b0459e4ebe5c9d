//! Adapters carry actions to the outside world, one per action type, behind
//! one small trait. The daemon never calls a platform itself.

mod post_social;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use thiserror::Error;

use super::channels::{Files, MediaMap, Platforms, Prepared, Remote};
use crate::model::{Action, Channel};
pub use post_social::{is_sha256, proof_record, PostSocial, POST_SOCIAL};

/// What an adapter is given for one attempt.
pub struct Job<'a> {
    pub action: &'a Action,
    /// The payload, already parsed (it was validated at enqueue).
    pub payload: &'a Map<String, Value>,
    /// true = PROOF (dry run): write what would be sent, send nothing.
    pub proof_mode: bool,
    /// The channel the payload names, as it is now.
    pub channel: ChannelLookup,
    /// The engine's clock at the start of the attempt.
    pub now: DateTime<Utc>,
    /// Must open before a REAL request leaves (see [`SendGate`]).
    pub gate: &'a dyn SendGate,
    /// The stored files and kept lookups the request is built from.
    pub resources: &'a dyn Resources,
}

/// Whether building a request may ask the platform what it needs to know
/// (and keep the answer with the action), or must make do with what is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookups {
    Allowed,
    KeptOnly,
}

/// What an adapter may ask of AOL's store while it builds a request: what
/// is known of stored files (and their bytes, through [`Files`]), and a
/// place to keep what it looked up for an action, once.
#[async_trait]
pub trait Resources: Files {
    /// What is known of the stored files among `shas` (missing ones are absent).
    async fn media(&self, shas: &[String]) -> Result<MediaMap, String>;

    /// Keeps `facts_json` with `action` unless something is kept already or
    /// its payload changed; what is kept now (`None`: the payload changed).
    async fn keep_facts(&self, action: &Action, facts_json: &str) -> Result<Option<String>, String>;
}

/// The channel a payload names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelLookup {
    /// The payload names none.
    NotNamed,
    /// It names one that does not exist (any more).
    Missing(String),
    Found(Box<Channel>),
}

/// The last step before a REAL request leaves. It checks, with the request
/// in hand, everything that may hold it back (the deadline, the channel's
/// policy and the approval of exactly these bytes, the rate limits), then
/// records under the daemon's lease that the request is leaving. If the
/// daemon dies after that, the action is found RUNNING with the mark and
/// becomes UNCONFIRMED instead of being sent again.
#[async_trait]
pub trait SendGate: Send + Sync {
    async fn open(&self, channel: &Channel, prepared_sha256: &str) -> Verdict;
}

/// What the gate says of a REAL request about to leave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded as leaving: send it.
    Go,
    /// Its policy wants an operator's approval of this request first.
    AwaitApproval,
    /// Too late to send (past its deadline, or its approval ran out).
    Expired(String),
    /// Not before `at` (the channel's rate limits, or its platform asked to wait).
    Wait { at: DateTime<Utc>, reason: String },
    /// The channel's policy refuses it.
    Denied(String),
    /// The action is no longer this daemon's, or the mark could not be
    /// written: send nothing.
    Closed(String),
}

/// A successful attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub message: String,
    pub artifact: Option<Artifact>,
    /// The post on the platform (REAL).
    pub remote: Option<Remote>,
}

/// What a PROOF attempt made (the requests REAL would send, or the post):
/// its bytes and their SHA-256. The daemon stores it in the content store
/// with the attempt's SUCCESS, in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub sha256: String,
    pub bytes: Vec<u8>,
}

impl Artifact {
    pub fn of(bytes: Vec<u8>) -> Artifact {
        use sha2::Digest;
        Artifact { sha256: hex::encode(sha2::Sha256::digest(&bytes)), bytes }
    }
}

/// A failed attempt: retried later, or never.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AdapterError {
    /// Trying again cannot help (bad payload, REAL mode unconfigured).
    #[error("{0}")]
    Permanent(String),
    /// Trying again later may work.
    #[error("{0}")]
    Transient(String),
    /// Trying again later may work, but the request may have reached the
    /// platform: the time is recorded, and a repeat goes out only while the
    /// platform still keeps its Idempotency-Key.
    #[error("{0}")]
    Reached(String),
    /// Not now, and not the action's fault (a platform's "slow down", a
    /// disarmed channel): try at `at`; the attempt does not count.
    #[error("{reason}")]
    Deferred { at: DateTime<Utc>, reason: String },
    /// The request may have reached the platform and its answer was lost:
    /// never retried automatically (UNCONFIRMED).
    #[error("{0}")]
    Unconfirmed(String),
    /// The channel's platform asked it to wait until `at` (a 429, a
    /// rate-limit reset): this post and the channel's others wait; the
    /// attempt does not count.
    #[error("{reason}")]
    ChannelWait { channel: String, at: DateTime<Utc>, reason: String },
    /// Its policy wants an operator's approval of this request (SHA-256) first.
    #[error("waiting for an approval of the request with SHA-256 {0}")]
    AwaitApproval(String),
    /// Too late to send it: EXPIRED, nothing sent.
    #[error("{0}")]
    Expired(String),
}

#[async_trait]
pub trait Adapter: Send + Sync {
    /// The action type this adapter handles, e.g. `POST_SOCIAL`.
    fn action_type(&self) -> &'static str;

    /// Checks a payload at enqueue, so what cannot be sent is never queued.
    fn validate(&self, payload: &Map<String, Value>) -> Result<(), String>;

    /// [`Adapter::validate`], and the stored files the payload names
    /// (SHA-256 each), from one reading of it: they must exist at enqueue,
    /// and are kept while the action does.
    fn validate_naming_media(&self, payload: &Map<String, Value>) -> Result<Vec<String>, String> {
        self.validate(payload).map(|()| Vec::new())
    }

    /// Checks a valid payload against the channel it names (its platform's
    /// limits), at enqueue; `media` holds what is known of its files.
    fn check_for_channel(
        &self,
        payload: &Map<String, Value>,
        channel: &Channel,
        media: &MediaMap,
    ) -> Result<(), String> {
        let _ = (payload, channel, media);
        Ok(())
    }

    /// Runs one attempt. It may be cancelled (dropped) at any await point when
    /// the tick runs out of time or the operator kills the daemon.
    async fn execute(&self, job: &Job<'_>) -> Result<Done, AdapterError>;

    /// `action`'s post as people will see it on `channel` (actions that post).
    async fn post_view(
        &self,
        action: &Action,
        channel: Option<&Channel>,
        resources: &dyn Resources,
    ) -> Option<crate::model::PostView> {
        let _ = (action, channel, resources);
        None
    }

    /// The exact requests a REAL attempt would send for `action` on
    /// `channel` (what an approval binds to); `Err` says why there are none.
    /// With [`Lookups::KeptOnly`] nothing is asked of the platform (a page
    /// being drawn must not wait on one).
    async fn prepare(
        &self,
        action: &Action,
        channel: &Channel,
        resources: &dyn Resources,
        lookups: Lookups,
    ) -> Result<Prepared, String> {
        let _ = (action, channel, resources, lookups);
        Err(format!("{} sends nothing to a channel", self.action_type()))
    }
}

/// The adapters of this process, by action type.
#[derive(Clone)]
pub struct Registry {
    adapters: BTreeMap<&'static str, Arc<dyn Adapter>>,
    /// The platforms REAL posts go to (and UNCONFIRMED ones are read back from).
    platforms: Arc<Platforms>,
}

impl Registry {
    pub fn empty() -> Registry {
        Registry { adapters: BTreeMap::new(), platforms: Arc::new(Platforms::new(Default::default())) }
    }

    /// Every adapter AOL ships, with the platforms' default timeouts.
    pub fn standard() -> Registry {
        Registry::with_platforms(Platforms::new(Default::default()))
    }

    /// Every adapter AOL ships, posting through `platforms`.
    pub fn with_platforms(platforms: Platforms) -> Registry {
        let platforms = Arc::new(platforms);
        let mut registry = Registry::empty().with(Arc::new(PostSocial::new(platforms.clone())));
        registry.platforms = platforms;
        registry
    }

    pub fn platforms(&self) -> &Platforms {
        &self.platforms
    }

    pub fn with(mut self, adapter: Arc<dyn Adapter>) -> Registry {
        self.adapters.insert(adapter.action_type(), adapter);
        self
    }

    pub fn get(&self, action_type: &str) -> Option<&Arc<dyn Adapter>> {
        self.adapters.get(action_type)
    }

    /// The known action types, sorted.
    pub fn action_types(&self) -> Vec<&'static str> {
        self.adapters.keys().copied().collect()
    }
}
