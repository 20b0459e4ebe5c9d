//! The peer: graphile-worker 0.18 (benches/graphile, installed with npm on
//! first use), tuned (10 jobs in flight, a local queue of 100, completions
//! written at once), no-op jobs, on a fresh database of the same PostgreSQL
//! in the same run, and AOL's figures as ratios to it. graphile-worker needs
//! Node 22; the npm package `node` brings it, so nothing outside npm is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Backend, TestDb};
use crate::report::{Results, Target};

/// graphile-worker's figures, medians of its rounds.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub drain: f64,
    pub single: f64,
    pub batch: f64,
}

#[derive(serde::Deserialize)]
struct Out {
    single_per_s: Vec<f64>,
    batch_per_s: Vec<f64>,
    drain_per_s: Vec<f64>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/graphile")
}

/// Installs the peer's packages if they are not there; why not, if it cannot.
fn install() -> Result<PathBuf, String> {
    let node = dir().join("node_modules/.bin/node");
    if !node.exists() {
        let done = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir())
            .output()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if !done.status.success() {
            return Err(format!("npm ci failed: {}", String::from_utf8_lossy(&done.stderr)));
        }
    }
    Ok(node)
}

/// Runs graphile-worker: `jobs` queued per drain, `singles` single adds, `rounds` times.
pub async fn run(jobs: usize, singles: usize, rounds: usize, results: &mut Results) -> Option<Peer> {
    let node = match install() {
        Ok(node) => node,
        Err(why) => {
            println!("the peer (graphile-worker) is not measured: {why}");
            return None;
        }
    };
    let t = TestDb::empty(Backend::Postgres).await;
    let out = Command::new(node)
        .arg("bench.mjs")
        .current_dir(dir())
        .env("DATABASE_URL", &t.url)
        .env("JOBS", jobs.to_string())
        .env("SINGLES", singles.to_string())
        .env("ROUNDS", rounds.to_string())
        .env("CLIENTS", "8")
        .output()
        .expect("node");
    t.remove().await;
    if !out.status.success() {
        println!("the peer (graphile-worker) failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let out: Out = serde_json::from_slice(&out.stdout).expect("the peer prints its figures as JSON");
    let name = |what: &str| format!("peer: graphile-worker 0.18, {what}");
    let db = "postgres";
    results.add(
        db,
        &name(&format!("drain (no-op, 10 in flight, {jobs} queued)")),
        None,
        &out.drain_per_s,
        "jobs/s",
        Target::None,
    );
    results.add(db, &name("addJob, one per call (8 clients)"), None, &out.single_per_s, "jobs/s", Target::None);
    results.add(db, &name("addJobs, 100 per call (8 clients)"), None, &out.batch_per_s, "jobs/s", Target::None);
    let median = |v: &[f64]| crate::support::quantile(&crate::support::sorted(v), 0.5);
    Some(Peer { drain: median(&out.drain_per_s), single: median(&out.single_per_s), batch: median(&out.batch_per_s) })
}

/// AOL's figures against the peer's, each with its target (issue 22): a
/// ratio row per figure that the run measured.
pub fn ratios(peer: &Peer, results: &mut Results, drain_metric: &str) {
    let rows: Vec<_> = results.rows.clone();
    let find = |db: &str, metric: &str, history: Option<i64>| {
        rows.iter().find(|r| r.database == db && r.metric == metric && (history.is_none() || r.rows == history))
    };
    for db in ["sqlite", "postgres"] {
        let mut ratio = |name: String, aol: Option<f64>, peer: f64, target: f64| {
            if let Some(aol) = aol {
                results.add(db, &name, None, &[aol / peer], "ratio", Target::MedianAbove(target));
            }
        };
        let drain_empty = find(db, drain_metric, Some(0)).map(|r| r.median);
        ratio("real drain (PROOF) / peer's no-op drain".into(), drain_empty, peer.drain, 1.0);
        let noop = find(db, "process, caps lifted (64 in flight, no-op)", None).map(|r| r.median);
        ratio("no-op drain / peer's no-op drain".into(), noop, peer.drain, 1.5);
        let single = find(db, "HTTP enqueue (8 clients)", None).map(|r| r.median);
        ratio("HTTP enqueue, one per call / peer's addJob".into(), single, peer.single, 2.0);
        let batch = find(db, "HTTP batch enqueue (100 per call, 8 clients)", None).map(|r| r.median);
        ratio("HTTP batch of 100 / peer's addJobs of 100".into(), batch, peer.batch, 1.0);
        // With a month of history the drain stays within 20 % of the empty one.
        let drain_history = rows
            .iter()
            .find(|r| r.database == db && r.metric == drain_metric && r.rows.is_some_and(|n| n > 0))
            .map(|r| r.median);
        if let (Some(full), Some(empty)) = (drain_history, drain_empty) {
            results.add(
                db,
                "real drain with history / empty",
                None,
                &[full / empty],
                "ratio",
                Target::MedianAbove(0.8),
            );
        }
    }
}
