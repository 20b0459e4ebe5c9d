//! A post as people will see it, for the inbox and the action page: each
//! post of the thread with its links, tags and mentions marked (as Bluesky's
//! facets will make them live), its images with their alt text, its card,
//! and what is worth knowing before approving it.

use crate::engine::channels::{detect, Facts, Feature, MediaMap, SocialPost};
use crate::model::{CardView, Channel, ChannelKind, ImageView, PartView, PostView, TextSpan};

pub fn view(post: &SocialPost, channel: Option<&Channel>, media: &MediaMap, facts: Option<&Facts>) -> PostView {
    let kind = channel.and_then(Channel::kind);
    let bluesky = kind == Some(ChannelKind::Bluesky);
    let mut notes = Vec::new();
    if let (Some(facts), Some(channel)) = (facts, channel) {
        for handle in facts.unknown_handles() {
            notes.push(format!("@{handle} is not an account on {}: it stays plain text", channel.base_url));
        }
    }
    if bluesky && facts.is_none() && post.parts.iter().any(|p| p.text.contains('@')) {
        notes.push("mentions are looked up on the channel's server when the request is first built".into());
    }
    let parts = post
        .parts
        .iter()
        .map(|part| {
            if kind == Some(ChannelKind::Mastodon) {
                if let Some(link) = part.link.as_ref().filter(|l| !part.text.contains(&l.url)) {
                    notes.push(format!("{} is added to the text: Mastodon makes the card from a link in it", link.url));
                }
            }
            PartView {
                spans: spans(&part.text, bluesky, facts),
                images: part
                    .images
                    .iter()
                    .map(|i| {
                        let file = media.get(&i.media);
                        ImageView {
                            sha256: i.media.clone(),
                            alt: i.alt.clone(),
                            width: file.and_then(|f| f.width),
                            height: file.and_then(|f| f.height),
                        }
                    })
                    .collect(),
                card: part.link.as_ref().map(|l| CardView {
                    url: l.url.clone(),
                    title: l.title.clone(),
                    description: l.description.clone(),
                    thumb: l.thumb.clone(),
                }),
            }
        })
        .collect();
    PostView { parts, langs: post.langs.clone(), notes }
}

/// `text` cut at its links, tags and mentions; on Bluesky a mention is live
/// only when its handle was found.
fn spans(text: &str, bluesky: bool, facts: Option<&Facts>) -> Vec<TextSpan> {
    let plain = |s: &str| TextSpan { text: s.to_string(), kind: "text".into(), href: None };
    let mut out = Vec::new();
    let mut at = 0;
    for span in detect(text) {
        let (kind, href) = match &span.feature {
            Feature::Link(uri) => ("link", Some(uri.clone())),
            Feature::Tag(tag) if bluesky => ("tag", Some(format!("https://bsky.app/hashtag/{tag}"))),
            Feature::Tag(_) => ("tag", None),
            Feature::Mention(handle) => match facts.and_then(|f| f.mentions.get(handle).cloned().flatten()) {
                Some(_) if bluesky => ("mention", Some(format!("https://bsky.app/profile/{handle}"))),
                _ => continue,
            },
        };
        if span.start > at {
            out.push(plain(&text[at..span.start]));
        }
        out.push(TextSpan { text: text[span.start..span.end].to_string(), kind: kind.into(), href });
        at = span.end;
    }
    if at < text.len() {
        out.push(plain(&text[at..]));
    }
    out
}
