//! A post as AOL sends it, whatever the platform: the posts of a thread
//! (the first and those replying to it), each with its text, images and
//! link card; its languages; Mastodon's visibility and content warning.
//! POST_SOCIAL's payload is read into this (see `adapters::post_social`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::MediaInfo;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SocialPost {
    pub channel: Option<String>,
    /// BCP 47 language tags, e.g. "en", "pt-BR".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub langs: Vec<String>,
    /// The first post, then each reply in order (one part: no thread).
    pub parts: Vec<Part>,
    /// Mastodon: public, unlisted, private or direct (public when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Mastodon: a content warning shown before the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spoiler_text: Option<String>,
    /// Mastodon: the media are hidden until clicked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Part {
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Image {
    /// The SHA-256 of an uploaded file (`aol media add`, `POST /api/v1/media`).
    pub media: String,
    /// What the image shows, for people who cannot see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// A link card: the page a post points to, with its title and picture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub url: String,
    pub title: String,
    pub description: String,
    /// The SHA-256 of an uploaded image shown on the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
}

impl SocialPost {
    /// Every stored file the post names, each once, in the order it first appears.
    pub fn media(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for part in &self.parts {
            let names = part.images.iter().map(|i| &i.media).chain(part.link.iter().filter_map(|l| l.thumb.as_ref()));
            for sha in names {
                if !out.contains(sha) {
                    out.push(sha.clone());
                }
            }
        }
        out
    }

    pub fn is_thread(&self) -> bool {
        self.parts.len() > 1
    }
}

/// The stored files a post names, by SHA-256.
pub type MediaMap = BTreeMap<String, MediaInfo>;

/// What was looked up once for a post's request and is kept with its action
/// (`aol_actions.facts_json`), so the request's bytes never change afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Bluesky: the DID of the channel's account (a thread's replies name
    /// the posts before them by `at://DID/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    /// Bluesky: each handle the text mentions, and its DID (`None`: no such
    /// account; the mention stays plain text).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mentions: BTreeMap<String, Option<String>>,
}

impl Facts {
    /// The handles that are no account, for people.
    pub fn unknown_handles(&self) -> Vec<&str> {
        self.mentions.iter().filter(|(_, did)| did.is_none()).map(|(h, _)| h.as_str()).collect()
    }
}

/// Everything a platform builds a post's requests from: the action's fixed
/// facts (never anything that changes between attempts), the post, what is
/// known of its files, and what was looked up for it.
#[derive(Clone, Debug)]
pub struct Outgoing<'a> {
    pub action_id: i64,
    pub idempotency_key: std::borrow::Cow<'a, str>,
    pub created_at: DateTime<Utc>,
    pub post: &'a SocialPost,
    pub media: &'a MediaMap,
    pub facts: &'a Facts,
}

impl Outgoing<'_> {
    /// What is known of the file `sha256` (the post was checked against the
    /// store at enqueue, and its files are kept while it exists).
    pub fn file(&self, sha256: &str) -> Result<&MediaInfo, String> {
        self.media.get(sha256).ok_or_else(|| format!("the media file {sha256} is not in AOL's store"))
    }
}
