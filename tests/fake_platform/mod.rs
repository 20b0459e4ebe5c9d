//! A platform stand-in for the Mastodon and webhook tests: a small HTTP/1.1
//! server on loopback that records every request (its bytes and headers) and
//! answers as Mastodon's API documents, or with a fault on demand: a status
//! with headers, accept-then-hang, or a connection reset after the request.
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
    let request = Received {
        at: Utc::now(),
        path: request.path,
        headers: request.headers.into_iter().collect(),
        body: request.body,
    };
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
            write_response(&mut stream, 200, &[], &body).await;
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
