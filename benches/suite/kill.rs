//! Kill latency: from the moment the kill flag is written to the last action
//! start after it, and to the daemon having stopped, in-process and from
//! another process.
//!
//! Two loads: *busy*, the daemon starting actions back to back (1 per tick, 1 ms
//! between ticks), and *idle*, the default 5 s between ticks with the kill
//! landing at a random moment of the wait (only the flag watcher can notice it
//! in another process). "Last start" is the newest "attempt started" log row
//! written after the kill (0 when none was); "stopped" is when the daemon run
//! returned (in-process) or the `aol daemon` process exited (other process).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aol::engine::queue::parse_payload;
use aol::engine::Actor;
use aol::engine::{daemon, DaemonSettings, Engine};
use aol::model::FlagCommand;
use aol::storage::Db;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::common::{Backend, TestDb};
use crate::report::{Results, Target};

fn ops() -> Actor {
    Actor::system("bench")
}

pub async fn run(backend: Backend, trials: usize, results: &mut Results) {
    let t = TestDb::migrated(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = crate::common::engine_in(&t.db, dir.path()).await;
    let db = crate::db_name(backend);
    for load in [Load::Busy, Load::Idle] {
        for killer in [Killer::InProcess, Killer::OtherProcess] {
            let (mut starts, mut stops) = (Vec::new(), Vec::new());
            for _ in 0..trials {
                let (start, stop) = trial(&engine, &t.url, load, killer).await;
                starts.push(start);
                stops.push(stop);
            }
            let what = format!("{:?}, {}", load, killer.label()).to_lowercase();
            let target = match killer {
                Killer::InProcess => Target::P99Below(100.0),
                Killer::OtherProcess => Target::P99Below(1000.0),
            };
            results.add(db, &format!("kill -> last start ({what})"), None, &starts, "ms", target);
            results.add(db, &format!("kill -> daemon stopped ({what})"), None, &stops, "ms", Target::None);
        }
    }
    t.remove().await;
}

#[derive(Clone, Copy, Debug)]
enum Load {
    Busy,
    Idle,
}

#[derive(Clone, Copy, Debug)]
enum Killer {
    InProcess,
    OtherProcess,
}

impl Killer {
    fn label(self) -> &'static str {
        match self {
            Killer::InProcess => "in-process",
            Killer::OtherProcess => "other process",
        }
    }
}

async fn fill_queue(engine: &Engine, n: usize) {
    let payload = parse_payload(r#"{"text":"bench"}"#).unwrap();
    for _ in 0..n {
        let key = format!("bench-{}", rand::random::<u64>());
        engine.enqueue("POST_SOCIAL", &key, &payload).await.unwrap();
    }
}

/// Milliseconds from `killed_at` to the newest attempt start after it (0 if none).
async fn last_start_after(db: &Db, killed_at: DateTime<Utc>) -> f64 {
    let mut last = killed_at;
    for log in db.logs_latest(50).await.unwrap() {
        if log.message.contains("started") && log.ts_utc > last {
            last = log.ts_utc;
        }
    }
    (last - killed_at).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

async fn successes(db: &Db) -> usize {
    db.actions_recent(Some("SUCCESS"), 1_000_000).await.unwrap().len()
}

/// The daemon under test: a task here, or an `aol daemon` process.
enum Daemon {
    Task(tokio::task::JoinHandle<aol::engine::DaemonExit>),
    Process(std::process::Child),
}

fn start(engine: &Engine, url: &str, load: Load, killer: Killer) -> Daemon {
    let interval = match load {
        Load::Busy => Duration::from_millis(1),
        Load::Idle => Duration::from_secs(5),
    };
    match killer {
        Killer::InProcess => {
            let settings =
                DaemonSettings { tick_interval: interval, max_actions_per_tick: 1, ..DaemonSettings::default() };
            let engine = engine.clone();
            Daemon::Task(tokio::spawn(async move { daemon::run(&engine, &settings, &CancellationToken::new()).await }))
        }
        Killer::OtherProcess => Daemon::Process(
            Command::new(env!("CARGO_BIN_EXE_aol"))
                .args(["daemon", "--proof", "--max-actions-per-tick", "1"])
                .args(["--tick-interval-seconds", &interval.as_secs_f64().to_string()])
                .env("DATABASE_URL", url)
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start aol daemon"),
        ),
    }
}

async fn trial(engine: &Engine, url: &str, load: Load, killer: Killer) -> (f64, f64) {
    if matches!(load, Load::Busy) {
        fill_queue(engine, 300).await;
    }
    let done_before = successes(engine.db()).await;
    let ticks_before = engine.db().ticks_count().await.unwrap();
    let daemon = start(engine, url, load, killer);
    match load {
        // Running: a few actions have gone through.
        Load::Busy => {
            while successes(engine.db()).await < done_before + 5 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        // Waiting: its first tick is written; kill somewhere in the next second.
        Load::Idle => {
            while engine.db().ticks_count().await.unwrap() == ticks_before {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(Duration::from_millis(rand::random_range(0..1000))).await;
        }
    }
    let killed_at = Utc::now();
    let clock = Instant::now();
    engine.apply_flag_command(FlagCommand::Kill, &ops()).await.unwrap();
    match daemon {
        Daemon::Task(run) => {
            run.await.unwrap();
        }
        Daemon::Process(mut child) => {
            while child.try_wait().unwrap().is_none() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    let stopped = clock.elapsed().as_secs_f64() * 1000.0;
    let last_start = last_start_after(engine.db(), killed_at).await;
    engine.apply_flag_command(FlagCommand::Revive, &ops()).await.unwrap();
    (last_start, stopped)
}
