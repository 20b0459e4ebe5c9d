//! The checks a post meets at enqueue on every platform, each with the
//! reason it fails: text length (graphemes, characters, Mastodon's weighted
//! count), images (how many, their type and size, alt text) and cards.

use std::sync::LazyLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use super::post::{MediaMap, Part, SocialPost};
use crate::model::Channel;

/// The image types AOL accepts (read from the bytes at upload).
pub const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/gif"];

/// "" for a single post, "thread post 2 of 3: " for a thread's.
pub fn place(post: &SocialPost, index: usize) -> String {
    if post.is_thread() {
        format!("thread post {} of {}: ", index + 1, post.parts.len())
    } else {
        String::new()
    }
}

/// Why `text` is over `max` graphemes on `platform`, if it is.
pub fn graphemes(text: &str, max: usize, platform: &str) -> Result<(), String> {
    let count = text.graphemes(true).count();
    if count > max {
        return Err(format!("\"text\" is {count} graphemes; {platform} takes at most {max}"));
    }
    Ok(())
}

static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"https?://\S+").expect("valid regex"));
static REMOTE_MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)@([A-Za-z0-9_]+)@[A-Za-z0-9.-]+").expect("valid regex"));

/// A text's length as Mastodon counts it: characters, with every URL as
/// `per_url` characters and `@user@server` as `@user`.
pub fn mastodon_length(text: &str, per_url: usize) -> usize {
    let urls: usize = URL.find_iter(text).map(|m| m.as_str().chars().count()).sum();
    let url_count = URL.find_iter(text).count();
    let domains: usize = REMOTE_MENTION
        .captures_iter(text)
        .filter_map(|c| Some(c.get(0)?.as_str().trim_start().chars().count() - 1 - c.get(1)?.as_str().chars().count()))
        .sum();
    text.chars().count() - urls + url_count * per_url - domains
}

/// A part's images and card: at most `max_images`, each a stored image of
/// at most `max_bytes`, with alt text where the channel asks for it.
pub fn images(
    channel: &Channel,
    part: &Part,
    media: &MediaMap,
    max_images: usize,
    max_bytes: i64,
    platform: &str,
) -> Result<(), String> {
    if part.images.len() > max_images {
        return Err(format!("{} images; {platform} takes at most {max_images} a post", part.images.len()));
    }
    let files = part
        .images
        .iter()
        .map(|i| (&i.media, "image"))
        .chain(part.link.iter().filter_map(|l| Some((l.thumb.as_ref()?, "link card's thumb"))));
    for (sha, what) in files {
        let file = media.get(sha).ok_or_else(|| format!("the {what} {sha} is not a file uploaded to AOL"))?;
        if !IMAGE_TYPES.contains(&file.mime.as_str()) {
            return Err(format!("the {what} {sha} is {}, not an image {platform} shows", file.mime));
        }
        if file.size > max_bytes {
            return Err(format!(
                "the {what} {sha} is {} bytes; {platform} takes images up to {max_bytes} bytes",
                file.size
            ));
        }
    }
    if channel.require_alt {
        if let Some(n) = part.images.iter().position(|i| i.alt.as_deref().is_none_or(|a| a.trim().is_empty())) {
            return Err(format!(
                "image {} has no \"alt\" text, which channel {:?} requires (describe it for people who cannot see it, \
                 or turn this off with `aol channel alt-text {} optional`)",
                n + 1,
                channel.name,
                channel.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_counts_urls_as_23_and_remote_mentions_by_user() {
        assert_eq!(mastodon_length("hello", 23), 5);
        let long = format!("see https://example.com/{}", "x".repeat(100));
        assert_eq!(mastodon_length(&long, 23), 4 + 23);
        assert_eq!(mastodon_length("hi @bob@mastodon.example!", 23), "hi @bob!".chars().count());
        assert_eq!(mastodon_length("☕é", 23), 2);
    }
}
