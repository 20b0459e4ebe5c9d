//! Media: the images posts carry, uploaded to AOL first (`aol media add`,
//! `POST /api/v1/media`) and named by the SHA-256 of their bytes, so that a
//! payload names exactly these bytes and an approval covers them. Stored in
//! the database (`aol_blobs`), once however often they are uploaded, kept
//! while an action refers to them. Their type is read from the bytes, never
//! taken from what the uploader says.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::adapters::Resources;
use super::channels::limits::IMAGE_TYPES;
use super::channels::{Files, MediaMap};
use super::Engine;
use crate::model::{Action, MediaInfo};
use crate::storage::{NewBlob, StoreError};

/// The largest file AOL takes (each platform's own limit is checked when a
/// post names the file: Bluesky takes images up to 1,000,000 bytes).
pub const MAX_MEDIA_BYTES: usize = 16 * 1024 * 1024;

/// How long an uploaded file no action refers to is kept, so an agent can
/// upload first and enqueue later.
pub const UNUSED_MEDIA_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(7);

#[derive(Debug, Error)]
pub enum MediaError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes; AOL takes files up to {MAX_MEDIA_BYTES} bytes")]
    TooLarge(usize),
    /// Not an image AOL can post (the reason names what it is).
    #[error("{0}")]
    NotAnImage(String),
    /// The actor's role does not allow this.
    #[error(transparent)]
    Forbidden(#[from] super::Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An uploaded file, and whether it was new to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    pub info: MediaInfo,
    pub new: bool,
}

/// The image type and size in pixels of `bytes`, read from the bytes.
pub fn sniff(bytes: &[u8]) -> Result<(&'static str, Option<i64>, Option<i64>), MediaError> {
    use imagesize::ImageType;
    let mime = match imagesize::image_type(bytes) {
        Ok(ImageType::Png) => "image/png",
        Ok(ImageType::Jpeg) => "image/jpeg",
        Ok(ImageType::Webp) => "image/webp",
        Ok(ImageType::Gif) => "image/gif",
        Ok(other) => {
            return Err(MediaError::NotAnImage(format!(
                "the file is a {other:?} image; AOL takes {}",
                IMAGE_TYPES.join(", ")
            )))
        }
        Err(_) => {
            return Err(MediaError::NotAnImage(format!(
                "the file is not an image AOL can post (its bytes are none of {})",
                IMAGE_TYPES.join(", ")
            )))
        }
    };
    let size = imagesize::blob_size(bytes).map_err(|_| {
        MediaError::NotAnImage(format!("the file starts as {mime} but its size cannot be read: is it cut short?"))
    })?;
    Ok((mime, Some(size.width as i64), Some(size.height as i64)))
}

impl Engine {
    /// Stores an uploaded file under its SHA-256 (the same bytes again are
    /// the same file): an image of one of [`IMAGE_TYPES`], at most
    /// [`MAX_MEDIA_BYTES`].
    pub async fn media_add(&self, actor: &super::Actor, bytes: &[u8]) -> Result<Added, MediaError> {
        actor.require(crate::model::Right::Enqueue)?;
        if bytes.is_empty() {
            return Err(MediaError::Empty);
        }
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err(MediaError::TooLarge(bytes.len()));
        }
        let (mime, width, height) = sniff(bytes)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let blob = NewBlob { sha256: &sha256, mime, width, height, bytes };
        let new = self.db().blob_put(&blob, self.clock().now()).await?;
        let info = self
            .db()
            .blobs_info(&[&sha256])
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt(format!("the file {sha256} was stored but cannot be read back")))?;
        if new {
            tracing::info!(sha256 = %sha256, size = bytes.len(), mime, by = actor.who(), "media stored");
        }
        Ok(Added { info, new })
    }

    /// What is known of the stored files among `shas`.
    pub async fn media_info(&self, shas: &[String]) -> Result<MediaMap, StoreError> {
        let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
        Ok(self.db().blobs_info(&refs).await?.into_iter().map(|m| (m.sha256.clone(), m)).collect())
    }

    /// A stored file's bytes and type (as read from them when it was stored), if it is stored.
    pub async fn media_bytes(&self, sha256: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        self.db().blob_bytes(sha256).await
    }

    /// The store as adapters use it.
    pub fn resources(&self) -> Store<'_> {
        Store(self)
    }
}

/// The engine's store, as adapters and platforms see it.
pub struct Store<'a>(&'a Engine);

#[async_trait]
impl Files for Store<'_> {
    async fn bytes(&self, sha256: &str) -> Result<Vec<u8>, String> {
        match self.0.db().blob_bytes(sha256).await {
            Ok(Some((bytes, _))) => Ok(bytes),
            Ok(None) => Err(format!("the media file {sha256} is not in AOL's store")),
            Err(e) => Err(format!("cannot read the media file {sha256}: {e}")),
        }
    }
}

#[async_trait]
impl Resources for Store<'_> {
    async fn media(&self, shas: &[String]) -> Result<MediaMap, String> {
        self.0.media_info(shas).await.map_err(|e| format!("cannot read the media files: {e}"))
    }

    async fn keep_facts(&self, action: &Action, facts_json: &str) -> Result<Option<String>, String> {
        self.0
            .db()
            .action_keep_facts(action.id, &action.payload_json, facts_json)
            .await
            .map_err(|e| format!("cannot keep what was looked up: {e}"))
    }
}
