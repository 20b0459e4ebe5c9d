//! The bad values tried for each setting of `aol`'s command line, and the
//! settings that take any value.

/// One setting's bad values. `args` is a command line whose `{}` is the bad
/// value; `{tmp}` is a writable folder and `{busy}` an address in use. Each
/// bad value comes with what the message must say (`a|b`: either).
pub struct Case {
    pub id: &'static str,
    pub args: &'static [&'static str],
    pub bad: &'static [(&'static str, &'static str)],
}

const DAYS: &[(&str, &str)] =
    &[("0", "days above 0"), ("-1", "days above 0"), ("soon", "days above 0"), ("36501", "days above 0")];

pub const CASES: &[Case] = &[
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
pub const ANY_VALUE: &[&str] = &[
    // An LLM key is only passed on; AOL runs without one.
    "openai_api_key",
    // Why a flag changed: free text, recorded as given.
    "reason",
];
