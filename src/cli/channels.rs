//! `aol channel` and `aol policy`: where REAL posts go, and who decides.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{cli_actor, open_engine};
use crate::config::DbArgs;
use crate::engine::zones::PostingWindow;
use crate::engine::Actor;
use crate::engine::Engine;
use crate::storage::RateLimits;

#[derive(Args, Debug)]
pub(super) struct ChannelCmd {
    #[command(flatten)]
    db: DbArgs,
    /// 1: a channel may point at this machine or a private network (a test
    /// server); 0: only at the public internet (as the server checks too).
    #[arg(long, env = "AOL_ALLOW_PRIVATE_CHANNELS", default_value = "0", value_parser = crate::config::parse_switch, action = clap::ArgAction::Set)]
    allow_private_channels: bool,
    #[command(subcommand)]
    command: ChannelAction,
}

#[derive(Subcommand, Debug)]
enum ChannelAction {
    /// Add a channel; it starts disarmed (REAL posts wait until it is armed).
    Add {
        /// 1-64 lowercase letters, digits, '-' or '_'; payloads name it as "channel".
        name: String,
        /// bluesky | mastodon | webhook
        #[arg(long)]
        kind: String,
        /// The server: https://bsky.social, https://mastodon.social, or the webhook's URL.
        #[arg(long)]
        url: String,
        /// The account (Bluesky: its handle, e.g. brand.bsky.social).
        #[arg(long)]
        handle: Option<String>,
        /// The env var that holds the secret (app password, access token or
        /// signing key): its name starts with AOL_SECRET_.
        #[arg(long, value_name = "VAR", conflicts_with = "secret_file", required_unless_present = "secret_file")]
        secret_env: Option<String>,
        /// The file that holds the secret: its name in the server's AOL_SECRETS_DIR.
        #[arg(long, value_name = "PATH")]
        secret_file: Option<String>,
    },
    /// List the channels.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a channel (its actions then fail as "real run unconfigured" in REAL mode).
    Remove { name: String },
    /// Let REAL posts go out on this channel.
    Arm {
        name: String,
        /// Why; recorded with the change.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Stop REAL posts on this channel (they wait; PROOF runs go on).
    Disarm {
        name: String,
        /// Why; recorded with the change.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Set how often REAL posts may go out here: the limits given replace the
    /// channel's, and those not given are lifted.
    Limits {
        name: String,
        /// At most N posts in any hour.
        #[arg(long, value_name = "N")]
        per_hour: Option<i64>,
        /// At most N posts per day (UTC).
        #[arg(long, value_name = "N")]
        per_day: Option<i64>,
        /// At least this long between two posts.
        #[arg(long, value_name = "SECONDS")]
        min_spacing_seconds: Option<i64>,
    },
    /// When REAL posts may go out here: outside the window a due post waits
    /// for the next opening (no attempt is used). --any-time lifts it.
    Window {
        name: String,
        /// Days of the week: mon-fri, sat,sun, every.
        #[arg(long, required_unless_present = "any_time")]
        days: Option<String>,
        /// Opens at HH:MM.
        #[arg(long, value_name = "HH:MM", required_unless_present = "any_time")]
        from: Option<String>,
        /// Closes at HH:MM (later than --from).
        #[arg(long, value_name = "HH:MM", required_unless_present = "any_time")]
        to: Option<String>,
        /// The IANA time zone of the times (Europe/Berlin).
        #[arg(long, value_name = "ZONE", required_unless_present = "any_time")]
        tz: Option<String>,
        /// No window: posts may go out at any time.
        #[arg(long, conflicts_with_all = ["days", "from", "to", "tz"])]
        any_time: bool,
    },
    /// Whether every image posted here needs alt text (required unless turned off).
    AltText {
        name: String,
        /// required | optional
        #[arg(value_parser = ["required", "optional"])]
        setting: String,
        /// Why; recorded with the change.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Args, Debug)]
pub(super) struct PolicyCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: PolicyAction,
}

#[derive(Subcommand, Debug)]
enum PolicyAction {
    /// Set a channel's policy (REAL posts need approval until one is set; PROOF runs never do).
    Set {
        /// The channel (it may be added later).
        channel: String,
        /// auto | require_approval | deny
        #[arg(value_parser = |s: &str| s.parse::<crate::model::Policy>())]
        mode: crate::model::Policy,
        /// The action type it applies to.
        #[arg(long = "type", value_name = "ACTION_TYPE", default_value = "POST_SOCIAL")]
        action_type: String,
        /// Why; recorded with the change.
        #[arg(long)]
        reason: Option<String>,
        /// How many approvals, by different people, a post needs (1 or 2)
        /// [default: as before, else 1].
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=2))]
        approvals: Option<i64>,
    },
    /// The policies in force (channels without one: require_approval).
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn channel(cmd: ChannelCmd) -> anyhow::Result<ExitCode> {
    use crate::engine::channels::{ChannelRequest, PlatformSettings, Platforms};
    let platforms =
        Platforms::new(PlatformSettings { private_networks: cmd.allow_private_channels, ..Default::default() });
    let engine = super::open_engine_with(&cmd.db, platforms).await?;
    let result = async {
        let actor = cli_actor(&engine).await?;
        match cmd.command {
            ChannelAction::Add { name, kind, url, handle, secret_env, secret_file } => {
                let request = ChannelRequest { name, kind, url, handle, secret_env, secret_file };
                let c = engine.channel_add(&request, &actor).await?;
                println!(
                    "added channel {} ({} at {}), disarmed: arm it with `aol channel arm {}`",
                    c.name, c.kind, c.base_url, c.name
                );
            }
            ChannelAction::List { json } => {
                actor.require(crate::model::Right::View)?;
                let channels = engine.db().channels().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&channels)?);
                } else if channels.is_empty() {
                    println!("no channels (add one with `aol channel add NAME --kind K --url URL ...`)");
                } else {
                    println!(
                        "{:<20}  {:<8}  {:<8}  {:<32}  {:<24}  {:<28}  {:<8}  LIMITS",
                        "NAME", "KIND", "ARMED", "URL", "HANDLE", "SECRET", "ALT TEXT"
                    );
                    for c in channels {
                        println!(
                            "{:<20}  {:<8}  {:<8}  {:<32}  {:<24}  {:<28}  {:<8}  {}",
                            c.name,
                            c.kind,
                            if c.armed { "armed" } else { "disarmed" },
                            c.base_url,
                            c.handle.as_deref().unwrap_or("-"),
                            c.secret_source(),
                            if c.require_alt { "required" } else { "optional" },
                            c.limits_text()
                        );
                    }
                }
            }
            ChannelAction::Remove { name } => {
                engine.channel_remove(&name, &actor).await?;
                println!("removed channel {name}");
            }
            ChannelAction::Arm { name, reason } => arm(&engine, actor.because(reason.as_deref()), &name, true).await?,
            ChannelAction::Disarm { name, reason } => {
                arm(&engine, actor.because(reason.as_deref()), &name, false).await?
            }
            ChannelAction::Limits { name, per_hour, per_day, min_spacing_seconds } => {
                let limits = RateLimits { max_per_hour: per_hour, max_per_day: per_day, min_spacing_seconds };
                let c = engine.channel_limits(&name, &limits, &actor).await?;
                println!("channel {}: {}", c.name, c.limits_text());
            }
            ChannelAction::Window { name, days, from, to, tz, any_time } => {
                let window = match (any_time, days, from, to, tz) {
                    (false, Some(days), Some(from), Some(to), Some(tz)) => {
                        Some(PostingWindow::new(&days, &from, &to, &tz).map_err(anyhow::Error::msg)?)
                    }
                    _ => None,
                };
                let c = engine.channel_window(&name, window.as_ref(), &actor).await?;
                let shown = c.posting_window.as_deref().unwrap_or("any time");
                println!("channel {}: REAL posts go out {shown}", c.name);
            }
            ChannelAction::AltText { name, setting, reason } => {
                let actor = actor.because(reason.as_deref());
                let c = engine.channel_alt_text(&name, setting == "required", &actor).await?;
                let state = if c.require_alt { "every image needs alt text" } else { "alt text is optional" };
                println!("channel {}: {state}", c.name);
            }
        }
        anyhow::Ok(())
    }
    .await;
    engine.db().close().await;
    result.map(|()| ExitCode::SUCCESS)
}

async fn arm(engine: &Engine, actor: Actor, name: &str, armed: bool) -> anyhow::Result<()> {
    let (_, changed) = engine.channel_arm(name, armed, &actor).await?;
    let state = if armed { "armed" } else { "disarmed" };
    if changed {
        println!("channel {name} is now {state}");
    } else {
        println!("channel {name} was {state} already, nothing changed");
    }
    Ok(())
}

pub(super) async fn policy(cmd: PolicyCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let result = async {
        let actor = cli_actor(&engine).await?;
        match cmd.command {
            PolicyAction::Set { channel, mode, action_type, reason, approvals } => {
                let actor = actor.because(reason.as_deref());
                let row = engine.policy_set_with(&channel, &action_type, mode, approvals, &actor).await?;
                let needs = if row.approvals > 1 {
                    format!(" ({} approvals by different people)", row.approvals)
                } else {
                    String::new()
                };
                println!("policy of channel {} for {}: {}{needs}", row.channel, row.action_type, row.mode);
            }
            PolicyAction::List { json } => {
                actor.require(crate::model::Right::View)?;
                let rows = engine.db().policies().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else if rows.is_empty() {
                    println!("no policy set: REAL posts on every channel need approval");
                } else {
                    println!("{:<20}  {:<12}  {:<16}  {:<24}  SET BY", "CHANNEL", "TYPE", "POLICY", "SINCE (UTC)");
                    for r in rows {
                        println!(
                            "{:<20}  {:<12}  {:<16}  {:<24}  {}{}",
                            r.channel,
                            r.action_type,
                            r.mode,
                            r.set_at_utc.format("%Y-%m-%d %H:%M:%S"),
                            r.set_by,
                            r.reason.map(|w| format!(" ({w})")).unwrap_or_default()
                        );
                    }
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    engine.db().close().await;
    result.map(|()| ExitCode::SUCCESS)
}
