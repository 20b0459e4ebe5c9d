//! Reliability: split brain. Four `aol daemon` processes share one database
//! with a short lease; the leader is frozen (SIGSTOP) past its TTL, a standby
//! takes over, and the old leader is woken (SIGCONT), again and again. From
//! the database's own record, every line and tick a term wrote comes before
//! anything a later term wrote (no two daemons ran actions at overlapping
//! times, and a woken stale leader wrote nothing), and nothing was lost or
//! done twice.
//!
//! Quick by default; `AOL_RELIABILITY=long` freezes the leader many more times.

mod common;
mod reliability;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::TestCtx;
use rand::{Rng, SeedableRng};

/// ~40 actions/s (2 every 50 ms), so that the queue lasts through the freezes.
const DAEMON: &[&str] = &[
    "--tick-interval-seconds",
    "0.05",
    "--max-actions-per-tick",
    "2",
    "--lease-ttl-seconds",
    "1",
    "--heartbeat-seconds",
    "0.2",
];

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid this test started; no memory is involved.
    let done = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(done, 0, "kill({pid}, {sig}) failed");
}

/// The pid in a lease owner `host:pid:instance`.
fn owner_pid(owner: &str) -> u32 {
    owner.split(':').nth(1).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("owner {owner:?} has no pid"))
}

/// For each epoch, the first and last time anything was written under it.
fn spans(rows: &[(i64, DateTime<Utc>)]) -> BTreeMap<i64, (DateTime<Utc>, DateTime<Utc>)> {
    let mut spans: BTreeMap<i64, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for (epoch, at) in rows {
        let span = spans.entry(*epoch).or_insert((*at, *at));
        span.0 = span.0.min(*at);
        span.1 = span.1.max(*at);
    }
    spans
}

/// Terms follow each other: all of one term's writes before any of the next.
fn assert_terms_do_not_overlap(what: &str, spans: &BTreeMap<i64, (DateTime<Utc>, DateTime<Utc>)>) {
    let ordered: Vec<_> = spans.iter().collect();
    for pair in ordered.windows(2) {
        let ((older, (_, older_last)), (newer, (newer_first, _))) = (pair[0], pair[1]);
        assert!(
            older_last <= newer_first,
            "{what}: epoch {older} wrote at {older_last}, after epoch {newer} began at {newer_first}"
        );
    }
}

async fn frozen_leaders_never_overlap_and_write_nothing_when_woken(ctx: TestCtx) {
    let (freezes, actions) = if reliability::long() { (40, 4000) } else { (5, 500) };
    let seed = reliability::seed();
    eprintln!("split brain: {freezes} freezes, {actions} actions, AOL_RELIABILITY_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    reliability::enqueue_posts(&ctx, "split", actions).await;

    let mut daemons: Vec<(Child, PathBuf)> = (0..4)
        .map(|i| {
            let log = dir.path().join(format!("daemon-{i}.log"));
            (reliability::start_daemon(&ctx.url, &log, DAEMON), log)
        })
        .collect();
    let mut woken_stale = 0;
    for _ in 0..freezes {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..800))).await;
        let Some(leader) = ctx.db.lease_get(aol::engine::lease::DAEMON_LEASE).await.unwrap() else { continue };
        let pid = owner_pid(&leader.owner);
        signal(pid, libc::SIGSTOP);
        // Past the 1 s TTL, so that a standby takes over.
        tokio::time::sleep(Duration::from_millis(rng.random_range(1300..2000))).await;
        signal(pid, libc::SIGCONT);
        let now = ctx.db.lease_get(aol::engine::lease::DAEMON_LEASE).await.unwrap().unwrap();
        woken_stale += usize::from(now.epoch > leader.epoch);
        for (daemon, log) in daemons.iter_mut() {
            reliability::assert_running(daemon, log);
        }
    }
    reliability::wait_drained(&ctx, &mut daemons, Duration::from_secs(180)).await;
    for (daemon, _) in daemons.iter_mut() {
        daemon.kill().unwrap();
        daemon.wait().unwrap();
    }

    let lines: Vec<(i64, DateTime<Utc>)> =
        ctx.fetch_all_raw("SELECT lease_epoch, ts_utc FROM aol_execution_logs WHERE lease_epoch IS NOT NULL").await;
    let line_spans = spans(&lines);
    assert_terms_do_not_overlap("log lines", &line_spans);
    let ticks: Vec<(i64, DateTime<Utc>, DateTime<Utc>)> = ctx
        .fetch_all_raw(
            "SELECT lease_epoch, started_at_utc, finished_at_utc FROM aol_tick_ledger WHERE lease_epoch IS NOT NULL",
        )
        .await;
    let tick_times: Vec<(i64, DateTime<Utc>)> =
        ticks.iter().flat_map(|(epoch, started, finished)| [(*epoch, *started), (*epoch, *finished)]).collect();
    assert_terms_do_not_overlap("ticks", &spans(&tick_times));

    let outcome = reliability::assert_all_succeeded_once(&ctx, actions).await;
    reliability::report(&format!(
        "split brain ({}): {freezes} freezes, {woken_stale} woke a superseded leader; {} terms wrote, none \
         overlapping; {} interrupted attempts rescued; final statuses {:?}",
        ctx.backend_name(),
        line_spans.len(),
        outcome.rescued,
        outcome.by_status
    ));
    assert!(woken_stale > 0, "no freeze led to a takeover: the run proved nothing");
    // Each takeover is in the audit trail, naming the term it ended.
    let takeovers: Vec<(String,)> =
        ctx.fetch_all_raw("SELECT data_json FROM aol_audit WHERE event = 'lease_taken_over'").await;
    assert!(!takeovers.is_empty(), "{}: no lease_taken_over event", ctx.backend_name());
    for (data,) in &takeovers {
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        assert!(data["from_epoch"].as_i64().unwrap() < data["epoch"].as_i64().unwrap(), "{data}");
        assert_ne!(data["from_owner"], data["owner"], "{data}");
    }
}

on_both_databases!(frozen_leaders_never_overlap_and_write_nothing_when_woken);
