//! Settings: every one has an env var and a CLI flag of the same meaning (the
//! flag wins; clap does the layering). Values that make no sense stop start-up
//! with a message naming the setting.

use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::engine::{DaemonSettings, RetentionSettings};

/// Where the database is.
#[derive(Args, Clone, Debug)]
pub struct DbArgs {
    /// `sqlite:PATH` or `postgres://USER@HOST/DB`
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://aol.db", hide_env_values = true)]
    pub database_url: String,
}

/// The daemon's limits (SPEC §3).
#[derive(Args, Clone, Debug)]
pub struct DaemonArgs {
    /// 1 = PROOF (dry run), 0 = REAL; written to the flag at every start.
    #[arg(long, env = "AOL_PROOF_MODE", default_value = "1", value_parser = parse_proof_mode, action = clap::ArgAction::Set)]
    pub proof_mode: bool,
    /// Stop after N ticks [default: run until killed].
    #[arg(long, visible_alias = "ticks", env = "AOL_MAX_TICKS", value_parser = parse_positive_u64)]
    pub max_ticks: Option<u64>,
    /// Pause between ticks, in seconds (fractions allowed).
    #[arg(long, env = "AOL_TICK_INTERVAL_SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub tick_interval_seconds: Duration,
    #[arg(long, env = "AOL_MAX_ACTIONS_PER_TICK", default_value = "3", value_parser = parse_positive_u32)]
    pub max_actions_per_tick: u32,
    /// Attempts in flight at once within a tick (1 = one after the other).
    #[arg(long, env = "AOL_TICK_CONCURRENCY", default_value = "1", value_parser = parse_positive_u32)]
    pub tick_concurrency: u32,
    /// A tick running longer is cut off.
    #[arg(long, env = "AOL_MAX_TICK_SECONDS", default_value = "20", value_parser = parse_seconds)]
    pub max_tick_seconds: Duration,
    /// Attempts before an action goes to the dead-letter queue.
    #[arg(long, env = "AOL_MAX_RETRIES", default_value = "3", value_parser = parse_positive_u32)]
    pub max_retries: u32,
    #[arg(long, env = "AOL_LEASE_TTL_SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub lease_ttl_seconds: Duration,
    #[arg(long, env = "AOL_HEARTBEAT_SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub heartbeat_seconds: Duration,
    /// How long a REAL request to a platform may take in all (connecting: at
    /// most 10 s of it); past it the outcome is unknown (UNCONFIRMED).
    #[arg(long, env = "AOL_HTTP_TIMEOUT_SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub http_timeout_seconds: Duration,
    /// The folder channels' secret files are read from (a channel names a
    /// file in it with --secret-file NAME); none: secrets come from
    /// AOL_SECRET_* env vars only.
    #[arg(long, env = "AOL_SECRETS_DIR", value_parser = parse_secrets_dir)]
    pub secrets_dir: Option<PathBuf>,
    /// 1: channels may post to this machine or a private network (a test
    /// server); 0: only to the public internet.
    #[arg(long, env = "AOL_ALLOW_PRIVATE_CHANNELS", default_value = "0", value_parser = parse_switch, action = clap::ArgAction::Set)]
    pub allow_private_channels: bool,
}

impl DaemonArgs {
    /// The adapters, with the platforms' timeouts from these settings.
    pub fn registry(&self) -> crate::engine::Registry {
        let total = self.http_timeout_seconds;
        let timeouts = crate::engine::channels::HttpTimeouts { connect: total.min(Duration::from_secs(10)), total };
        let platforms = crate::engine::channels::Platforms::new(crate::engine::channels::PlatformSettings {
            timeouts,
            secrets_dir: self.secrets_dir.clone(),
            private_networks: self.allow_private_channels,
        });
        crate::engine::Registry::with_platforms(platforms)
    }
}

/// The web server's own settings.
#[derive(Args, Clone, Debug)]
pub struct WebArgs {
    /// Address to listen on [default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000].
    #[arg(long, env = "AOL_BIND")]
    pub bind: Option<SocketAddr>,
    /// Token the dashboard asks for before any change [default: generated at
    /// first start, printed once].
    #[arg(long, env = "AOL_OPERATOR_TOKEN", hide_env_values = true, value_parser = parse_token)]
    pub operator_token: Option<SecretString>,
    /// Optional LLM key; AOL runs without it and the dashboard says whether one is set.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub openai_api_key: Option<SecretString>,
    /// Host names the server answers to besides IP addresses and localhost,
    /// comma-separated (e.g. aol.example.com): a request naming any other host
    /// is refused, so a web page cannot reach AOL through a name it controls
    /// (DNS rebinding).
    #[arg(long, env = "AOL_ALLOWED_HOSTS", value_delimiter = ',', value_parser = parse_host)]
    pub allowed_hosts: Vec<String>,
    /// Let anyone who reaches the server see the dashboard without signing
    /// in (changes still need a person). Off: viewing needs a signed-in person.
    #[arg(long, env = "AOL_PUBLIC_READ", default_value = "0", value_parser = parse_switch, action = clap::ArgAction::Set)]
    pub public_read: bool,
    /// The dashboard's address as people reach it (https://aol.example.com),
    /// for the links in notifications.
    #[arg(long, env = "AOL_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// A notification still undelivered after this many hours is dropped
    /// (with a log line and a metric) [default: 24].
    #[arg(long, env = "AOL_NOTIFY_MAX_AGE_HOURS", default_value = "24", value_parser = clap::value_parser!(u64).range(1..=720))]
    pub notify_max_age_hours: u64,
}

/// An http(s) address without a query or fragment.
fn parse_public_url(s: &str) -> Result<String, String> {
    let url =
        url::Url::parse(s.trim()).map_err(|e| format!("{s:?} is not a URL ({e}): e.g. https://aol.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{s:?}: an http(s) address without ? or #, e.g. https://aol.example.com"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// A host name: letters, digits, '-' and '.', as DNS has them.
fn parse_host(s: &str) -> Result<String, String> {
    let name = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(name)
    } else {
        Err(format!("{s:?} is not a host name (letters, digits, '-' and '.', like aol.example.com)"))
    }
}

/// At least 16 characters, no spaces: a token someone cannot guess.
fn parse_token(s: &str) -> Result<SecretString, String> {
    if s.chars().count() < 16 {
        return Err("must be at least 16 characters".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(SecretString::from(s))
}

/// Held so that `Debug` (and so any log line) shows a redaction, not the value.
fn parse_secret(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(s))
}

/// How long old rows are kept (see `engine::retention`). Ages are in days,
/// fractions allowed, or `never`.
#[derive(Args, Clone, Debug)]
pub struct RetentionArgs {
    /// Tick ledger rows.
    #[arg(long, env = "AOL_RETAIN_TICKS_DAYS", default_value = "30", value_parser = parse_keep)]
    pub retain_ticks_days: Keep,
    /// SKIPPED ledger rows (written while paused).
    #[arg(long, env = "AOL_RETAIN_SKIPPED_TICKS_DAYS", default_value = "1", value_parser = parse_keep)]
    pub retain_skipped_ticks_days: Keep,
    /// Log lines of finished actions (SUCCESS, FAILED, CANCELLED, EXPIRED).
    #[arg(long, env = "AOL_RETAIN_LOGS_DAYS", default_value = "30", value_parser = parse_keep)]
    pub retain_logs_days: Keep,
    /// Finished actions (SUCCESS, FAILED, CANCELLED, EXPIRED), with their logs;
    /// their keys are never accepted again.
    #[arg(long, env = "AOL_RETAIN_ACTIONS_DAYS", default_value = "30", value_parser = parse_keep)]
    pub retain_actions_days: Keep,
    /// DLQ actions, which wait for an operator.
    #[arg(long, env = "AOL_RETAIN_DLQ_DAYS", default_value = "never", value_parser = parse_keep)]
    pub retain_dlq_days: Keep,
    /// The audit trail (kept forever unless set; a pruned chain still
    /// verifies from the checkpoint it leaves).
    #[arg(long, env = "AOL_RETAIN_AUDIT_DAYS", default_value = "never", value_parser = parse_keep)]
    pub retain_audit_days: Keep,
    /// How often retention runs, in seconds.
    #[arg(long, env = "AOL_RETENTION_INTERVAL_SECONDS", default_value = "600", value_parser = parse_seconds)]
    pub retention_interval_seconds: Duration,
}

/// A retention age; `None` = keep forever.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Keep(pub Option<Duration>);

fn parse_keep(s: &str) -> Result<Keep, String> {
    if s.trim().eq_ignore_ascii_case("never") {
        return Ok(Keep(None));
    }
    match s.trim().parse::<f64>() {
        Ok(days) if days.is_finite() && days > 0.0 && days <= 36_500.0 => {
            Ok(Keep(Some(Duration::from_secs_f64(days * 86_400.0))))
        }
        _ => Err("expected a number of days above 0 (fractions allowed), or never".into()),
    }
}

impl RetentionArgs {
    pub fn settings(&self) -> RetentionSettings {
        RetentionSettings {
            ticks: self.retain_ticks_days.0,
            skipped_ticks: self.retain_skipped_ticks_days.0,
            logs: self.retain_logs_days.0,
            actions: self.retain_actions_days.0,
            dlq: self.retain_dlq_days.0,
            audit: self.retain_audit_days.0,
            every: self.retention_interval_seconds,
        }
    }
}

impl DaemonArgs {
    /// Checks what single values cannot.
    pub fn validate(&self) -> Result<DaemonSettings, String> {
        if self.heartbeat_seconds >= self.lease_ttl_seconds {
            return Err(format!(
                "AOL_HEARTBEAT_SECONDS (--heartbeat-seconds, {:?}) must be shorter than \
                 AOL_LEASE_TTL_SECONDS (--lease-ttl-seconds, {:?}), or the lease expires between renewals",
                self.heartbeat_seconds, self.lease_ttl_seconds
            ));
        }
        Ok(DaemonSettings {
            max_ticks: self.max_ticks,
            tick_interval: self.tick_interval_seconds,
            max_actions_per_tick: self.max_actions_per_tick,
            tick_concurrency: self.tick_concurrency,
            max_tick: self.max_tick_seconds,
            max_retries: self.max_retries,
            lease_ttl: self.lease_ttl_seconds,
            heartbeat: self.heartbeat_seconds,
        })
    }
}

/// An existing folder, absolute (the server may be started from anywhere).
fn parse_secrets_dir(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s.trim());
    if !path.is_absolute() {
        return Err(format!("{s:?} is not an absolute path to a folder"));
    }
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(path),
        Ok(_) => Err(format!("{s:?} is not a folder")),
        Err(e) => Err(format!("cannot use {s:?} as the secrets folder: {e}")),
    }
}

fn parse_proof_mode(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "true" | "proof" | "PROOF" => Ok(true),
        "0" | "false" | "real" | "REAL" => Ok(false),
        _ => Err("expected 1 (PROOF) or 0 (REAL)".into()),
    }
}

/// 1 or 0 (true/false, yes/no, on/off): anything else is refused, not read as "on".
pub fn parse_switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected 1 (on) or 0 (off)".into()),
    }
}

fn parse_positive_u64(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of at least 1".into()),
    }
}

fn parse_positive_u32(s: &str) -> Result<u32, String> {
    let n = parse_positive_u64(s)?;
    u32::try_from(n).map_err(|_| format!("must be at most {}", u32::MAX))
}

/// Seconds, fractions allowed, greater than zero and at most a day.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.trim().parse().map_err(|_| "expected a number of seconds, e.g. 5 or 0.5".to_string())?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err("must be greater than 0".into());
    }
    if secs > 86_400.0 {
        return Err("must be at most 86400 (one day)".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accept_fractions_and_refuse_nonsense() {
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_seconds("5").unwrap(), Duration::from_secs(5));
        for bad in ["0", "-1", "abc", "NaN", "inf", "100000"] {
            assert!(parse_seconds(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn counts_must_be_positive() {
        assert_eq!(parse_positive_u32("3").unwrap(), 3);
        assert!(parse_positive_u32("0").is_err());
        assert!(parse_positive_u32("-2").is_err());
        assert!(parse_positive_u32("99999999999").is_err());
    }

    #[test]
    fn operator_tokens_must_be_long_and_plain() {
        use secrecy::ExposeSecret;
        assert_eq!(parse_token("0123456789abcdef").unwrap().expose_secret(), "0123456789abcdef");
        assert!(parse_token("short").is_err());
        assert!(parse_token("has a space in it here").is_err());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let args = WebArgs {
            bind: None,
            operator_token: Some(parse_token("op-secret-0123456789").unwrap()),
            openai_api_key: Some(parse_secret("sk-very-secret").unwrap()),
            allowed_hosts: vec![parse_host("AOL.Example.com.").unwrap()],
            public_read: false,
            public_url: Some(parse_public_url("https://aol.example.com/").unwrap()),
            notify_max_age_hours: 24,
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("op-secret") && !shown.contains("sk-very"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
        assert!(shown.contains("aol.example.com"), "host names are kept lowercase, without the last dot");
    }

    #[test]
    fn retention_ages() {
        assert_eq!(parse_keep("never").unwrap(), Keep(None));
        assert_eq!(parse_keep("2").unwrap(), Keep(Some(Duration::from_secs(2 * 86_400))));
        assert_eq!(parse_keep("0.5").unwrap(), Keep(Some(Duration::from_secs(43_200))));
        for bad in ["0", "-3", "soon", "inf", "NaN", "100000"] {
            assert!(parse_keep(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn proof_mode_values() {
        assert!(parse_proof_mode("1").unwrap());
        assert!(!parse_proof_mode("0").unwrap());
        assert!(parse_proof_mode("yes").is_err());
    }
}

/// `aol serve`'s settings (also `aol` alone).
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub daemon: DaemonArgs,
    #[command(flatten)]
    pub web: WebArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
}
