//! Bad input everywhere on the command line (issue 7.6): every option and
//! argument `aol` takes, each given bad values on the command line and through
//! its environment variable. Each gets a non-zero exit with a message naming
//! the setting, never a panic, and the database is left as it was: no flag
//! flipped to REAL, no token generated, no tick, no action. A new option
//! fails this test until it has bad values here (or is listed as taking any
//! value).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aol::storage::Db;
use common::TestCtx;

/// One setting's bad values. `args` is a command line whose `{}` is the bad
/// value; `{tmp}` is a writable folder and `{busy}` an address in use. Each
/// bad value comes with what the message must say (`a|b`: either).
struct Case {
    id: &'static str,
    args: &'static [&'static str],
    bad: &'static [(&'static str, &'static str)],
}

const DAYS: &[(&str, &str)] =
    &[("0", "days above 0"), ("-1", "days above 0"), ("soon", "days above 0"), ("36501", "days above 0")];

const CASES: &[Case] = &[
    Case { id: "log_format", args: &["status", "--log-format={}"], bad: &[("xml", "possible values")] },
    Case {
        id: "database_url",
        args: &["status", "--database-url={}"],
        bad: &[
            ("mysql://localhost/x", "DATABASE_URL"),
            ("not a url", "DATABASE_URL"),
            ("sqlite:///proc/aol/no/such/dir/aol.db", "DATABASE_URL"),
            ("postgres://postgres:pw-Vq93@127.0.0.1:1/aol", "cannot reach the database"),
            ("", "DATABASE_URL is not usable"),
        ],
    },
    Case {
        id: "proof_mode",
        args: &["daemon", "--ticks=1", "--proof-mode={}"],
        bad: &[("maybe", "1 (PROOF) or 0 (REAL)"), ("2", "1 (PROOF) or 0 (REAL)")],
    },
    Case {
        id: "max_ticks",
        args: &["daemon", "--max-ticks={}"],
        bad: &[("0", "at least 1"), ("-1", "at least 1"), ("ten", "at least 1"), ("1.5", "at least 1")],
    },
    Case {
        id: "tick_interval_seconds",
        args: &["daemon", "--ticks=1", "--tick-interval-seconds={}"],
        bad: &[
            ("0", "greater than 0"),
            ("-1", "greater than 0"),
            ("nan", "greater than 0"),
            ("inf", "greater than 0"),
            ("86401", "at most 86400"),
            ("soon", "number of seconds"),
        ],
    },
    Case {
        id: "max_actions_per_tick",
        args: &["daemon", "--ticks=1", "--max-actions-per-tick={}"],
        bad: &[("0", "at least 1"), ("4294967296", "at most 4294967295"), ("2.5", "whole number")],
    },
    Case {
        id: "tick_concurrency",
        args: &["daemon", "--ticks=1", "--tick-concurrency={}"],
        bad: &[("0", "at least 1"), ("-2", "at least 1")],
    },
    Case {
        id: "max_tick_seconds",
        args: &["daemon", "--ticks=1", "--max-tick-seconds={}"],
        bad: &[("0", "greater than 0"), ("1e9", "at most 86400")],
    },
    Case {
        id: "max_retries",
        args: &["daemon", "--ticks=1", "--max-retries={}"],
        bad: &[("0", "at least 1"), ("-1", "at least 1")],
    },
    Case {
        id: "lease_ttl_seconds",
        args: &["daemon", "--ticks=1", "--lease-ttl-seconds={}"],
        // The heartbeat (5 s by default) must be shorter than the lease.
        bad: &[("0", "greater than 0"), ("5", "must be shorter than")],
    },
    Case {
        id: "heartbeat_seconds",
        args: &["daemon", "--ticks=1", "--heartbeat-seconds={}"],
        bad: &[("30", "must be shorter than"), ("0", "greater than 0")],
    },
    Case {
        id: "bind",
        args: &["serve", "--proof-mode=0", "--bind={}"],
        bad: &[
            ("nowhere", "invalid socket address"),
            ("127.0.0.1:99999", "invalid socket address"),
            ("{busy}", "cannot listen on"),
        ],
    },
    Case {
        id: "operator_token",
        args: &["serve", "--proof-mode=0", "--bind=127.0.0.1:0", "--operator-token={}"],
        bad: &[("short", "at least 16 characters"), ("sixteen or more chars", "must not contain spaces")],
    },
    Case { id: "retain_ticks_days", args: &["prune", "--retain-ticks-days={}"], bad: DAYS },
    Case { id: "retain_skipped_ticks_days", args: &["prune", "--retain-skipped-ticks-days={}"], bad: DAYS },
    Case { id: "retain_logs_days", args: &["prune", "--retain-logs-days={}"], bad: DAYS },
    Case { id: "retain_actions_days", args: &["prune", "--retain-actions-days={}"], bad: DAYS },
    Case { id: "retain_dlq_days", args: &["prune", "--retain-dlq-days={}"], bad: DAYS },
    Case { id: "retain_audit_days", args: &["prune", "--retain-audit-days={}"], bad: DAYS },
    Case {
        id: "retention_interval_seconds",
        args: &["prune", "--retention-interval-seconds={}"],
        bad: &[("0", "greater than 0"), ("often", "number of seconds")],
    },
    Case {
        id: "command",
        args: &["flags", "{}"],
        bad: &[("stop", "pause, resume, kill, revive, proof, real"), ("", "pause, resume")],
    },
    Case {
        id: "action_type",
        args: &["enqueue", "--key=k2", "--payload={\"text\":\"hi\"}", "--type={}"],
        bad: &[("NOPE", "unknown action type"), ("", "unknown action type")],
    },
    Case {
        id: "key",
        args: &["enqueue", "--type=POST_SOCIAL", "--payload={\"text\":\"hi\"}", "--key={}"],
        bad: &[
            ("", "invalid idempotency key"),
            (" ", "invalid idempotency key"),
            ("a\u{1}b", "invalid idempotency key"),
        ],
    },
    Case {
        id: "payload",
        args: &["enqueue", "--type=POST_SOCIAL", "--key=k2", "--payload={}"],
        bad: &[
            ("{not json", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            ("{}", "text"),
            ("{\"text\":\"\"}", "text"),
        ],
    },
    Case {
        id: "agent",
        args: &["mcp", "--agent={}"],
        bad: &[("nobody", "there is no agent named \"nobody\""), ("", "there is no agent named")],
    },
    Case { id: "status", args: &["actions", "--status={}"], bad: &[("BOGUS", "BOGUS"), ("", "status")] },
    Case {
        id: "limit",
        args: &["actions", "--limit={}"],
        bad: &[("0", "1..=1000"), ("1001", "1..=1000"), ("many", "invalid digit")],
    },
    Case {
        id: "id",
        args: &["show", "{}"],
        bad: &[("abc", "invalid digit"), ("999999", "999999"), ("-5", "unexpected argument '-5'"), ("", "invalid")],
    },
    Case {
        id: "name",
        args: &["token", "agent-add", "{}"],
        bad: &[("bad name!", "invalid agent name"), ("", "invalid agent name"), ("bot", "exists already")],
    },
    Case { id: "file", args: &["backup", "{}"], bad: &[("/etc/passwd", "exists|pg_dump")] },
    Case {
        id: "file",
        args: &["enqueue", "--file={}"],
        bad: &[
            ("/nonexistent/posts.jsonl", "cannot read"),
            ("/etc/hostname", "line 1: not an enqueue body"),
            ("/dev/null", "no actions in it"),
            ("", "a value is required|cannot read"),
        ],
    },
    Case {
        id: "http_timeout_seconds",
        args: &["daemon", "--ticks=1", "--http-timeout-seconds={}"],
        bad: &[("0", "greater than 0"), ("never", "number of seconds"), ("90000", "at most 86400")],
    },
    Case {
        id: "kind",
        args: &["channel", "add", "c1", "--kind={}", "--url=https://x.example", "--secret-env=X"],
        bad: &[("twitter", "unknown channel kind"), ("", "unknown channel kind")],
    },
    Case {
        id: "url",
        args: &["channel", "add", "c1", "--kind=webhook", "--url={}", "--secret-env=X"],
        bad: &[("x.example", "invalid URL"), ("http://x.example", "plain http"), ("", "invalid URL")],
    },
    Case {
        id: "url",
        args: &["notify", "add", "n1", "--events=posted", "--url={}"],
        bad: &[
            ("hooks.example", "invalid URL"),
            ("ftp://hooks.example/n", "http(s) only"),
            ("http://10.0.0.1/n", "private network"),
        ],
    },
    Case {
        id: "handle",
        args: &["channel", "add", "c1", "--kind=bluesky", "--url=https://bsky.social", "--secret-env=X", "--handle={}"],
        bad: &[("two words", "invalid handle"), ("", "needs --handle")],
    },
    Case {
        id: "secret_env",
        args: &["channel", "add", "c1", "--kind=webhook", "--url=https://x.example", "--secret-env={}"],
        bad: &[
            ("1X", "invalid env var name"),
            ("A-B", "invalid env var name"),
            ("DATABASE_URL", "named AOL_SECRET_"),
            ("", "exactly one of"),
        ],
    },
    Case {
        id: "secret_file",
        args: &["channel", "add", "c1", "--kind=webhook", "--url=https://x.example", "--secret-file={}"],
        bad: &[("relative/path", "not a path"), ("/proc/self/environ", "not a path"), ("", "exactly one of")],
    },
    Case { id: "outcome", args: &["resolve", "1", "{}"], bad: &[("maybe", "posted"), ("", "posted")] },
    Case {
        id: "scheduled_for",
        args: &["enqueue", "--type=POST_SOCIAL", "--key=k2", "--payload={\"text\":\"hi\"}", "--scheduled-for={}"],
        bad: &[
            ("2027-03-28 02:30 Europe/Berlin", "does not exist"),
            ("2027-03-28 09:00 Mars/Base", "unknown time zone"),
            ("tomorrow", "invalid time"),
            ("2026-02-30 09:00", "invalid time"),
            ("2999-01-01T00:00:00Z", "days ahead"),
            ("", "invalid time"),
        ],
    },
    Case {
        id: "not_after",
        args: &["enqueue", "--type=POST_SOCIAL", "--key=k2", "--payload={\"text\":\"hi\"}", "--not-after={}"],
        bad: &[("later", "invalid time"), ("2001-01-01T00:00:00Z", "already past")],
    },
    Case {
        id: "days",
        args: &["channel", "window", "c1", "--from=08:00", "--to=20:00", "--tz=UTC", "--days={}"],
        bad: &[("weekdays", "invalid days"), ("mon-fry", "invalid days"), ("", "invalid days")],
    },
    Case {
        id: "from",
        args: &["channel", "window", "c1", "--days=mon", "--to=20:00", "--tz=UTC", "--from={}"],
        bad: &[("8am", "HH:MM"), ("21:00", "overnight"), ("", "HH:MM")],
    },
    Case {
        id: "to",
        args: &["channel", "window", "c1", "--days=mon", "--from=08:00", "--tz=UTC", "--to={}"],
        bad: &[("25:00", "HH:MM"), ("07:00", "overnight")],
    },
    Case {
        id: "tz",
        args: &["channel", "window", "c1", "--days=mon", "--from=08:00", "--to=20:00", "--tz={}"],
        bad: &[("Berlin", "unknown time zone"), ("", "unknown time zone")],
    },
    Case {
        id: "per_hour",
        args: &["channel", "limits", "c1", "--per-hour={}"],
        bad: &[("0", "from 1 to"), ("20000", "from 1 to"), ("many", "invalid digit")],
    },
    Case { id: "per_day", args: &["channel", "limits", "c1", "--per-day={}"], bad: &[("0", "from 1 to")] },
    Case {
        id: "min_spacing_seconds",
        args: &["channel", "limits", "c1", "--min-spacing-seconds={}"],
        bad: &[("-5", "from 1 to"), ("9999999", "from 1 to")],
    },
    Case { id: "sha", args: &["approve", "1", "--sha={}"], bad: &[("abc", "AWAITING_APPROVAL")] },
    Case {
        id: "channel",
        args: &["policy", "set", "{}", "auto"],
        bad: &[("Bad Name!", "invalid channel name"), ("", "invalid channel name")],
    },
    Case {
        id: "mode",
        args: &["policy", "set", "c1", "{}"],
        bad: &[("maybe", "unknown policy"), ("", "unknown policy")],
    },
    Case {
        id: "allowed_hosts",
        args: &["serve", "--proof-mode=0", "--bind=127.0.0.1:0", "--allowed-hosts={}"],
        bad: &[
            ("bad host!", "is not a host name"),
            ("a..b", "is not a host name"),
            ("-x.example", "is not a host name"),
        ],
    },
    Case {
        id: "public_url",
        args: &["serve", "--proof-mode=0", "--bind=127.0.0.1:0", "--public-url={}"],
        bad: &[
            ("aol.example.com", "is not a URL"),
            ("ftp://aol.example.com", "http(s)"),
            ("https://a.example/?x=1", "without ? or #"),
        ],
    },
    Case {
        id: "notify_max_age_hours",
        args: &["serve", "--proof-mode=0", "--bind=127.0.0.1:0", "--notify-max-age-hours={}"],
        bad: &[("0", "not in 1..=720"), ("721", "not in 1..=720"), ("a day", "invalid digit")],
    },
    Case {
        id: "events",
        args: &["notify", "add", "n1", "--url=https://hooks.example/n", "--events={}"],
        bad: &[("tweeted", "unknown event"), ("", "no events")],
    },
    Case {
        id: "format",
        args: &["notify", "add", "n1", "--url=https://hooks.example/n", "--events=posted", "--format={}"],
        bad: &[("xml", "invalid value 'xml'"), ("", "a value is required")],
    },
    Case {
        id: "public_read",
        args: &["serve", "--proof-mode=0", "--bind=127.0.0.1:0", "--public-read={}"],
        bad: &[("maybe", "1 (on) or 0 (off)"), ("2", "1 (on) or 0 (off)")],
    },
    Case {
        id: "allow_private_channels",
        args: &["channel", "--allow-private-channels={}", "list"],
        bad: &[("maybe", "1 (on) or 0 (off)"), ("", "1 (on) or 0 (off)")],
    },
    Case {
        id: "secrets_dir",
        args: &["daemon", "--ticks=1", "--secrets-dir={}"],
        bad: &[
            ("relative/dir", "not an absolute path"),
            ("/proc/aol/no/such/dir", "cannot use"),
            ("/etc/hostname", "not a folder"),
        ],
    },
    Case {
        id: "channels",
        args: &["token", "agent-add", "bot", "--channels={}"],
        bad: &[("Brand X", "invalid channel name"), ("a,,b", "invalid channel name")],
    },
    Case {
        id: "approvals",
        args: &["policy", "set", "brand", "require_approval", "--approvals={}"],
        bad: &[("3", "1..=2|1..3"), ("0", "1..=2|1..3"), ("two", "invalid digit")],
    },
    Case {
        id: "since",
        args: &["audit", "export", "--since={}"],
        bad: &[("yesterday", "invalid time"), ("", "invalid time")],
    },
    Case {
        id: "until",
        args: &["audit", "export", "--until={}"],
        bad: &[("soon", "invalid time"), ("2026-13-01", "invalid time")],
    },
    Case {
        id: "role",
        args: &["operator", "add", "vera", "--role={}"],
        bad: &[("root", "viewer, approver or admin"), ("", "viewer, approver or admin")],
    },
    Case {
        id: "setting",
        args: &["channel", "alt-text", "c1", "{}"],
        bad: &[("maybe", "possible values"), ("", "possible values")],
    },
    Case {
        id: "out",
        args: &["artifact", "1", "--out={}"],
        bad: &[
            ("/no/such/dir/artifact.json", "cannot write /no/such/dir/artifact.json"),
            ("/etc", "cannot write /etc"),
            ("", "a value is required"),
        ],
    },
    Case {
        id: "image",
        args: &["media", "add", "{}"],
        bad: &[
            ("/etc/hostname", "not an image AOL can post"),
            ("/no/such/file.png", "cannot read /no/such/file.png"),
            ("/etc", "cannot read /etc"),
        ],
    },
];

/// Settings for which every value is valid.
const ANY_VALUE: &[&str] = &[
    // An LLM key is only passed on; AOL runs without one.
    "openai_api_key",
    // Why a flag changed: free text, recorded as given.
    "reason",
];

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
