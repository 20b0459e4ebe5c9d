//! Rich text on Bluesky: a link, a #tag or an @mention is live only through a
//! facet, the UTF-8 byte range of its text and what it points to. Detection
//! follows Bluesky's own (`@atproto/api` RichText.detectFacets) without its
//! list of top-level domains: links are written with `http(s)://`, and a
//! mention is any handle the channel's server resolves (a local server's
//! handles end in `.test`).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// What a span of text points to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feature {
    Link(String),
    /// The tag without its `#`.
    Tag(String),
    /// The handle, to be resolved to a DID.
    Mention(String),
}

/// A span of the text (UTF-8 byte offsets, end exclusive) and its feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub feature: Feature,
}

static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|[\s(])(https?://\S+)").expect("valid regex"));
static MENTION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|[\s(])(@[a-zA-Z0-9.-]+)").expect("valid regex"));
/// A `#` or a full-width `＃` after a space or at the start, then the tag's characters.
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)([#＃][^\s\x{00AD}\x{2060}\x{200A}\x{200B}\x{200C}\x{200D}\x{20E2}]+)").expect("valid regex")
});
static TRAILING_PUNCTUATION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\p{P}+$").expect("valid regex"));
/// A tag must hold something other than digits and punctuation.
static TAG_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[^0-9\s\p{P}]").expect("valid regex"));
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
        .expect("valid regex")
});

/// The longest tag Bluesky indexes, in characters (without the `#`).
const MAX_TAG_CHARS: usize = 64;

/// Whether `handle` has a handle's syntax (atproto: two or more labels of
/// letters, digits and '-', the last starting with a letter; at most 253).
pub fn is_handle(handle: &str) -> bool {
    handle.len() <= 253 && HANDLE.is_match(handle)
}

/// The links, tags and mentions of `text`, in order.
pub fn detect(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    for m in LINK.captures_iter(text).filter_map(|c| c.get(1)) {
        let mut uri = m.as_str();
        // A sentence's last character, or a closing bracket with no opening one, is not the link's.
        if uri.ends_with(['.', ',', ';', ':', '!', '?']) {
            uri = &uri[..uri.len() - 1];
        }
        if uri.ends_with(')') && !uri.contains('(') {
            uri = &uri[..uri.len() - 1];
        }
        spans.push(Span { start: m.start(), end: m.start() + uri.len(), feature: Feature::Link(uri.to_string()) });
    }
    for m in MENTION.captures_iter(text).filter_map(|c| c.get(1)) {
        // As `\b` ends it in Bluesky's pattern: not on a '.' or '-'.
        let handle = m.as_str()[1..].trim_end_matches(['.', '-']);
        if is_handle(handle) {
            let feature = Feature::Mention(handle.to_ascii_lowercase());
            spans.push(Span { start: m.start(), end: m.start() + 1 + handle.len(), feature });
        }
    }
    for m in TAG.captures_iter(text).filter_map(|c| c.get(1)) {
        let mark = m.as_str().chars().next().map_or(1, char::len_utf8);
        let body = &m.as_str()[mark..];
        if body.starts_with('\u{FE0F}') {
            continue;
        }
        let tag = TRAILING_PUNCTUATION.replace(body, "");
        if tag.is_empty() || !TAG_WORD.is_match(&tag) || tag.chars().count() > MAX_TAG_CHARS {
            continue;
        }
        spans.push(Span {
            start: m.start(),
            end: m.start() + mark + tag.len(),
            feature: Feature::Tag(tag.into_owned()),
        });
    }
    spans.sort_by_key(|s| s.start);
    // A span inside another (a #fragment in a link) is the outer one's.
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        if out.last().is_none_or(|last| span.start >= last.end) {
            out.push(span);
        }
    }
    out
}

/// A facet as the record holds it (`app.bsky.richtext.facet`).
#[derive(Clone, Debug, Serialize)]
pub struct Facet {
    pub index: ByteSlice,
    pub features: Vec<FacetFeature>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ByteSlice {
    #[serde(rename = "byteStart")]
    pub byte_start: usize,
    #[serde(rename = "byteEnd")]
    pub byte_end: usize,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "$type")]
pub enum FacetFeature {
    #[serde(rename = "app.bsky.richtext.facet#link")]
    Link { uri: String },
    #[serde(rename = "app.bsky.richtext.facet#tag")]
    Tag { tag: String },
    #[serde(rename = "app.bsky.richtext.facet#mention")]
    Mention { did: String },
}

/// The facets of `text`; a mention whose handle `did_of` does not know stays text.
pub fn facets(text: &str, did_of: impl Fn(&str) -> Option<String>) -> Vec<Facet> {
    detect(text)
        .into_iter()
        .filter_map(|span| {
            let feature = match span.feature {
                Feature::Link(uri) => FacetFeature::Link { uri },
                Feature::Tag(tag) => FacetFeature::Tag { tag },
                Feature::Mention(handle) => FacetFeature::Mention { did: did_of(&handle)? },
            };
            Some(Facet { index: ByteSlice { byte_start: span.start, byte_end: span.end }, features: vec![feature] })
        })
        .collect()
}

/// The handles `text` mentions, each once.
pub fn mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for span in detect(text) {
        if let Feature::Mention(h) = span.feature {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&str, Feature)> {
        detect(text).into_iter().map(|s| (&text[s.start..s.end], s.feature)).collect()
    }

    #[test]
    fn links_tags_and_mentions_by_utf8_byte_ranges() {
        let text = "Café ☕ launch today https://example.com/launch #Launch @bob.example";
        let spans = found(text);
        assert_eq!(
            spans,
            vec![
                ("https://example.com/launch", Feature::Link("https://example.com/launch".into())),
                ("#Launch", Feature::Tag("Launch".into())),
                ("@bob.example", Feature::Mention("bob.example".into())),
            ]
        );
        // "Café ☕ launch today " is 20 characters and 23 bytes: é is 2, ☕ is 3.
        assert_eq!(detect(text)[0].start, 23);
        assert_eq!(&text.as_bytes()[23..49], b"https://example.com/launch");
    }

    #[test]
    fn punctuation_around_them_is_not_part_of_them() {
        let spans =
            found("See (https://example.com/a_(b)) and https://x.example/p. Also #tag! and #2026 and @bob.test.");
        assert_eq!(
            spans,
            vec![
                ("https://example.com/a_(b))", Feature::Link("https://example.com/a_(b))".into())),
                ("https://x.example/p", Feature::Link("https://x.example/p".into())),
                ("#tag", Feature::Tag("tag".into())),
                ("@bob.test", Feature::Mention("bob.test".into())),
            ]
        );
        assert_eq!(found("(https://example.com/x)")[0].0, "https://example.com/x");
    }

    #[test]
    fn what_is_not_a_link_tag_or_mention() {
        assert!(found("mail me at me@example.com, price #1, a#b, @nodot, ftp://x.example, #\u{FE0F}x").is_empty());
        assert!(found(&format!("#{}", "a".repeat(65))).is_empty());
        assert_eq!(found(&format!("#{}", "a".repeat(64))).len(), 1);
        assert!(!is_handle("bob.1example"));
        assert!(is_handle("bob.test") && is_handle("a-b.c-d.example"));
    }

    proptest::proptest! {
        #[test]
        fn spans_are_in_order_apart_and_on_character_boundaries(text in "(\\PC| |@|#|https://|\\.|\\(|\\)){0,80}") {
            let spans = detect(&text);
            let mut end = 0;
            for span in &spans {
                proptest::prop_assert!(span.start >= end && span.start < span.end && span.end <= text.len());
                proptest::prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
                end = span.end;
            }
            let _ = crate::engine::channels::limits::mastodon_length(&text, 23);
        }
    }

    #[test]
    fn an_unknown_handle_stays_text() {
        let f = facets("hi @known.test and @nobody.test", |h| (h == "known.test").then(|| "did:plc:k".to_string()));
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].index.byte_start, f[0].index.byte_end), (3, 14));
        assert_eq!(mentions("@a.test @b.test @a.test"), vec!["a.test", "b.test"]);
    }
}
