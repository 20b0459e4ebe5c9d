//! The `aol` command line. `aol` alone is `aol serve`, which is what
//! `cargo leptos watch` runs.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{DaemonArgs, DbArgs, RetentionArgs, WebArgs};
use crate::engine::queue::parse_payload;
use crate::engine::{self, Clock, DaemonExit, Engine, NewItem, Registry, Window};
use crate::logging::LogFormat;
use crate::model::{Action, ActionStatus, FlagCommand};
use crate::storage::{Actor, Db, RateLimits};

#[derive(Parser, Debug)]
#[command(
    name = "aol",
    version,
    about = "AOL, the Autonomy Orchestration Layer: runs an agent's actions under hard limits"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    /// Log lines on stderr as text for people, or as one JSON object per line
    /// for log collectors.
    #[arg(long, env = "AOL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the dashboard and run the daemon in the same process (the default).
    Serve(ServeArgs),
    /// Run the daemon alone, without the dashboard.
    Daemon(DaemonCmd),
    /// Change a control flag: pause, resume, kill, revive, proof, real.
    Flags(FlagsCmd),
    /// Add an action to the queue (a known key returns the existing action).
    Enqueue(EnqueueCmd),
    /// List recent actions.
    Actions(ActionsCmd),
    /// Put a FAILED or DLQ action back in the queue.
    Requeue(IdCmd),
    /// Cancel a PENDING or RETRY action.
    Cancel(IdCmd),
    /// Show the flags, the lease, the queue and the latest ticks.
    Status(StatusCmd),
    /// Tokens: a new operator token, or agent tokens for the HTTP API.
    Token(TokenCmd),
    /// Delete rows older than the retention ages now (servers also do it every 10 minutes).
    Prune(PruneCmd),
    /// One action in full: payload, attempts, next try, last error and its log.
    Show(ShowCmd),
    /// Copy a SQLite database to FILE, safely while AOL runs (PostgreSQL: use pg_dump).
    Backup(BackupCmd),
    /// Channels for REAL posts (Bluesky, Mastodon, webhook): add, list, remove, arm, disarm.
    Channel(ChannelCmd),
    /// Settle an UNCONFIRMED action: it was posted, or send it again.
    Resolve(ResolveCmd),
    /// Approve the request of an action AWAITING_APPROVAL: it may be sent, once.
    Approve(ApproveCmd),
    /// Reject an action AWAITING_APPROVAL: it ends CANCELLED, nothing sent.
    Reject(RejectCmd),
    /// Give an action not yet running a new payload (any approval of the old one no longer holds).
    Edit(EditCmd),
    /// Per channel and action type: auto, require_approval or deny.
    Policy(PolicyCmd),
}

#[derive(Args, Debug)]
struct ApproveCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// Approve only if the request is still this one (its SHA-256, as `aol show` prints it).
    #[arg(long, value_name = "SHA256")]
    sha: Option<String>,
    /// Why; recorded with the approval.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Args, Debug)]
struct RejectCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// Why; recorded, and shown as the action's last error.
    #[arg(long)]
    reason: String,
}

#[derive(Args, Debug)]
struct EditCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// The new payload, a JSON object, e.g. '{"channel":"brand","text":"Hello"}'.
    #[arg(long)]
    payload: String,
    /// Why; recorded in the action's log.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Args, Debug)]
struct PolicyCmd {
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
    },
    /// The policies in force (channels without one: require_approval).
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
struct ResolveCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// posted (it is on the platform) | resend (it is not: send it again)
    #[arg(value_parser = ["posted", "resend"])]
    outcome: String,
    /// Where the post is (with `posted`).
    #[arg(long)]
    url: Option<String>,
    /// Why; recorded with the change.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Args, Debug)]
struct ChannelCmd {
    #[command(flatten)]
    db: DbArgs,
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
        /// The env var that holds the secret (app password, access token or signing key).
        #[arg(long, value_name = "VAR", conflicts_with = "secret_file", required_unless_present = "secret_file")]
        secret_env: Option<String>,
        /// The file that holds the secret (absolute path).
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
}

#[derive(Args, Debug)]
struct ShowCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct BackupCmd {
    #[command(flatten)]
    db: DbArgs,
    /// Where the copy goes; it must not exist yet.
    file: std::path::PathBuf,
}

#[derive(Args, Debug)]
struct TokenCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: TokenAction,
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Make a new operator token, print it once, and forget the old one.
    Reset,
    /// Make a token for an agent (enqueue and read over /api/v1, no flag changes); printed once.
    AgentAdd {
        /// 1-64 letters, digits, '-', '_' or '.'.
        name: String,
    },
    /// List the agent tokens by name.
    AgentList,
    /// Revoke an agent's token: it stops working at once.
    AgentRevoke { name: String },
}

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

#[derive(Args, Debug)]
struct DaemonCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Run in PROOF mode (dry run); the same as --proof-mode 1.
    #[arg(long)]
    proof: bool,
    #[command(flatten)]
    retention: RetentionArgs,
}

#[derive(Args, Debug)]
struct PruneCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    retention: RetentionArgs,
}

#[derive(Args, Debug)]
struct FlagsCmd {
    #[command(flatten)]
    db: DbArgs,
    /// pause | resume | kill | revive | proof | real
    command: FlagCommand,
    /// Why; recorded with the change.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Args, Debug)]
struct EnqueueCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action type, e.g. POST_SOCIAL.
    #[arg(long = "type", value_name = "ACTION_TYPE")]
    action_type: String,
    /// Idempotency key: 1-200 printable characters, unique per action.
    #[arg(long)]
    key: String,
    /// The payload, a JSON object, e.g. '{"text":"Hello"}'.
    #[arg(long)]
    payload: String,
    /// Not to be sent before this time: RFC 3339 (2026-11-28T09:00:00Z) or "2026-11-28 09:00" (UTC).
    #[arg(long, value_name = "TIME", value_parser = crate::model::parse_utc)]
    scheduled_for: Option<chrono::DateTime<chrono::Utc>>,
    /// Never sent after this time (then it ends EXPIRED); same forms as --scheduled-for.
    #[arg(long, value_name = "TIME", value_parser = crate::model::parse_utc)]
    not_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ActionsCmd {
    #[command(flatten)]
    db: DbArgs,
    /// Only actions in this status (PENDING, RUNNING, SUCCESS, RETRY, FAILED, DLQ, CANCELLED, …).
    #[arg(long, value_parser = |s: &str| s.parse::<ActionStatus>())]
    status: Option<ActionStatus>,
    /// How many, newest first.
    #[arg(long, default_value = "20", value_parser = clap::value_parser!(i64).range(1..=1000))]
    limit: i64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct IdCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
}

#[derive(Args, Debug)]
struct StatusCmd {
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The command line's definition (the runbook test reads every setting from it).
pub fn definition() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
}

/// Every option and argument of `aol` and its subcommands, each once (by id).
pub fn every_argument() -> Vec<clap::Arg> {
    fn walk(command: &clap::Command, found: &mut Vec<clap::Arg>) {
        for arg in command.get_arguments() {
            if !found.iter().any(|f| f.get_id() == arg.get_id()) {
                found.push(arg.clone());
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, found);
        }
    }
    let mut found = Vec::new();
    walk(&definition(), &mut found);
    found
}

/// The command line, parsed. `aol` alone serves, with `aol serve`'s options;
/// with a subcommand those options belong after it, so one given before it is
/// refused rather than ignored (global options such as `--log-format` may go
/// anywhere).
fn parse() -> Cli {
    use clap::{Args, CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let matches = command.clone().try_get_matches().unwrap_or_else(|e| exit_naming_env(e));
    if let Some((name, _)) = matches.subcommand() {
        let serve_only = ServeArgs::augment_args(clap::Command::new("serve"));
        for arg in serve_only.get_arguments() {
            let id = arg.get_id().as_str();
            if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                let flag = arg.get_long().map_or_else(|| id.to_string(), |long| format!("--{long}"));
                command
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!("{flag} belongs to `aol serve`; for `aol {name}`, give its options after `{name}`"),
                    )
                    .exit();
            }
        }
    }
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// clap names the flag of a bad value even when the value came from the
/// flag's environment variable; then the variable is named too, since that is
/// where the user has to look.
fn exit_naming_env(error: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue};
    let _ = error.print();
    if let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) {
        // `shown` reads "--max-retries <MAX_RETRIES>".
        let long = shown.split_whitespace().next().unwrap_or_default().trim_start_matches("--");
        let flag = format!("--{long}");
        let on_line = std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
        let env = every_argument()
            .into_iter()
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_env().map(std::ffi::OsStr::to_os_string));
        if let Some(env) = env.filter(|env| !on_line && std::env::var_os(env).is_some()) {
            eprintln!("note: that value came from the environment variable {}", env.to_string_lossy());
        }
    }
    std::process::exit(error.exit_code());
}

/// Parses the command line, runs the command, and turns errors into a message
/// and a non-zero exit code.
pub async fn run() -> ExitCode {
    let cli = parse();
    crate::logging::init(cli.log_format);
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    match dispatch(command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => crate::server::serve(args).await.map(|()| ExitCode::SUCCESS),
        Command::Daemon(cmd) => daemon(cmd).await,
        Command::Flags(cmd) => flags(cmd).await,
        Command::Enqueue(cmd) => enqueue(cmd).await,
        Command::Actions(cmd) => actions(cmd).await,
        Command::Requeue(cmd) => operator_change(cmd, true).await,
        Command::Cancel(cmd) => operator_change(cmd, false).await,
        Command::Status(cmd) => status(cmd).await,
        Command::Token(cmd) => token(cmd).await,
        Command::Prune(cmd) => prune(cmd).await,
        Command::Show(cmd) => show(cmd).await,
        Command::Backup(cmd) => backup(cmd).await,
        Command::Channel(cmd) => channel(cmd).await,
        Command::Resolve(cmd) => resolve(cmd).await,
        Command::Approve(cmd) => decide(cmd.db, cmd.id, cmd.sha, cmd.reason, true).await,
        Command::Reject(cmd) => decide(cmd.db, cmd.id, None, Some(cmd.reason), false).await,
        Command::Edit(cmd) => edit(cmd).await,
        Command::Policy(cmd) => policy(cmd).await,
    }
}

/// Connects and migrates: every command sees an up-to-date schema.
pub async fn open_db(args: &DbArgs) -> anyhow::Result<Db> {
    let db = Db::connect(&args.database_url).await.context("DATABASE_URL (--database-url)")?;
    db.migrate().await?;
    Ok(db)
}

/// An engine for a one-shot command (no daemon: the artifact directory is unused).
async fn open_engine(args: &DbArgs) -> anyhow::Result<Engine> {
    let db = open_db(args).await?;
    Ok(Engine::new(db, Clock::System, Registry::standard("artifacts".into())).await?)
}

/// Who a CLI change is recorded as.
fn cli_actor() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Writes AOL_PROOF_MODE to the flag, so a restart never enters REAL silently.
pub async fn apply_startup_mode(engine: &Engine, proof_mode: bool) -> anyhow::Result<()> {
    let command = if proof_mode { FlagCommand::Proof } else { FlagCommand::Real };
    let actor = Actor { who: "startup", reason: Some("AOL_PROOF_MODE at start-up") };
    engine.apply_flag_command(command, &actor).await?;
    Ok(())
}

async fn daemon(mut cmd: DaemonCmd) -> anyhow::Result<ExitCode> {
    if cmd.proof {
        cmd.daemon.proof_mode = true;
    }
    let settings = cmd.daemon.validate().map_err(anyhow::Error::msg)?;
    let db = open_db(&cmd.db).await?;
    let engine = Engine::new(db.clone(), Clock::System, cmd.daemon.registry(settings.artifact_dir.clone())).await?;
    apply_startup_mode(&engine, cmd.daemon.proof_mode).await?;
    if engine.flags_now().killed {
        eprintln!("AOL is killed: not starting the daemon (revive it with `aol flags revive`)");
        return Ok(ExitCode::SUCCESS);
    }
    let shutdown = CancellationToken::new();
    let watcher = engine.spawn_flag_watcher(shutdown.clone());
    let maintenance = engine.spawn_maintenance(cmd.retention.settings(), shutdown.clone());
    let signals = tokio::spawn(crate::server::cancel_on_signal(shutdown.clone()));
    let exit = engine::daemon::run(&engine, &settings, &shutdown).await;
    shutdown.cancel();
    let _ = tokio::join!(watcher, maintenance, signals);
    db.close().await;
    if exit == DaemonExit::Killed {
        eprintln!("daemon stopped: the kill flag is set");
    }
    Ok(ExitCode::SUCCESS)
}

async fn prune(cmd: PruneCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let pruned = engine.prune(&cmd.retention.settings()).await;
    engine.db().close().await;
    let p = pruned?;
    println!("pruned {} ledger rows, {} log lines, {} actions", p.ticks, p.logs, p.actions);
    Ok(ExitCode::SUCCESS)
}

async fn flags(cmd: FlagsCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let who = cli_actor();
    let actor = Actor { who: &who, reason: cmd.reason.as_deref() };
    let outcome = engine.apply_flag_command(cmd.command, &actor).await?;
    engine.db().close().await;
    let f = &outcome.flags;
    let state = format!("paused={} killed={} mode={}", f.paused, f.killed, if f.proof_mode { "PROOF" } else { "REAL" });
    if outcome.changed {
        println!("{}: done ({state})", cmd.command.as_str());
    } else {
        println!("{}: already so, nothing changed ({state})", cmd.command.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

async fn enqueue(cmd: EnqueueCmd) -> anyhow::Result<ExitCode> {
    let payload = parse_payload(&cmd.payload)?;
    let engine = open_engine(&cmd.db).await?;
    let window = Window { scheduled_for: cmd.scheduled_for, not_after: cmd.not_after };
    let item = NewItem { window, ..NewItem::new(&cmd.action_type, &cmd.key, &payload) };
    let result = engine.enqueue_many(&[item]).await.and_then(|mut done| done.pop().expect("one outcome per item"));
    engine.db().close().await;
    let enqueued = result?;
    if cmd.json {
        let out = serde_json::json!({ "duplicate": enqueued.duplicate, "action": enqueued.action });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if enqueued.duplicate {
        let a = &enqueued.action;
        println!("duplicate key: nothing added; the existing action is #{} ({})", a.id, a.status);
    } else {
        println!("enqueued action #{} ({})", enqueued.action.id, enqueued.action.status);
    }
    Ok(ExitCode::SUCCESS)
}

async fn actions(cmd: ActionsCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let list = engine.db().actions_recent(cmd.status.map(ActionStatus::as_str), cmd.limit).await;
    engine.db().close().await;
    let list = list?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else if list.is_empty() {
        println!("no actions");
    } else {
        print_actions(&list);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_actions(list: &[Action]) {
    let now = chrono::Utc::now();
    println!(
        "{:>8}  {:<11}  {:>3}  {:<12}  {:<20}  {:<10}  LAST ERROR",
        "ID", "STATUS", "TRY", "TYPE", "KEY", "NEXT TRY"
    );
    for a in list {
        let key: String = a.idempotency_key.chars().take(20).collect();
        let error: String = a.last_error.as_deref().unwrap_or("").chars().take(60).collect();
        println!(
            "{:>8}  {:<11}  {:>3}  {:<12}  {:<20}  {:<10}  {error}",
            a.id,
            a.status,
            a.attempts,
            a.action_type,
            key,
            next_try(a, now)
        );
    }
}

/// When a waiting action is due: "now", "in 42 s"; blank for the others.
fn next_try(a: &Action, now: chrono::DateTime<chrono::Utc>) -> String {
    if !matches!(a.status.as_str(), "PENDING" | "RETRY") {
        return String::new();
    }
    let secs = (a.not_before_utc - now).num_seconds();
    match secs {
        ..=0 => "now".into(),
        1..=119 => format!("in {secs} s"),
        120..=7199 => format!("in {} min", secs / 60),
        _ => format!("in {} h", secs / 3600),
    }
}

async fn show(cmd: ShowCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let found = engine.action_detail(cmd.id).await;
    engine.db().close().await;
    let Some(detail) = found? else { anyhow::bail!("no action with id {}", cmd.id) };
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
        return Ok(ExitCode::SUCCESS);
    }
    let crate::model::ActionDetail { action: a, logs, approvals, request, .. } = detail;
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    println!("action #{}  {}  key {:?}", a.id, a.action_type, a.idempotency_key);
    println!("status:   {} after {} attempt(s)", a.status, a.attempts);
    let next = next_try(&a, chrono::Utc::now());
    if !next.is_empty() {
        println!("next try: {next} ({})", time(a.not_before_utc));
    }
    if let Some(e) = &a.last_error {
        println!("error:    {e}");
    }
    println!("created:  {}   changed: {}", time(a.created_at_utc), time(a.updated_at_utc));
    if a.scheduled_for_utc.is_some() || a.not_after_utc.is_some() {
        let at = |t: Option<chrono::DateTime<chrono::Utc>>, none: &str| t.map(time).unwrap_or(none.to_string());
        println!("window:   not before {}, not after {}", at(a.scheduled_for_utc, "-"), at(a.not_after_utc, "-"));
    }
    if let Some(channel) = &a.channel {
        println!("channel:  {channel} (admitted under policy {})", a.policy.as_deref().unwrap_or("-"));
    }
    println!("payload:  {}", a.payload_json);
    if let Some(r) = &request {
        println!("request:  POST {} (SHA-256 {})", r.url, r.sha256);
        println!("          {}", r.body);
    }
    for d in &approvals {
        println!("{}", d.summary());
    }
    println!("log:");
    for l in &logs {
        println!("  {}  {:<7}  {}", time(l.ts_utc), l.level, l.message);
        if let (Some(path), Some(sha)) = (&l.artifact_ref, &l.artifact_sha256) {
            println!("  {:<23}  {:<7}  artifact {path} (SHA-256 {sha})", "", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn backup(cmd: BackupCmd) -> anyhow::Result<ExitCode> {
    if cmd.file.exists() {
        anyhow::bail!("{} exists already: choose a new file", cmd.file.display());
    }
    let db = open_db(&cmd.db).await?;
    let done = db.backup_into(&cmd.file).await;
    db.close().await;
    done?;
    println!("copied the database to {}", cmd.file.display());
    Ok(ExitCode::SUCCESS)
}

async fn operator_change(cmd: IdCmd, requeue: bool) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let who = cli_actor();
    let result = if requeue { engine.requeue(cmd.id, &who).await } else { engine.cancel(cmd.id, &who).await };
    engine.db().close().await;
    let action = result?;
    println!("action #{} is now {}", action.id, action.status);
    Ok(ExitCode::SUCCESS)
}

async fn token(cmd: TokenCmd) -> anyhow::Result<ExitCode> {
    use crate::auth::{AgentToken, OperatorAuth};
    let db = open_db(&cmd.db).await?;
    let result = async {
        match &cmd.command {
            TokenAction::Reset => {
                println!("{}", OperatorAuth::reset(&db).await?);
                eprintln!(
                    "new operator token stored; running servers use it after a restart (AOL_OPERATOR_TOKEN, if set, wins)"
                );
            }
            TokenAction::AgentAdd { name } => {
                println!("{}", AgentToken::create(&db, name).await?);
                eprintln!("agent token {name:?} stored (shown only now); send it as `Authorization: Bearer <token>`");
            }
            TokenAction::AgentList => {
                let tokens = AgentToken::list(&db).await?;
                if tokens.is_empty() {
                    eprintln!("no agent token (make one with `aol token agent-add NAME`)");
                }
                for t in tokens {
                    println!("{}\tcreated {}", t.name, t.created_at_utc.format("%Y-%m-%d %H:%M:%S UTC"));
                }
            }
            TokenAction::AgentRevoke { name } => {
                if !AgentToken::revoke(&db, name).await? {
                    anyhow::bail!("no agent token named {name:?}");
                }
                eprintln!("agent token {name:?} revoked");
            }
        }
        anyhow::Ok(())
    }
    .await;
    db.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

async fn status(cmd: StatusCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let overview = engine.overview().await;
    engine.db().close().await;
    let overview = overview?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&overview)?);
        return Ok(ExitCode::SUCCESS);
    }
    let f = &overview.flags;
    // The CLI runs no daemon: a lease held elsewhere is the daemon running.
    let (state, why) = match (overview.daemon_state(), &overview.lease) {
        ((crate::model::DaemonState::Standby, _), Some(l)) => {
            (crate::model::DaemonState::Running, format!("the lease is held by {}", l.owner))
        }
        (other, _) => other,
    };
    println!("daemon:  {} ({why})", state.as_str());
    println!("mode:    {}", if f.proof_mode { "PROOF (dry run)" } else { "REAL" });
    println!("paused:  {}", if f.paused { "yes" } else { "no" });
    println!("killed:  {}", if f.killed { "yes" } else { "no" });
    println!("changed: {} by {}", f.updated_at_utc.to_rfc3339(), f.updated_by);
    match (overview.lease_holder(), &overview.lease) {
        (Some(l), _) => println!("lease:   {} (epoch {}) until {}", l.owner, l.epoch, l.expires_at_utc.to_rfc3339()),
        (None, Some(l)) => println!("lease:   free (last: {}, epoch {})", l.owner, l.epoch),
        (None, None) => println!("lease:   never taken"),
    }
    let queue: Vec<String> = overview.counts.iter().map(|c| format!("{} {}", c.status, c.count)).collect();
    println!("queue:   {}", if queue.is_empty() { "empty".to_string() } else { queue.join(", ") });
    println!("ticks:   {}", overview.ledger_rows);
    match &overview.last_tick {
        Some(t) => println!("last:    #{} {} at {} ({})", t.id, t.status, t.finished_at_utc.to_rfc3339(), t.notes),
        None => println!("last:    no tick yet"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn channel(cmd: ChannelCmd) -> anyhow::Result<ExitCode> {
    use crate::engine::channels::ChannelRequest;
    let engine = open_engine(&cmd.db).await?;
    let who = cli_actor();
    let result = async {
        match cmd.command {
            ChannelAction::Add { name, kind, url, handle, secret_env, secret_file } => {
                let request = ChannelRequest { name, kind, url, handle, secret_env, secret_file };
                let c = engine.channel_add(&request, &Actor { who: &who, reason: None }).await?;
                println!(
                    "added channel {} ({} at {}), disarmed: arm it with `aol channel arm {}`",
                    c.name, c.kind, c.base_url, c.name
                );
            }
            ChannelAction::List { json } => {
                let channels = engine.db().channels().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&channels)?);
                } else if channels.is_empty() {
                    println!("no channels (add one with `aol channel add NAME --kind K --url URL ...`)");
                } else {
                    println!(
                        "{:<20}  {:<8}  {:<8}  {:<32}  {:<24}  {:<28}  LIMITS",
                        "NAME", "KIND", "ARMED", "URL", "HANDLE", "SECRET"
                    );
                    for c in channels {
                        println!(
                            "{:<20}  {:<8}  {:<8}  {:<32}  {:<24}  {:<28}  {}",
                            c.name,
                            c.kind,
                            if c.armed { "armed" } else { "disarmed" },
                            c.base_url,
                            c.handle.as_deref().unwrap_or("-"),
                            c.secret_source(),
                            c.limits_text()
                        );
                    }
                }
            }
            ChannelAction::Remove { name } => {
                engine.channel_remove(&name, &Actor { who: &who, reason: None }).await?;
                println!("removed channel {name}");
            }
            ChannelAction::Arm { name, reason } => arm(&engine, &who, &name, reason, true).await?,
            ChannelAction::Disarm { name, reason } => arm(&engine, &who, &name, reason, false).await?,
            ChannelAction::Limits { name, per_hour, per_day, min_spacing_seconds } => {
                let limits = RateLimits { max_per_hour: per_hour, max_per_day: per_day, min_spacing_seconds };
                let c = engine.channel_limits(&name, &limits, &Actor { who: &who, reason: None }).await?;
                println!("channel {}: {}", c.name, c.limits_text());
            }
        }
        anyhow::Ok(())
    }
    .await;
    engine.db().close().await;
    result.map(|()| ExitCode::SUCCESS)
}

async fn arm(engine: &Engine, who: &str, name: &str, reason: Option<String>, armed: bool) -> anyhow::Result<()> {
    let actor = Actor::with_typed_reason(who, reason.as_deref());
    let (_, changed) = engine.channel_arm(name, armed, &actor).await?;
    let state = if armed { "armed" } else { "disarmed" };
    if changed {
        println!("channel {name} is now {state}");
    } else {
        println!("channel {name} was {state} already, nothing changed");
    }
    Ok(())
}

async fn resolve(cmd: ResolveCmd) -> anyhow::Result<ExitCode> {
    use crate::storage::Resolution;
    let resolution = match (cmd.outcome.as_str(), cmd.url) {
        ("posted", url) => Resolution::Posted { remote_id: None, remote_url: url },
        (_, Some(_)) => anyhow::bail!("--url goes with `posted` only"),
        _ => Resolution::SendAgain,
    };
    let engine = open_engine(&cmd.db).await?;
    let who = cli_actor();
    let reason = cmd.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let result = engine.resolve_unconfirmed(cmd.id, &resolution, &who, reason).await;
    engine.db().close().await;
    let action = result?;
    println!("action #{} is now {}", action.id, action.status);
    Ok(ExitCode::SUCCESS)
}

async fn decide(
    db: DbArgs,
    id: i64,
    sha: Option<String>,
    reason: Option<String>,
    approved: bool,
) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&db).await?;
    let who = cli_actor();
    let actor = Actor::with_typed_reason(&who, reason.as_deref());
    let result =
        if approved { engine.approve(id, sha.as_deref(), &actor).await } else { engine.reject(id, &actor).await };
    engine.db().close().await;
    let action = result?;
    let verb = if approved { "approved" } else { "rejected" };
    println!("action #{} {verb}: now {}", action.id, action.status);
    Ok(ExitCode::SUCCESS)
}

async fn edit(cmd: EditCmd) -> anyhow::Result<ExitCode> {
    let payload = parse_payload(&cmd.payload)?;
    let engine = open_engine(&cmd.db).await?;
    let who = cli_actor();
    let result = engine.edit(cmd.id, &payload, &Actor::with_typed_reason(&who, cmd.reason.as_deref())).await;
    engine.db().close().await;
    let action = result?;
    println!("action #{} changed: now {}", action.id, action.status);
    Ok(ExitCode::SUCCESS)
}

async fn policy(cmd: PolicyCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let who = cli_actor();
    let result = async {
        match cmd.command {
            PolicyAction::Set { channel, mode, action_type, reason } => {
                let actor = Actor::with_typed_reason(&who, reason.as_deref());
                let row = engine.policy_set(&channel, &action_type, mode, &actor).await?;
                println!("policy of channel {} for {}: {}", row.channel, row.action_type, row.mode);
            }
            PolicyAction::List { json } => {
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
