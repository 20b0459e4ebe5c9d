//! The requests a post is made of, in order (uploads, then the posts), and
//! the one document that lists them all: PROOF writes it as the artifact,
//! an approval binds to its SHA-256, and REAL sends exactly what it lists.

use sha2::{Digest, Sha256};

/// One HTTP POST, without its secret (added as it leaves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    /// Headers that are part of what is approved: the Idempotency-Key, the
    /// content type.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// JSON, exactly these bytes. Where a value is only known once an
    /// earlier request is answered (Mastodon's media and status ids), it is
    /// written `{{media P.I}}` or `{{status P}}` (post P, image I, from 1)
    /// and filled in as it arrives.
    Json(Vec<u8>),
    /// A stored file's bytes as they are.
    File(FileRef),
    /// `multipart/form-data`: text fields, then a stored file as `file`.
    Form { fields: Vec<(String, String)>, file: FileRef },
}

/// A stored file, named by the SHA-256 of its bytes (so the document's own
/// SHA-256 covers them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    pub sha256: String,
    pub mime: String,
    pub size: i64,
}

/// A post's requests and the document that lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub requests: Vec<Request>,
    /// The document (JSON): PROOF's artifact, what approvals bind to.
    pub artifact: Vec<u8>,
    /// SHA-256 of `artifact`.
    pub sha256: String,
    /// Bluesky: each post's record key, in the thread's order.
    pub record_keys: Vec<String>,
    /// Bluesky, a thread: each post's CID as computed here, which the server
    /// must give it (the replies name them).
    pub record_cids: Vec<String>,
}

impl Prepared {
    pub fn new(requests: Vec<Request>, record_keys: Vec<String>) -> Prepared {
        let artifact = document(&requests);
        let sha256 = hex::encode(Sha256::digest(&artifact));
        Prepared { requests, artifact, sha256, record_keys, record_cids: Vec::new() }
    }

    /// The first request's URL (where the post goes), for messages.
    pub fn url(&self) -> &str {
        self.requests.last().map(|r| r.url.as_str()).unwrap_or_default()
    }
}

/// `body` with each `"{{name}}"` in it replaced by the JSON string `value`:
/// the values of [`Body::Json`]'s placeholders, once they are known. The
/// rest stays byte for byte.
pub fn fill(body: &[u8], values: &[(String, String)]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for (name, value) in values {
        let quoted = serde_json::to_string(value).expect("strings serialise");
        text = text.replace(&format!("\"{{{{{name}}}}}\""), &quoted);
    }
    text.into_bytes()
}

/// `"{{name}}"`, a placeholder as a JSON body holds it (without the quotes).
pub fn placeholder(name: &str) -> String {
    format!("{{{{{name}}}}}")
}

/// `{"requests":[{"method":"POST","url":…,"headers":{…},"body":<the exact
/// JSON>}, {…,"file":{"sha256":…,"mime":…,"size":…}}, {…,"form":{…},"file":…}]}`:
/// written by hand so that each JSON body is embedded byte for byte.
fn document(requests: &[Request]) -> Vec<u8> {
    let text = |s: &str| serde_json::to_string(s).expect("strings serialise");
    let object = |pairs: &[(String, String)]| {
        let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("{}:{}", text(k), text(v))).collect();
        format!("{{{}}}", fields.join(","))
    };
    let file =
        |f: &FileRef| format!("{{\"sha256\":{},\"mime\":{},\"size\":{}}}", text(&f.sha256), text(&f.mime), f.size);
    let mut out = b"{\"requests\":[".to_vec();
    for (i, r) in requests.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(
            format!("{{\"method\":\"POST\",\"url\":{},\"headers\":{}", text(&r.url), object(&r.headers)).bytes(),
        );
        match &r.body {
            Body::Json(bytes) => {
                out.extend(b",\"body\":");
                out.extend(bytes);
            }
            Body::File(f) => out.extend(format!(",\"file\":{}", file(f)).bytes()),
            Body::Form { fields, file: f } => {
                out.extend(format!(",\"form\":{},\"file\":{}", object(fields), file(f)).bytes())
            }
        }
        out.push(b'}');
    }
    out.extend(b"]}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_nothing_else_changes() {
        let body = format!(
            r#"{{"media_ids":["{}"],"in_reply_to_id":"{}","text":"{{{{media 1.1}}}} stays"}}"#,
            placeholder("media 1.1"),
            placeholder("status 1")
        );
        let filled = fill(body.as_bytes(), &[("media 1.1".into(), "109".into()), ("status 1".into(), "7\"x".into())]);
        assert_eq!(
            String::from_utf8(filled).unwrap(),
            r#"{"media_ids":["109"],"in_reply_to_id":"7\"x","text":"{{media 1.1}} stays"}"#
        );
    }

    #[test]
    fn the_document_embeds_each_body_exactly_and_is_json() {
        let body = br#"{"b":1,"a":"caf\u00e9 \u2615"}"#.to_vec();
        let file = FileRef { sha256: "ab".repeat(32), mime: "image/png".into(), size: 5 };
        let prepared = Prepared::new(
            vec![
                Request {
                    url: "https://x.example/up".into(),
                    headers: vec![("Content-Type".into(), "image/png".into())],
                    body: Body::File(file.clone()),
                },
                Request {
                    url: "https://x.example/form".into(),
                    headers: vec![],
                    body: Body::Form { fields: vec![("description".into(), "a \"chart\"".into())], file },
                },
                Request { url: "https://x.example/post".into(), headers: vec![], body: Body::Json(body.clone()) },
            ],
            vec![],
        );
        let text = String::from_utf8(prepared.artifact.clone()).unwrap();
        assert!(text.contains(std::str::from_utf8(&body).unwrap()), "{text}");
        let v: serde_json::Value = serde_json::from_slice(&prepared.artifact).unwrap();
        assert_eq!(v["requests"][0]["file"]["size"], 5);
        assert_eq!(v["requests"][1]["form"]["description"], "a \"chart\"");
        assert_eq!(v["requests"][2]["body"]["a"], "café ☕");
        assert_eq!(prepared.sha256, hex::encode(Sha256::digest(&prepared.artifact)));
        assert_eq!(prepared.url(), "https://x.example/post");
    }
}
