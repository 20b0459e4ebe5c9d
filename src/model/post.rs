//! Posts as people see them, and the media they carry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A file AOL holds (uploaded media), named by the SHA-256 of its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct MediaInfo {
    pub sha256: String,
    pub size: i64,
    /// The type read from its bytes: image/png, image/jpeg, image/webp or image/gif.
    pub mime: String,
    /// In pixels.
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_at_utc: DateTime<Utc>,
}

/// A post as people will see it: each post of the thread with its text
/// (links, tags and mentions marked), images and card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostView {
    pub parts: Vec<PartView>,
    pub langs: Vec<String>,
    /// Things people should know before approving it (a mention that stays
    /// plain text, a link added to the text, …).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartView {
    pub spans: Vec<TextSpan>,
    pub images: Vec<ImageView>,
    pub card: Option<CardView>,
}

/// A piece of a post's text; `href` set where it is a live link, tag or mention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSpan {
    pub text: String,
    /// `text`, `link`, `tag` or `mention`.
    pub kind: String,
    pub href: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageView {
    pub sha256: String,
    pub alt: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    pub url: String,
    pub title: String,
    pub description: String,
    pub thumb: Option<String>,
}
