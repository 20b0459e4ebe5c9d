//! POST_SOCIAL's payload, as agents write it, read into a [`SocialPost`]:
//! `{"channel", "text", "langs", "images": [{"media", "alt"}], "link":
//! {"url", "title", "description", "thumb"}, "thread": [{"text", "images",
//! "link"}], "visibility", "spoiler_text", "sensitive"}`. Every error names
//! the field it is about; unknown fields are refused (a misspelt "image"
//! would otherwise post without its picture). Each platform's own limits
//! are checked against the post afterwards (`channels::Platform::check`).

use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::engine::channels::{Image, Link, Part, SocialPost};

/// Longest text of one post accepted at enqueue, in characters, whatever
/// the channel (each platform's own limit is checked too).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// A thread: the first post and at most this many replies (25 posts in all).
pub const MAX_THREAD_POSTS: usize = 25;
/// Images on one post (no platform AOL posts to takes more).
pub const MAX_IMAGES: usize = 4;
const MAX_ALT_CHARS: usize = 2_000;
const MAX_LANGS: usize = 8;
const MAX_CARD_TITLE_CHARS: usize = 500;
const MAX_CARD_DESCRIPTION_CHARS: usize = 2_000;
const MAX_SPOILER_CHARS: usize = 500;
const VISIBILITIES: [&str; 4] = ["public", "unlisted", "private", "direct"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    channel: Option<String>,
    text: String,
    #[serde(default)]
    langs: Vec<String>,
    #[serde(default)]
    images: Vec<ImageIn>,
    link: Option<LinkIn>,
    thread: Option<Vec<PartIn>>,
    visibility: Option<String>,
    spoiler_text: Option<String>,
    #[serde(default)]
    sensitive: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartIn {
    text: String,
    #[serde(default)]
    images: Vec<ImageIn>,
    link: Option<LinkIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageIn {
    media: String,
    alt: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkIn {
    url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    thumb: Option<String>,
}

static LANG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$").expect("valid regex"));

/// Whether `sha` names a file as AOL does: 64 lowercase hex digits.
pub fn is_sha256(sha: &str) -> bool {
    sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The post a payload asks for, or why it cannot be one.
pub fn parse(payload: &Map<String, Value>) -> Result<SocialPost, String> {
    match payload.get("text") {
        None => return Err("POST_SOCIAL needs a \"text\" field".into()),
        Some(Value::String(_)) => {}
        Some(_) => return Err("\"text\" must be a string".into()),
    }
    let raw: Payload = serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." {
            inner
        } else {
            format!("\"{path}\": {inner}")
        }
    })?;
    let mut parts = vec![part(PartIn { text: raw.text, images: raw.images, link: raw.link }, "")?];
    match raw.thread {
        Some(thread) if thread.is_empty() => {
            return Err("\"thread\" is empty: leave it out for a single post, or list the posts after the first".into())
        }
        Some(thread) if thread.len() + 1 > MAX_THREAD_POSTS => {
            return Err(format!(
                "\"thread\" makes {} posts; a thread has at most {MAX_THREAD_POSTS} (the first and {} replies)",
                thread.len() + 1,
                MAX_THREAD_POSTS - 1
            ))
        }
        Some(thread) => {
            for (i, p) in thread.into_iter().enumerate() {
                parts.push(part(p, &format!("thread[{i}]."))?);
            }
        }
        None => {}
    }
    if raw.langs.len() > MAX_LANGS {
        return Err(format!("\"langs\" has {} entries, at most {MAX_LANGS}", raw.langs.len()));
    }
    if let Some(bad) = raw.langs.iter().find(|l| !LANG.is_match(l)) {
        return Err(format!("\"langs\": {bad:?} is not a language tag like \"en\" or \"pt-BR\""));
    }
    if let Some(v) = raw.visibility.as_deref().filter(|v| !VISIBILITIES.contains(v)) {
        return Err(format!("\"visibility\": {v:?} is none of {}", VISIBILITIES.join(", ")));
    }
    if let Some(s) = &raw.spoiler_text {
        if s.chars().count() > MAX_SPOILER_CHARS {
            return Err(format!("\"spoiler_text\" is longer than {MAX_SPOILER_CHARS} characters"));
        }
    }
    Ok(SocialPost {
        channel: raw.channel,
        langs: raw.langs,
        parts,
        visibility: raw.visibility,
        spoiler_text: raw.spoiler_text.filter(|s| !s.is_empty()),
        sensitive: raw.sensitive,
    })
}

/// One post of the thread, checked; `at` names it in messages ("" or "thread[1].").
fn part(p: PartIn, at: &str) -> Result<Part, String> {
    if p.text.trim().is_empty() && p.images.is_empty() && p.link.is_none() {
        return Err(format!("\"{at}text\" is empty (a post without images or a link card needs text)"));
    }
    if p.text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("\"{at}text\" is longer than {MAX_TEXT_CHARS} characters"));
    }
    if p.images.len() > MAX_IMAGES {
        return Err(format!("\"{at}images\" has {} images; a post has at most {MAX_IMAGES}", p.images.len()));
    }
    let mut images = Vec::with_capacity(p.images.len());
    for (i, image) in p.images.into_iter().enumerate() {
        if !is_sha256(&image.media) {
            return Err(format!(
                "\"{at}images[{i}].media\" must be the SHA-256 of an uploaded file (64 hex digits, from `aol media add` \
                 or POST /api/v1/media), not {:?}",
                image.media
            ));
        }
        if image.alt.as_ref().is_some_and(|a| a.chars().count() > MAX_ALT_CHARS) {
            return Err(format!("\"{at}images[{i}].alt\" is longer than {MAX_ALT_CHARS} characters"));
        }
        images.push(Image { media: image.media, alt: image.alt.filter(|a| !a.trim().is_empty()) });
    }
    let link = match p.link {
        None => None,
        Some(link) => {
            let url = url::Url::parse(&link.url)
                .map_err(|e| format!("\"{at}link.url\" is not a URL ({e}): {:?}", link.url))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!("\"{at}link.url\" must be an http or https link, not {:?}", link.url));
            }
            if link.title.chars().count() > MAX_CARD_TITLE_CHARS {
                return Err(format!("\"{at}link.title\" is longer than {MAX_CARD_TITLE_CHARS} characters"));
            }
            if link.description.chars().count() > MAX_CARD_DESCRIPTION_CHARS {
                return Err(format!("\"{at}link.description\" is longer than {MAX_CARD_DESCRIPTION_CHARS} characters"));
            }
            if let Some(thumb) = link.thumb.as_deref().filter(|t| !is_sha256(t)) {
                return Err(format!("\"{at}link.thumb\" must be the SHA-256 of an uploaded image, not {thumb:?}"));
            }
            Some(Link { url: link.url, title: link.title, description: link.description, thumb: link.thumb })
        }
    };
    Ok(Part { text: p.text, images, link })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(v: serde_json::Value) -> Result<SocialPost, String> {
        parse(v.as_object().unwrap())
    }

    #[test]
    fn text_alone_stays_valid() {
        let post = parsed(serde_json::json!({"channel": "brand", "text": "hi"})).unwrap();
        assert_eq!(post.parts.len(), 1);
        assert_eq!(post.parts[0].text, "hi");
        assert_eq!(post.channel.as_deref(), Some("brand"));
    }

    #[test]
    fn the_whole_payload_is_read() {
        let sha = "a".repeat(64);
        let post = parsed(serde_json::json!({
            "channel": "brand", "text": "1/3", "langs": ["fr", "pt-BR"],
            "images": [{"media": sha, "alt": "the chart"}],
            "thread": [{"text": "2/3", "link": {"url": "https://example.com", "title": "T", "thumb": sha}}, {"text": "3/3"}]
        }))
        .unwrap();
        assert_eq!(post.parts.len(), 3);
        assert_eq!(post.media(), vec![sha.clone()]);
        assert_eq!(post.parts[1].link.as_ref().unwrap().description, "");
        assert_eq!(post.langs, vec!["fr", "pt-BR"]);
    }

    #[test]
    fn errors_name_their_field() {
        let sha = "a".repeat(64);
        let cases = [
            (serde_json::json!({"text": "x", "image": []}), "unknown field `image`"),
            (serde_json::json!({"text": 3}), "\"text\" must be a string"),
            (serde_json::json!({"text": "x", "channel": 3}), "\"channel\": invalid type"),
            (
                serde_json::json!({"text": "x", "thread": [{"text": "y", "images": [{"media": "nope"}]}]}),
                "\"thread[0].images[0].media\" must be the SHA-256",
            ),
            (
                serde_json::json!({"text": "x", "thread": [{"text": "y", "images": [{"media": sha, "alt": 5}]}]}),
                "\"thread[0].images[0].alt\": invalid type",
            ),
            (serde_json::json!({"text": "x", "thread": []}), "\"thread\" is empty"),
            (
                serde_json::json!({"text": "x", "link": {"url": "javascript:alert(1)"}}),
                "\"link.url\" must be an http or https link",
            ),
            (serde_json::json!({"text": "x", "langs": ["english please"]}), "is not a language tag"),
            (serde_json::json!({"text": "  "}), "\"text\" is empty"),
            (serde_json::json!({"channel": "b"}), "needs a \"text\" field"),
        ];
        for (payload, expected) in cases {
            let err = parsed(payload.clone()).unwrap_err();
            assert!(err.contains(expected), "{payload}: {err}");
        }
        let long: Vec<_> = (0..25).map(|i| serde_json::json!({"text": format!("{i}")})).collect();
        assert!(parsed(serde_json::json!({"text": "x", "thread": long})).unwrap_err().contains("at most 25"));
        let images: Vec<_> = (0..5).map(|_| serde_json::json!({"media": sha})).collect();
        assert!(parsed(serde_json::json!({"text": "x", "images": images})).unwrap_err().contains("at most 4"));
    }
}
