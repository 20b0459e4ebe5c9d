//! Adapters carry actions to the outside world, one per action type, behind
//! one small trait. The daemon never calls a platform itself.

mod post_social;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::model::Action;
pub use post_social::{PostSocial, POST_SOCIAL};

/// What an adapter is given for one attempt.
pub struct Job<'a> {
    pub action: &'a Action,
    /// The payload, already parsed (it was validated at enqueue).
    pub payload: &'a Map<String, Value>,
    /// true = PROOF (dry run): write what would be sent, send nothing.
    pub proof_mode: bool,
}

/// A successful attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub message: String,
    pub artifact: Option<Artifact>,
}

/// A file an attempt wrote, and the SHA-256 of its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub sha256: String,
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
}

#[async_trait]
pub trait Adapter: Send + Sync {
    /// The action type this adapter handles, e.g. `POST_SOCIAL`.
    fn action_type(&self) -> &'static str;

    /// Checks a payload at enqueue, so what cannot be sent is never queued.
    fn validate(&self, payload: &Map<String, Value>) -> Result<(), String>;

    /// Runs one attempt. It may be cancelled (dropped) at any await point when
    /// the tick runs out of time or the operator kills the daemon.
    async fn execute(&self, job: &Job<'_>) -> Result<Done, AdapterError>;
}

/// The adapters of this process, by action type.
#[derive(Clone)]
pub struct Registry {
    adapters: BTreeMap<&'static str, Arc<dyn Adapter>>,
    artifact_dir: Option<PathBuf>,
}

impl Registry {
    pub fn empty() -> Registry {
        Registry { adapters: BTreeMap::new(), artifact_dir: None }
    }

    /// Every adapter AOL ships, writing PROOF artifacts under `artifact_dir`.
    pub fn standard(artifact_dir: PathBuf) -> Registry {
        let mut registry = Registry::empty().with(Arc::new(PostSocial::new(artifact_dir.clone())));
        registry.artifact_dir = Some(artifact_dir);
        registry
    }

    /// Where this process's adapters write PROOF artifacts.
    pub fn artifact_dir(&self) -> Option<&std::path::Path> {
        self.artifact_dir.as_deref()
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
