//! Bad input everywhere on the command line (issue 7.6): every option and
//! argument `aol` takes, each given bad values on the command line and through
//! its environment variable. Each gets a non-zero exit with a message naming
//! the setting, never a panic, and the database is left as it was: no flag
//! flipped to REAL, no token generated, no tick, no action. A new option
//! fails this test until it has bad values here (or is listed as taking any
//! value).

#[path = "cli_bad_input/cases.rs"]
mod cases;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aol::storage::Db;
use cases::{ANY_VALUE, CASES};
use common::TestCtx;

/// Every option and argument that takes a value, anywhere in `aol`'s command line.
fn every_setting() -> Vec<clap::Arg> {
    aol::cli::every_argument().into_iter().filter(|arg| arg.get_action().takes_values()).collect()
}

#[test]
fn every_setting_has_bad_values_to_try() {
    let settings = every_setting();
    let untested: Vec<_> = settings
        .iter()
        .map(|a| a.get_id().as_str())
        .filter(|id| !CASES.iter().any(|c| c.id == *id) && !ANY_VALUE.contains(id))
        .collect();
    assert!(untested.is_empty(), "no bad values tried for: {untested:?}");
    assert!(settings.len() >= 30, "only {} settings found: the walk is broken", settings.len());
}

/// What a bad run could have written.
async fn snapshot(db: &Db) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        db.actions_recent(None, 100).await.unwrap(),
        db.flags_get().await.unwrap(),
        db.flag_changes_recent(100).await.unwrap(),
        db.ticks_count().await.unwrap(),
        db.secrets_named_like("").await.unwrap(),
    )
}

struct Run {
    code: Option<i32>,
    stderr: String,
}

/// Runs `aol` with a clean AOL environment plus `env`; a run that outlives
/// 30 s (a bad value taken for good: a server started) is killed and reported.
fn run(url: &str, args: &[String], env: Option<(&str, &str)>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aol"));
    command.args(args).env("DATABASE_URL", url).stdout(Stdio::null()).stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("AOL_") || name.starts_with("LEPTOS_") || name == "OPENAI_API_KEY" {
            command.env_remove(name);
        }
    }
    if let Some((name, value)) = env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("run aol");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("aol {args:?} (env {env:?}) was still running after 30 s: the bad value was taken");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    Run { code: out.status.code(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

async fn every_bad_value_is_refused_clearly_and_writes_nothing(ctx: TestCtx) {
    let setup = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let r = run(&ctx.url, &args, None);
        assert_eq!(r.code, Some(0), "set-up {args:?}: {}", r.stderr);
    };
    // Something for bad runs to meet: an action, an agent token, PROOF mode.
    setup(&["enqueue", "--type=POST_SOCIAL", "--key=k1", "--payload={\"text\":\"hi\"}"]);
    setup(&["token", "agent-add", "bot"]);
    let before = snapshot(&ctx.db).await;

    let tmp = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let settings = every_setting();
    let mut runs = 0;
    let mut failures = Vec::new();
    for case in CASES {
        let arg = settings.iter().find(|a| a.get_id() == case.id).expect("a setting of aol");
        let env_name = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        let long = arg.get_long().map(|l| format!("--{l}"));
        for (bad, says) in case.bad {
            let bad = bad.replace("{busy}", &busy_addr);
            let fill = |a: &&str| a.replace("{tmp}", tmp.path().to_str().unwrap()).replace("{}", &bad);
            let on_line: Vec<String> = case.args.iter().map(fill).collect();
            let mut variants = vec![(on_line, None)];
            // From the environment: the same line without the option. An
            // empty variable counts as unset (clap), so that one is not tried.
            if let (Some(name), Some(long), false) = (&env_name, &long, bad.is_empty()) {
                let prefix = format!("{long}=");
                let without: Vec<String> = case.args.iter().filter(|a| !a.starts_with(&prefix)).map(fill).collect();
                variants.push((without, Some((name.as_str(), bad.as_str()))));
            }
            for (args, env) in variants {
                let r = run(&ctx.url, &args, env);
                runs += 1;
                let context = format!("{} aol {args:?} env {env:?}:\n{}", ctx.backend_name(), r.stderr);
                let mut problems = Vec::new();
                if !matches!(r.code, Some(1 | 2)) {
                    problems.push(format!("exit {:?}, not 1 or 2", r.code));
                }
                if r.stderr.contains("panicked") {
                    problems.push("a panic".to_string());
                }
                if !says.split('|').any(|s| r.stderr.contains(s)) {
                    problems.push(format!("no {says:?}"));
                }
                if r.stderr.contains("pw-Vq93") {
                    problems.push("a password shown".to_string());
                }
                // A configuration setting is named as it was given; a
                // command's own argument is named by the message checked above.
                if let (Some(env_name), Some(long)) = (&env_name, &long) {
                    let named = match env {
                        Some(_) => r.stderr.contains(env_name.as_str()),
                        None => r.stderr.contains(long.as_str()),
                    };
                    if !named {
                        problems.push("the setting is not named".to_string());
                    }
                }
                if !problems.is_empty() {
                    failures.push(format!("{}: {context}", problems.join(", ")));
                }
            }
        }
    }
    drop(busy);
    assert!(failures.is_empty(), "{} of {runs} runs:\n{}", failures.len(), failures.join("\n"));
    assert!(runs > 100, "only {runs} runs");
    assert_eq!(snapshot(&ctx.db).await, before, "{}: a refused run wrote to the database", ctx.backend_name());
    eprintln!("{}: {runs} bad command lines refused, nothing written", ctx.backend_name());
}

on_both_databases!(every_bad_value_is_refused_clearly_and_writes_nothing);
