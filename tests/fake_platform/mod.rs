//! A platform stand-in for the Mastodon and webhook tests: a small HTTP/1.1
//! server on loopback that records every request (its bytes and headers) and
//! answers as Mastodon's API documents, or with a fault on demand: a status
//! with headers, accept-then-hang, or a connection reset after the request.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
    /// Idempotency-Key → status id.
    statuses: HashMap<String, String>,
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
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let Some(request) = read_request(&mut stream).await else { return };
    let answer = {
        let mut s = state.lock().unwrap();
        s.received.push(request.clone());
        s.script.pop_front().unwrap_or(Answer::Status)
    };
    match answer {
        Answer::Status => {
            let key = request.headers.get("idempotency-key").cloned().unwrap_or_default();
            let id = {
                let mut s = state.lock().unwrap();
                let next = format!("1090{}", s.statuses.len() + 1);
                s.statuses.entry(key).or_insert(next).clone()
            };
            let body = format!(r#"{{"id":"{id}","url":"https://social.example/@brand/{id}"}}"#);
            write(&mut stream, 200, &[], &body).await;
        }
        Answer::Raw(code, headers, body) => write(&mut stream, code, &headers, &body).await,
        Answer::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
        Answer::Reset => {
            // A zero linger does not block: the close sends a reset at once.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split_whitespace().nth(1)?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received { at: Utc::now(), path, headers, body: buf[head_end..head_end + length].to_vec() })
}

async fn write(stream: &mut TcpStream, code: u16, headers: &[(String, String)], body: &str) {
    let mut out = format!(
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = stream.write_all(out.as_bytes()).await;
    let _ = stream.shutdown().await;
}
