//! `aol serve` doing nothing: the daemon ticking at its default interval over
//! an empty queue, no page open. CPU share and peak memory from /proc.

use std::time::{Duration, Instant};

use crate::common::{Backend, TestDb};
use crate::report::{Results, Target};

/// CPU time used by process `pid` so far, in clock ticks (1/100 s).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime is 14th, stime 15th overall.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

pub async fn run(backend: Backend, seconds: u64, results: &mut Results) {
    let t = TestDb::migrated(backend).await;
    let server = crate::support::Server::start_with_interval(&t.url, crate::TOKEN, 5.0).await;
    let pid = server.pid();
    // Let start-up settle, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // SAFETY: sysconf only reads a constant.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let before = cpu_ticks(pid);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let used = (cpu_ticks(pid) - before) as f64 / ticks_per_second;
    let cpu_percent = used / started.elapsed().as_secs_f64() * 100.0;
    let db = crate::db_name(backend);
    let what = format!("aol serve idle {seconds} s: CPU");
    results.add(db, &what, None, &[cpu_percent], "%", Target::MedianBelow(1.0));
    results.add(db, "aol serve idle: peak RSS", None, &[peak_rss_mb(pid)], "MB", Target::MedianBelow(40.0));
    drop(server);
    t.remove().await;
}
