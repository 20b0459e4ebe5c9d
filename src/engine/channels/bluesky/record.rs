//! A post's requests on Bluesky, all computed before anything is sent: each
//! image uploaded as a blob (its CID is known from its bytes), then one
//! `putRecord` per post of the thread, each at its own fixed record key with
//! `"swapRecord": null`, each reply naming the root and the post before it
//! by URI and CID (computed here, checked against the server's answers).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::facets::{facets, Facet};
use super::{cid, record_key, COLLECTION};
use crate::engine::channels::post::{Image, Link, Outgoing, Part};
use crate::engine::channels::request::{Body, FileRef, Prepared, Request};
use crate::model::Channel;

/// The body of `com.atproto.repo.putRecord`.
#[derive(Serialize)]
struct PutRecord<'a> {
    repo: &'a str,
    collection: &'a str,
    rkey: &'a str,
    record: &'a PostRecord<'a>,
    /// `null`: "there must be no record at this key yet".
    #[serde(rename = "swapRecord")]
    swap_record: Option<()>,
}

/// An `app.bsky.feed.post` record.
#[derive(Serialize)]
pub(super) struct PostRecord<'a> {
    #[serde(rename = "$type")]
    kind: &'a str,
    text: &'a str,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    langs: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    facets: Vec<Facet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    embed: Option<Embed<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply: Option<Reply>,
}

#[derive(Serialize)]
#[serde(tag = "$type")]
enum Embed<'a> {
    #[serde(rename = "app.bsky.embed.images")]
    Images { images: Vec<EmbedImage<'a>> },
    #[serde(rename = "app.bsky.embed.external")]
    External { external: External<'a> },
}

#[derive(Serialize)]
struct EmbedImage<'a> {
    alt: &'a str,
    image: BlobRef,
    #[serde(rename = "aspectRatio", skip_serializing_if = "Option::is_none")]
    aspect_ratio: Option<AspectRatio>,
}

#[derive(Serialize)]
struct AspectRatio {
    width: i64,
    height: i64,
}

#[derive(Serialize)]
struct External<'a> {
    uri: &'a str,
    title: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumb: Option<BlobRef>,
}

/// A blob as a record names it.
#[derive(Serialize)]
pub(super) struct BlobRef {
    #[serde(rename = "$type")]
    kind: &'static str,
    #[serde(rename = "ref")]
    link: CidLink,
    #[serde(rename = "mimeType")]
    mime: String,
    size: i64,
}

#[derive(Serialize)]
struct CidLink {
    #[serde(rename = "$link")]
    link: String,
}

#[derive(Clone, Serialize)]
struct Reply {
    root: StrongRef,
    parent: StrongRef,
}

#[derive(Clone, Serialize)]
struct StrongRef {
    uri: String,
    cid: String,
}

/// The record key of post `index` of action `action_id`'s thread: the
/// first is the action's own key (as before threads), each next one a
/// microsecond later, so they sort in the thread's order.
pub fn part_key(created_at: DateTime<Utc>, action_id: i64, index: usize) -> String {
    record_key(created_at + TimeDelta::microseconds(index as i64), action_id)
}

/// `createdAt` of post `index`: the action's creation, a millisecond apart.
fn part_created_at(created_at: DateTime<Utc>, index: usize) -> String {
    (created_at + TimeDelta::milliseconds(index as i64)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The blob of stored file `sha256`.
fn blob_ref(out: &Outgoing<'_>, sha256: &str) -> Result<BlobRef, String> {
    let file = out.file(sha256)?;
    Ok(BlobRef { kind: "blob", link: CidLink { link: cid::blob(sha256)? }, mime: file.mime.clone(), size: file.size })
}

fn embed<'a>(out: &Outgoing<'a>, images: &'a [Image], link: Option<&'a Link>) -> Result<Option<Embed<'a>>, String> {
    if !images.is_empty() {
        let images = images
            .iter()
            .map(|image| {
                let file = out.file(&image.media)?;
                let aspect_ratio = match (file.width, file.height) {
                    (Some(width), Some(height)) if width > 0 && height > 0 => Some(AspectRatio { width, height }),
                    _ => None,
                };
                Ok(EmbedImage {
                    alt: image.alt.as_deref().unwrap_or_default(),
                    image: blob_ref(out, &image.media)?,
                    aspect_ratio,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        return Ok(Some(Embed::Images { images }));
    }
    Ok(match link {
        Some(link) => Some(Embed::External {
            external: External {
                uri: &link.url,
                title: &link.title,
                description: &link.description,
                thumb: link.thumb.as_deref().map(|sha| blob_ref(out, sha)).transpose()?,
            },
        }),
        None => None,
    })
}

/// Every request of the post `out` on `channel`, in order.
pub fn prepare(channel: &Channel, handle: &str, out: &Outgoing<'_>) -> Result<Prepared, String> {
    let mut requests = Vec::new();
    for sha in out.post.media() {
        let file = out.file(&sha)?;
        requests.push(Request {
            url: super::xrpc(channel, "com.atproto.repo.uploadBlob"),
            headers: vec![("Content-Type".into(), file.mime.clone())],
            body: Body::File(FileRef { sha256: sha.clone(), mime: file.mime.clone(), size: file.size }),
        });
    }
    let did_of = |handle: &str| out.facts.mentions.get(handle).cloned().flatten();
    let mut keys = Vec::new();
    let mut cids = Vec::new();
    let mut root: Option<StrongRef> = None;
    let mut parent: Option<StrongRef> = None;
    for (index, Part { text, images, link }) in out.post.parts.iter().enumerate() {
        let rkey = part_key(out.created_at, out.action_id, index);
        let reply = match (&root, &parent) {
            (Some(root), Some(parent)) => Some(Reply { root: root.clone(), parent: parent.clone() }),
            _ => None,
        };
        let record = PostRecord {
            kind: COLLECTION,
            text,
            created_at: part_created_at(out.created_at, index),
            langs: &out.post.langs,
            facets: facets(text, did_of),
            embed: embed(out, images, link.as_ref())?,
            reply,
        };
        if out.post.is_thread() {
            let did = out.facts.did.as_deref().ok_or("the account's DID is not known yet (it is looked up first)")?;
            let value = serde_json::to_value(&record).map_err(|e| e.to_string())?;
            let made = StrongRef { uri: format!("at://{did}/{COLLECTION}/{rkey}"), cid: cid::record(&value)? };
            cids.push(made.cid.clone());
            root.get_or_insert_with(|| made.clone());
            parent = Some(made);
        }
        let body = PutRecord { repo: handle, collection: COLLECTION, rkey: &rkey, record: &record, swap_record: None };
        requests.push(Request {
            url: super::xrpc(channel, "com.atproto.repo.putRecord"),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Json(serde_json::to_vec(&body).map_err(|e| e.to_string())?),
        });
        keys.push(rkey);
    }
    let mut prepared = Prepared::new(requests, keys);
    prepared.record_cids = cids;
    Ok(prepared)
}
