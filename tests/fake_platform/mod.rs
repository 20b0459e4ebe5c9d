//! A platform stand-in for the Mastodon and webhook tests: a small HTTP/1.1
//! server on loopback that records every request (its bytes and headers) and
//! answers as Mastodon's API documents (statuses with their Idempotency-Key,
//! media uploads that are processed a moment later, the instance's limits),
//! or with a fault on demand: a status with headers, accept-then-hang, a
//! connection reset after the request, or a status made and then a 502.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::{TcpListener, TcpStream};

#[path = "../http_wire/mod.rs"]
mod http_wire;
use http_wire::{read_request, write_response};

/// How to answer one request.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with a Mastodon status `{"id": …, "url": …}`; the same
    /// Idempotency-Key gets the same status back, as Mastodon does.
    Status,
    /// This status code, headers and body.
    Raw(u16, Vec<(String, String)>, String),
    /// Read the request, then never answer.
    Hang,
    /// Read the request, then reset the connection.
    Reset,
    /// Make the status (as `Status` does), then answer with this code, as a
    /// proxy that lost the server's answer does.
    MadeThen(u16),
}

/// A status the stand-in made.
#[derive(Clone, Debug)]
pub struct Made {
    pub id: String,
    pub key: String,
    pub body: serde_json::Value,
}

/// A media attachment uploaded to the stand-in.
#[derive(Clone, Debug)]
pub struct Upload {
    pub id: String,
    pub description: Option<String>,
    pub mime: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub at: DateTime<Utc>,
    pub path: String,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    received: Vec<Received>,
    /// Idempotency-Key → status id (what Mastodon keeps for an hour).
    statuses: HashMap<String, String>,
    made: Vec<Made>,
    uploads: Vec<Upload>,
    /// `GET /api/v2/instance`'s answer (404 when none).
    instance: Option<String>,
}

#[derive(Clone)]
pub struct FakePlatform {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakePlatform {
    pub async fn start() -> FakePlatform {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        FakePlatform { base, state }
    }

    /// Answers the next requests so, in order (then `Answer::Status`).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().unwrap().script.extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Every status made, in order.
    pub fn made(&self) -> Vec<Made> {
        self.state.lock().unwrap().made.clone()
    }

    pub fn uploads(&self) -> Vec<Upload> {
        self.state.lock().unwrap().uploads.clone()
    }

    /// What `/api/v2/instance` answers: a server with these limits.
    pub fn set_instance(&self, max_characters: i64, max_media: i64, image_size_limit: i64) {
        let doc = serde_json::json!({"configuration": {
            "statuses": {"max_characters": max_characters, "max_media_attachments": max_media, "characters_reserved_per_url": 23},
            "media_attachments": {"image_size_limit": image_size_limit}}});
        self.state.lock().unwrap().instance = Some(doc.to_string());
    }

    /// Forgets every Idempotency-Key, as Mastodon does an hour after a status.
    pub fn forget_keys(&self) {
        self.state.lock().unwrap().statuses.clear();
    }
}

/// The status for `request`: the one its Idempotency-Key made, or a new one.
fn make_status(state: &Mutex<State>, request: &Received) -> String {
    let key = request.headers.get("idempotency-key").cloned().unwrap_or_default();
    let mut s = state.lock().unwrap();
    if let Some(id) = s.statuses.get(&key) {
        return id.clone();
    }
    let id = format!("1090{}", s.made.len() + 1);
    let body = serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);
    s.made.push(Made { id: id.clone(), key: key.clone(), body });
    s.statuses.insert(key, id.clone());
    id
}

/// A form's text fields, and its file's type and bytes.
type Form = (HashMap<String, String>, Option<(String, Vec<u8>)>);

/// The text fields and the file of a `multipart/form-data` body.
fn multipart(content_type: &str, body: &[u8]) -> Form {
    let boundary = content_type.split("boundary=").nth(1).unwrap_or_default().trim_matches('"');
    let marker = format!("--{boundary}");
    let (mut fields, mut file) = (HashMap::new(), None);
    let mut rest = body;
    while let Some(at) = find(rest, marker.as_bytes()) {
        rest = &rest[at + marker.len()..];
        let Some(head_end) = find(rest, b"\r\n\r\n") else { break };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{marker}").as_bytes()).unwrap_or(content.len());
        let value = content[..end].to_vec();
        let name = head.split("name=\"").nth(1).and_then(|n| n.split('"').next()).unwrap_or_default().to_string();
        if head.contains("filename=") {
            let mime = head.split("Content-Type:").nth(1).or_else(|| head.split("content-type:").nth(1));
            file = Some((mime.unwrap_or_default().trim().to_string(), value));
        } else {
            fields.insert(name, String::from_utf8_lossy(&value).into_owned());
        }
    }
    (fields, file)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let Some(request) = read_request(&mut stream).await else { return };
    let request = Received {
        at: Utc::now(),
        path: request.path,
        headers: request.headers.into_iter().collect(),
        body: request.body,
    };
    let path = request.path.clone();
    if path.starts_with("/api/v2/instance") {
        let instance = state.lock().unwrap().instance.clone();
        match instance {
            Some(doc) => write_response(&mut stream, 200, &[], &doc).await,
            None => write_response(&mut stream, 404, &[], r#"{"error":"not found"}"#).await,
        }
        return;
    }
    if let Some(id) = path.strip_prefix("/api/v1/media/") {
        // Processed by now.
        let body = format!(r#"{{"id":"{id}","url":"https://social.example/media/{id}"}}"#);
        write_response(&mut stream, 200, &[], &body).await;
        return;
    }
    let answer = {
        let mut s = state.lock().unwrap();
        s.received.push(request.clone());
        s.script.pop_front().unwrap_or(Answer::Status)
    };
    if path.starts_with("/api/v2/media") && matches!(answer, Answer::Status) {
        let content_type = request.headers.get("content-type").cloned().unwrap_or_default();
        let (fields, file) = multipart(&content_type, &request.body);
        let (mime, bytes) = file.unwrap_or_default();
        let id = {
            let mut s = state.lock().unwrap();
            let id = format!("m{}", s.uploads.len() + 1);
            s.uploads.push(Upload { id: id.clone(), description: fields.get("description").cloned(), mime, bytes });
            id
        };
        // Still processing: the client asks again at /api/v1/media/:id.
        write_response(&mut stream, 202, &[], &format!(r#"{{"id":"{id}","url":null}}"#)).await;
        return;
    }
    match answer {
        Answer::Status => {
            let id = make_status(&state, &request);
            let body = format!(r#"{{"id":"{id}","url":"https://social.example/@brand/{id}"}}"#);
            write_response(&mut stream, 200, &[], &body).await;
        }
        Answer::MadeThen(code) => {
            make_status(&state, &request);
            write_response(&mut stream, code, &[], r#"{"error":"Bad Gateway"}"#).await;
        }
        Answer::Raw(code, headers, body) => write_response(&mut stream, code, &headers, &body).await,
        Answer::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
        Answer::Reset => {
            // A zero linger does not block: the close sends a reset at once.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
    }
}
