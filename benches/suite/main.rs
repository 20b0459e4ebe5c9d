//! AOL's benchmark suite: every figure of issue 6 on SQLite and PostgreSQL,
//! printed as a table and written to `target/bench/results.json`.
//!
//!     cargo bench --bench suite               the whole suite (about 25 minutes)
//!     AOL_BENCH_QUICK=1 cargo bench --bench suite    smaller tables and fewer runs
//!     AOL_BENCH_SMOKE=1 cargo bench --bench suite    tiny sizes, one run, no targets
//!         judged: only shows that every section runs (`.ci/run` does this)
//!     AOL_BENCH_ONLY=process,kill cargo bench --bench suite   some sections only
//!         (peer, drain, tables, process, kill, http, idle, bluesky, audit,
//!         notify, wasm; drain-empty: the drain without its history run)
//!
//! The peer, graphile-worker (benches/graphile, from npm), runs first on
//! PostgreSQL; AOL's figures are then given as ratios to it with the targets
//! of issue 22.
//!     AOL_BENCH_DB=postgres cargo bench --bench suite   one database only (sqlite, postgres)
//!
//! It seeds its own data. The hydrate wasm is measured as found in
//! `target/site/pkg/aol.wasm`: build it with `cargo leptos build --release`
//! first for the figure that ships.

mod audit;
mod bluesky;
#[path = "../../tests/common/mod.rs"]
#[allow(unused_macros)]
mod common;
mod dashboard;
mod drain;
mod enqueue;
mod http;
mod idle;
mod kill;
#[path = "../../tests/local_pds/mod.rs"]
mod local_pds;
mod notify;
mod peer;
mod process;
mod report;
mod seed;
mod support;

use std::path::Path;

use common::{Backend, TestDb};
use report::{Results, Target};

pub const TOKEN: &str = "bench-operator-token-0123456789";

pub fn db_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// How big and how long.
struct Plan {
    /// Table sizes at which enqueue is measured.
    sizes: [i64; 3],
    /// Actions in the tables under the dashboard: the largest size, topped
    /// up with a month of mixed history.
    dashboard_rows: i64,
    singles: usize,
    batches: usize,
    batch_size: usize,
    process_actions: usize,
    process_runs: usize,
    kill_trials: usize,
    dashboard_trials: usize,
    http_requests: usize,
    http_runs: usize,
    idle_seconds: u64,
    bluesky_posts: usize,
    audit_rows: usize,
    audit_verify_runs: usize,
    notify_posts: usize,
    /// Posts queued for each round of the real drain (and jobs for the peer's).
    drain_actions: usize,
    drain_rounds: usize,
    /// Rows of history under the second real drain.
    history_rows: i64,
}

impl Plan {
    fn from_env() -> Plan {
        if smoke() {
            Plan {
                sizes: [0, 1_000, 5_000],
                singles: 20,
                batches: 2,
                batch_size: 200,
                process_actions: 200,
                process_runs: 1,
                kill_trials: 2,
                dashboard_trials: 3,
                http_requests: 100,
                http_runs: 1,
                idle_seconds: 2,
                bluesky_posts: 2,
                audit_rows: 2_000,
                audit_verify_runs: 1,
                notify_posts: 5,
                drain_actions: 300,
                drain_rounds: 2,
                history_rows: 2_000,
                dashboard_rows: 3_000,
            }
        } else if std::env::var("AOL_BENCH_QUICK").is_ok_and(|v| v == "1") {
            Plan {
                sizes: [0, 10_000, 100_000],
                singles: 300,
                batches: 5,
                batch_size: 2_000,
                process_actions: 2_000,
                process_runs: 2,
                kill_trials: 5,
                dashboard_trials: 20,
                http_requests: 1_000,
                http_runs: 2,
                idle_seconds: 10,
                bluesky_posts: 10,
                audit_rows: 100_000,
                audit_verify_runs: 2,
                notify_posts: 40,
                drain_actions: 5_000,
                drain_rounds: 3,
                history_rows: 100_000,
                dashboard_rows: 300_000,
            }
        } else {
            Plan {
                sizes: [0, 100_000, 1_000_000],
                singles: 2_000,
                batches: 10,
                batch_size: 5_000,
                process_actions: 10_000,
                process_runs: 5,
                kill_trials: 30,
                dashboard_trials: 100,
                http_requests: 4_000,
                http_runs: 5,
                idle_seconds: 60,
                bluesky_posts: 40,
                audit_rows: 1_000_000,
                audit_verify_runs: 3,
                notify_posts: 200,
                drain_actions: 20_000,
                drain_rounds: 3,
                history_rows: 1_000_000,
                dashboard_rows: 5_000_000,
            }
        }
    }
}

/// `AOL_BENCH_SMOKE=1`: the pass that only shows every section runs.
pub fn smoke() -> bool {
    std::env::var("AOL_BENCH_SMOKE").is_ok_and(|v| v == "1")
}

#[tokio::main]
async fn main() {
    let plan = Plan::from_env();
    let mut results = Results { machine: machine(), rows: Vec::new(), judge: !smoke() };
    println!("{}\n", results.machine);
    let only = std::env::var("AOL_BENCH_ONLY").ok();
    let wanted = |section: &str| only.as_deref().is_none_or(|o| o.split(',').any(|s| s.trim() == section));
    let db = std::env::var("AOL_BENCH_DB").ok();
    if let Some(d) = db.as_deref().filter(|d| !["sqlite", "postgres"].contains(d)) {
        panic!("AOL_BENCH_DB={d}: expected sqlite or postgres");
    }
    let backends =
        [Backend::Sqlite, Backend::Postgres].into_iter().filter(|b| db.as_deref().is_none_or(|d| d == db_name(*b)));
    let peer = match wanted("peer") && db.as_deref() != Some("sqlite") {
        true => peer::run(plan.drain_actions, plan.singles.max(1_000), plan.drain_rounds, &mut results).await,
        false => None,
    };
    for backend in backends {
        if wanted("drain") || wanted("drain-empty") {
            drain::run(backend, plan.drain_actions, plan.drain_rounds, 0, &mut results).await;
        }
        if wanted("drain") {
            drain::run(backend, plan.drain_actions, plan.drain_rounds, plan.history_rows, &mut results).await;
        }
        if wanted("tables") {
            tables(backend, &plan, &mut results).await;
        }
        if wanted("process") {
            process::run(backend, plan.process_actions, plan.process_runs, &mut results).await;
        }
        if wanted("kill") {
            kill::run(backend, plan.kill_trials, &mut results).await;
        }
        if wanted("http") {
            http::run(backend, plan.http_requests, plan.http_runs, 8, &mut results).await;
        }
        if wanted("idle") {
            idle::run(backend, plan.idle_seconds, &mut results).await;
        }
        if wanted("bluesky") {
            bluesky::run(backend, plan.bluesky_posts, &mut results).await;
        }
        if wanted("notify") {
            notify::run(backend, plan.notify_posts, &mut results).await;
        }
        if wanted("audit") {
            audit::run(backend, plan.audit_rows, plan.audit_verify_runs, &mut results).await;
        }
    }
    if wanted("wasm") {
        wasm(&mut results);
    }
    if let Some(peer) = &peer {
        peer::ratios(peer, &mut results, &drain::metric(plan.drain_actions));
    }
    results.print();
    results.write_json(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench/results.json")));
}

/// Enqueue at each table size, then the dashboard at the largest, on one
/// database that grows as it goes.
async fn tables(backend: Backend, plan: &Plan, results: &mut Results) {
    let t = TestDb::migrated(backend).await;
    let artifacts = tempfile::tempdir().unwrap();
    let engine = common::engine_in(&t.db, artifacts.path()).await;
    // The housekeeping `aol serve` runs (SQLite checkpoints, PostgreSQL's
    // counter folds), without retention, which would prune the seeded rows.
    let keep_all = aol::engine::RetentionSettings {
        ticks: None,
        skipped_ticks: None,
        logs: None,
        actions: None,
        ..Default::default()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let maintenance = engine.spawn_maintenance(keep_all, stop.clone());
    let mut seeded = 0;
    for size in plan.sizes {
        seed::seed(&t.url, backend, seeded + 1, size, true).await;
        seeded = size;
        enqueue::measure(backend, &engine, size, plan.singles, plan.batches, plan.batch_size, results).await;
    }
    stop.cancel();
    maintenance.await.unwrap();
    // The rest of the dashboard's rows as a month leaves them: statuses mixed, times spread, logs and artifacts.
    seed::history(&t.url, backend, plan.dashboard_rows - seeded).await;
    dashboard::run(backend, &t.url, plan.dashboard_rows.max(seeded), plan.dashboard_trials, results).await;
    t.remove().await;
}

/// The hydrate wasm as built, raw and gzip -9.
fn wasm(results: &mut Results) {
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target/site/pkg/aol.wasm"));
    let Ok(bytes) = std::fs::read(file) else {
        println!("no {} (run `cargo leptos build --release`): wasm size not measured", file.display());
        return;
    };
    let gzip = std::process::Command::new("gzip").args(["-9", "-c"]).arg(file).output().expect("gzip");
    let kb = |n: usize| n as f64 / 1000.0;
    let label = if bytes.len() > 2_000_000 { " (a debug build!)" } else { "" };
    results.add("-", &format!("hydrate wasm, raw{label}"), None, &[kb(bytes.len())], "KB", Target::None);
    results.add(
        "-",
        &format!("hydrate wasm, gzip -9{label}"),
        None,
        &[kb(gzip.stdout.len())],
        "KB",
        Target::MedianBelow(300.0),
    );
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string()))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024 / 1024);
    format!("{cpus} CPUs, {mem} GiB, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}
