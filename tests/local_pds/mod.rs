//! The Bluesky reference server for tests: `scripts/pds/run.sh` (installing
//! it first if needed) on two free loopback ports, stopped when dropped; and
//! a relay in front of it that can hold back the answer to a post, so a test
//! can kill AOL after the post was made and before AOL heard of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

#[path = "../http_wire/mod.rs"]
mod http_wire;
use http_wire::{read_request, write_response};
use tokio::sync::mpsc;

pub struct LocalPds {
    pub url: String,
    pub handle: String,
    pub did: String,
    pub app_password: String,
    /// Other accounts on the server, by handle: their DIDs (`bob.test`).
    pub others: std::collections::HashMap<String, String>,
    child: Child,
    _state: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl LocalPds {
    /// A port freed a moment ago can be taken again before the server binds
    /// it, so a start that fails is tried twice more.
    pub fn start() -> LocalPds {
        let mut attempt = 1;
        loop {
            match LocalPds::start_once() {
                Ok(pds) => return pds,
                Err(why) if attempt < 3 => eprintln!("the local Bluesky server did not start, again: {why}"),
                Err(why) => panic!("the local Bluesky server did not start: {why}"),
            }
            attempt += 1;
        }
    }

    fn start_once() -> Result<LocalPds, String> {
        let state = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pds/run.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .env("PDS_PORT", free_port().to_string())
            .env("PLC_PORT", free_port().to_string())
            .env("STATE", state.path())
            .env("OTHER_HANDLES", "bob.test")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scripts/pds/run.sh");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let ready: serde_json::Value = match serde_json::from_str(&line) {
            Ok(ready) => ready,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{e}: {line:?}"));
            }
        };
        let text = |k: &str| ready[k].as_str().unwrap().to_string();
        let others = ready["others"]
            .as_object()
            .map(|o| o.iter().map(|(h, d)| (h.clone(), d.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default();
        Ok(LocalPds {
            url: text("url"),
            handle: text("handle"),
            did: text("did"),
            app_password: text("app_password"),
            others,
            child,
            _state: state,
        })
    }

    /// Adds the armed channel `name` for this server's account at `url` (the
    /// server itself, or a relay in front of it), its app password in a file
    /// under `dir` (the engine's secrets folder), posting without asking (the policy a Bluesky channel
    /// starts with is require_approval).
    pub async fn add_channel(&self, engine: &aol::engine::Engine, name: &str, url: &str, dir: &std::path::Path) {
        let ops = aol::engine::Actor::system("test");
        let secret = dir.join("app-password");
        std::fs::write(&secret, &self.app_password).unwrap();
        let request = aol::engine::channels::ChannelRequest {
            name: name.into(),
            kind: "bluesky".into(),
            url: url.into(),
            handle: Some(self.handle.clone()),
            secret_file: Some("app-password".into()),
            ..Default::default()
        };
        engine.channel_add(&request, &ops).await.unwrap();
        engine.channel_arm(name, true, &ops).await.unwrap();
        engine.policy_set(name, "POST_SOCIAL", aol::model::Policy::Auto, &ops).await.unwrap();
    }

    /// The record at `rkey` as the server holds it (`{"uri", "cid", "value"}`).
    pub async fn record(&self, rkey: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}/xrpc/com.atproto.repo.getRecord", self.url))
            .query(&[("repo", self.handle.as_str()), ("collection", "app.bsky.feed.post"), ("rkey", rkey)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A blob's bytes, as `com.atproto.sync.getBlob` serves them.
    pub async fn blob(&self, cid: &str) -> Vec<u8> {
        let answer = reqwest::Client::new()
            .get(format!("{}/xrpc/com.atproto.sync.getBlob", self.url))
            .query(&[("did", self.did.as_str()), ("cid", cid)])
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "getBlob {cid}: {}", answer.status());
        answer.bytes().await.unwrap().to_vec()
    }

    /// The account's posts, as the server lists them.
    pub async fn posts(&self) -> Vec<serde_json::Value> {
        let answer: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/xrpc/com.atproto.repo.listRecords", self.url))
            .query(&[("repo", self.handle.as_str()), ("collection", "app.bsky.feed.post"), ("limit", "100")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["records"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for LocalPds {
    fn drop(&mut self) {
        // run.sh execs node: this is the server itself; SIGTERM lets it stop cleanly.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// A relay to the server, recording the XRPC methods called. With `hold`
/// set, a `putRecord` is forwarded, its answer reported on `posts`, and then
/// never passed on (after the first `pass` of them, which go through);
/// with `expire_next` set, the next `putRecord` is answered
/// `400 ExpiredToken` without reaching the server.
pub struct Relay {
    pub url: String,
    pub hold: Arc<Mutex<bool>>,
    pub pass: Arc<Mutex<usize>>,
    pub expire_next: Arc<Mutex<bool>>,
    pub calls: Arc<Mutex<Vec<String>>>,
    pub posts: mpsc::UnboundedReceiver<(u16, String)>,
}

#[derive(Clone)]
struct Knobs {
    hold: Arc<Mutex<bool>>,
    pass: Arc<Mutex<usize>>,
    expire_next: Arc<Mutex<bool>>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Relay {
    pub async fn start(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let knobs =
            Knobs { hold: Arc::default(), pass: Arc::default(), expire_next: Arc::default(), calls: Arc::default() };
        let (tx, posts) = mpsc::unbounded_channel();
        let (target, shared) = (target.to_string(), knobs.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(relay(stream, target.clone(), shared.clone(), tx.clone()));
            }
        });
        Relay { url, hold: knobs.hold, pass: knobs.pass, expire_next: knobs.expire_next, calls: knobs.calls, posts }
    }

    /// How many times `method` was called.
    pub fn called(&self, method: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|m| m.as_str() == method).count()
    }
}

async fn relay(mut stream: TcpStream, target: String, knobs: Knobs, posts: mpsc::UnboundedSender<(u16, String)>) {
    let Some(http_wire::Request { method, path, headers, body }) = read_request(&mut stream).await else { return };
    let xrpc = path.trim_start_matches("/xrpc/").split('?').next().unwrap_or_default().to_string();
    knobs.calls.lock().unwrap().push(xrpc.clone());
    if xrpc == "com.atproto.repo.putRecord" && std::mem::take(&mut *knobs.expire_next.lock().unwrap()) {
        write_response(&mut stream, 400, &[], r#"{"error":"ExpiredToken","message":"Token has expired"}"#).await;
        return;
    }
    let client = reqwest::Client::new();
    let mut request = client.request(method.parse().unwrap(), format!("{target}{path}")).body(body);
    for (k, v) in headers {
        if k == "authorization" || k == "content-type" {
            request = request.header(k, v);
        }
    }
    let Ok(answer) = request.send().await else { return };
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    if path.contains("com.atproto.repo.putRecord") {
        let _ = posts.send((status, text.clone()));
        let passes = {
            let mut pass = knobs.pass.lock().unwrap();
            let passes = *pass > 0;
            *pass = pass.saturating_sub(1);
            passes
        };
        if *knobs.hold.lock().unwrap() && !passes {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
    }
    write_response(&mut stream, status, &[], &text).await;
}

/// `aol daemon` in REAL mode on `url`, ticking every 50 ms with a lease of
/// 0.6 s (so a successor takes over soon after a kill), logging to
/// `dir/daemon.log` (appended) and writing artifacts under `dir`.
pub fn start_daemon(url: &str, dir: &std::path::Path) -> Child {
    let log = std::fs::File::options().create(true).append(true).open(dir.join("daemon.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["daemon", "--proof-mode", "0", "--tick-interval-seconds", "0.05", "--lease-ttl-seconds", "0.6"])
        .args(["--heartbeat-seconds", "0.15"])
        // The local PDS is on this machine; the channel's password is in `dir`.
        .arg("--allow-private-channels=1")
        .arg("--secrets-dir")
        .arg(dir)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "info")
        .env_remove("AOL_MAX_TICKS")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start aol daemon")
}
