//! The `aol` command line. `aol` alone is `aol serve`, which is what
//! `cargo leptos watch` runs. One file per family of commands.

mod actions;
mod artifact;
mod audit;
mod channels;
mod enqueue;
mod mcp;
mod media;
mod notify;
mod people;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{DbArgs, ServeArgs};
use crate::engine::{Clock, Engine, Registry};
use crate::logging::LogFormat;
use crate::server::open_db;

use actions::{ActionsCmd, ApproveCmd, EditCmd, IdCmd, RejectCmd, ResolveCmd, ShowCmd};
use audit::AuditCmd;
use channels::{ChannelCmd, PolicyCmd};
use enqueue::EnqueueCmd;
use mcp::McpCmd;
use media::MediaCmd;
use notify::NotifyCmd;
use people::OperatorCmd;
use run::{BackupCmd, DaemonCmd, FlagsCmd, PruneCmd, StatusCmd, TokenCmd};

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
    /// Add an action to the queue, or many from a file (a known key returns the existing action).
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
    /// An action's PROOF artifact, as stored with its SUCCESS and checked against its log: printed, or --out FILE.
    Artifact(artifact::ArtifactCmd),
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
    /// Images for posts: upload a file to AOL (named by its SHA-256), or read one back.
    Media(MediaCmd),
    /// People: add (with a role: viewer, approver, admin), password, list, remove, role.
    Operator(OperatorCmd),
    /// The audit trail: verify its chain, or export it as JSON lines.
    Audit(AuditCmd),
    /// Serve AOL's MCP tools on stdin/stdout as an agent (for a local MCP client).
    Mcp(McpCmd),
    /// Who is told of what: a post awaiting approval, posted, failed, AOL killed, …
    Notify(NotifyCmd),
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
        Command::Daemon(cmd) => run::daemon(cmd).await,
        Command::Flags(cmd) => run::flags(cmd).await,
        Command::Enqueue(cmd) => enqueue::enqueue(cmd).await,
        Command::Actions(cmd) => actions::actions(cmd).await,
        Command::Requeue(cmd) => actions::operator_change(cmd, true).await,
        Command::Cancel(cmd) => actions::operator_change(cmd, false).await,
        Command::Status(cmd) => run::status(cmd).await,
        Command::Token(cmd) => run::token(cmd).await,
        Command::Prune(cmd) => run::prune(cmd).await,
        Command::Show(cmd) => actions::show(cmd).await,
        Command::Artifact(cmd) => artifact::artifact(cmd).await,
        Command::Backup(cmd) => run::backup(cmd).await,
        Command::Channel(cmd) => channels::channel(cmd).await,
        Command::Resolve(cmd) => actions::resolve(cmd).await,
        Command::Approve(cmd) => actions::approve(cmd).await,
        Command::Reject(cmd) => actions::reject(cmd).await,
        Command::Edit(cmd) => actions::edit(cmd).await,
        Command::Policy(cmd) => channels::policy(cmd).await,
        Command::Media(cmd) => media::media(cmd).await,
        Command::Operator(cmd) => people::operator(cmd).await,
        Command::Audit(cmd) => audit::audit(cmd).await,
        Command::Mcp(cmd) => mcp::mcp(cmd).await,
        Command::Notify(cmd) => notify::notify(cmd).await,
    }
}

/// An engine for a one-shot command (no daemon).
async fn open_engine(args: &DbArgs) -> anyhow::Result<Engine> {
    open_engine_with(args, crate::engine::channels::Platforms::new(Default::default())).await
}

/// [`open_engine`], with its platforms' settings.
async fn open_engine_with(args: &DbArgs, platforms: crate::engine::channels::Platforms) -> anyhow::Result<Engine> {
    let db = open_db(args).await?;
    Ok(Engine::new(db, Clock::System, Registry::with_platforms(platforms)).await?)
}

/// The token a command acts with, if any: a person's (then the command has
/// their role and is recorded under their name), an agent's, or the operator
/// token. Without it, the command line acts as the console (an admin: it
/// holds the database's address), recorded as `cli:$USER`.
pub const TOKEN_ENV: &str = "AOL_TOKEN";

/// Who a command acts as, when their role holds `right` (else the refusal).
async fn acting(engine: &Engine, right: crate::model::Right) -> anyhow::Result<crate::engine::Actor> {
    let actor = cli_actor(engine).await?;
    actor.require(right)?;
    Ok(actor)
}

/// Who a command acts as (see [`TOKEN_ENV`]); a token that is none of the
/// valid ones is refused rather than ignored.
async fn cli_actor(engine: &Engine) -> anyhow::Result<crate::engine::Actor> {
    use crate::model::Principal;
    let Some(token) = std::env::var(TOKEN_ENV).ok().filter(|t| !t.trim().is_empty()) else {
        let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
        return Ok(crate::engine::Actor::new(Principal::Console { user }));
    };
    let configured = std::env::var("AOL_OPERATOR_TOKEN").ok();
    let operator = crate::auth::OperatorAuth::existing(engine.db(), configured.as_deref()).await?;
    match crate::auth::identify(engine, operator.as_ref(), &token).await? {
        Some(who) => Ok(crate::engine::Actor::new(who)),
        None => anyhow::bail!("{TOKEN_ENV} is not a valid token (a person's, an agent's or the operator token)"),
    }
}
