//! Statistics, and starting the real server.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The value at quantile `q` (0–1) of sorted samples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s
}

/// "median / p95 / max" with `decimals` decimals.
pub fn summary(samples: &[f64], decimals: usize) -> String {
    let s = sorted(samples);
    format!("{:>8.d$} / {:>8.d$} / {:>8.d$}", quantile(&s, 0.5), quantile(&s, 0.95), s[s.len() - 1], d = decimals)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `aol serve` on a free port over `url`, the daemon ticking only once an
/// hour so that it stays out of the measurements; killed when dropped.
pub struct Server {
    pub base: String,
    child: Child,
    _artifacts: tempfile::TempDir,
}

impl Server {
    pub async fn start(url: &str, operator_token: &str) -> Server {
        Server::start_with_interval(url, operator_token, 3600.0).await
    }

    /// With the daemon ticking every `interval` seconds.
    pub async fn start_with_interval(url: &str, operator_token: &str, interval: f64) -> Server {
        let artifacts = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_aol"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--tick-interval-seconds", &interval.to_string()])
            .env("DATABASE_URL", url)
            .env("AOL_OPERATOR_TOKEN", operator_token)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aol serve");
        let server = Server { base: format!("http://127.0.0.1:{port}"), child, _artifacts: artifacts };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            let up = client.get(format!("{}/healthz", server.base)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aol serve did not come up");
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
