//! Log output on stderr (stdout stays free for command output such as
//! `aol status --json`): human-readable lines by default, one JSON object per
//! line with AOL_LOG_FORMAT=json. Level from RUST_LOG [info].
//!
//! No secret is ever logged: tokens and keys are held in types whose `Debug`
//! is redacted, and database URLs go through `storage::redact`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}
