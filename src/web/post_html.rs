//! A post drawn as people will see it (server-side, see `server_html`): each
//! post of a thread in order, its text with live links, tags and mentions,
//! its images with their alt text, its link card, and the notes to read
//! before approving it. Images come from `/ui/media/<sha256>`.

use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{CardView, ImageView, PartView, PostView, TextSpan};

/// Where the dashboard reads a stored file.
pub fn media_url(sha256: &str) -> String {
    format!("{}/{sha256}", crate::web::MEDIA_URL)
}

pub fn post(view: &PostView) -> impl IntoView {
    let total = view.parts.len();
    let parts = view
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let place = (total > 1).then(|| view! { <p class="meta">{format!("{} of {total}", i + 1)}</p> });
            view! { <li class="post-part" data-testid="post-part">{place}{part_view(part)}</li> }
        })
        .collect_view();
    let langs = (!view.langs.is_empty()).then(|| view! { <p class="meta">"Language: " {view.langs.join(", ")}</p> });
    let notes = view.notes.iter().map(|n| view! { <li data-testid="post-note">{n.clone()}</li> }).collect_view();
    view! {
        <div class="post-preview" data-testid="post-preview">
            <ol class="post-thread">{parts}</ol>
            {langs}
            <ul class="notes">{notes}</ul>
        </div>
    }
}

fn part_view(part: &PartView) -> impl IntoView {
    let text = part.spans.iter().map(span).collect_view();
    let images = (!part.images.is_empty()).then(|| {
        let images = part.images.iter().map(image).collect_view();
        view! { <div class="post-images">{images}</div> }
    });
    view! {
        <p class="post-text" data-testid="post-text">{text}</p>
        {images}
        {part.card.as_ref().map(card)}
    }
}

fn span(s: &TextSpan) -> impl IntoView {
    match &s.href {
        Some(href) => Either::Left(view! {
            <a href=href.clone() class=format!("facet facet-{}", s.kind) rel="noopener noreferrer" target="_blank"
                data-testid="post-facet">{s.text.clone()}</a>
        }),
        None => Either::Right(s.text.clone()),
    }
}

fn image(i: &ImageView) -> impl IntoView {
    let alt = i.alt.clone().unwrap_or_default();
    let caption = match &i.alt {
        Some(alt) => format!("Alt: {alt}"),
        None => "No alt text".to_string(),
    };
    view! {
        <figure class="post-image">
            <img src=media_url(&i.sha256) alt=alt loading="lazy" width=i.width height=i.height data-testid="post-image"/>
            <figcaption data-testid="post-alt">{caption}</figcaption>
        </figure>
    }
}

fn card(c: &CardView) -> impl IntoView {
    view! {
        <a class="post-card" href=c.url.clone() rel="noopener noreferrer" target="_blank" data-testid="post-card">
            {c.thumb.as_ref().map(|t| view! { <img src=media_url(t) alt="" loading="lazy"/> })}
            <span class="post-card-title">{c.title.clone()}</span>
            <span class="post-card-text">{c.description.clone()}</span>
            <span class="key">{c.url.clone()}</span>
        </a>
    }
}

/// A request document indented for reading (as it is, if it is not JSON).
pub fn pretty(document: &str) -> String {
    serde_json::from_str::<serde_json::Value>(document)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| document.to_string())
}
