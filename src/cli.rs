//! The `aol` command line. `aol` alone is `aol serve`, which is what
//! `cargo leptos watch` runs.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{DaemonArgs, DbArgs, WebArgs};
use crate::engine::{self, Clock, DaemonExit, Engine};
use crate::model::FlagCommand;
use crate::storage::{Actor, Db};

#[derive(Parser, Debug)]
#[command(
    name = "aol",
    version,
    about = "AOL, the Autonomy Orchestration Layer: runs an agent's actions under hard limits",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the dashboard and run the daemon in the same process (the default).
    Serve(ServeArgs),
    /// Run the daemon alone, without the dashboard.
    Daemon(DaemonCmd),
    /// Change a control flag: pause, resume, kill, revive, proof, real.
    Flags(FlagsCmd),
    /// Show the control flags and the latest ticks.
    Status(StatusCmd),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub daemon: DaemonArgs,
    #[command(flatten)]
    pub web: WebArgs,
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
struct StatusCmd {
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Parses the command line, runs the command, and turns errors into a message
/// and a non-zero exit code.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init();
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
        Command::Status(cmd) => status(cmd).await,
    }
}

/// Connects and migrates: every command sees an up-to-date schema.
pub async fn open_db(args: &DbArgs) -> anyhow::Result<Db> {
    let db = Db::connect(&args.database_url).await.context("DATABASE_URL (--database-url)")?;
    db.migrate().await?;
    Ok(db)
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
    let engine = Engine::new(db.clone(), Clock::System).await?;
    apply_startup_mode(&engine, cmd.daemon.proof_mode).await?;
    if engine.flags_now().killed {
        eprintln!("AOL is killed: not starting the daemon (revive it with `aol flags revive`)");
        return Ok(ExitCode::SUCCESS);
    }
    let shutdown = CancellationToken::new();
    let watcher = engine.spawn_flag_watcher(shutdown.clone());
    let signals = tokio::spawn(crate::server::cancel_on_signal(shutdown.clone()));
    let exit = engine::daemon::run(&engine, &settings, &shutdown).await;
    shutdown.cancel();
    let _ = tokio::join!(watcher, signals);
    db.close().await;
    if exit == DaemonExit::Killed {
        eprintln!("daemon stopped: the kill flag is set");
    }
    Ok(ExitCode::SUCCESS)
}

async fn flags(cmd: FlagsCmd) -> anyhow::Result<ExitCode> {
    let db = open_db(&cmd.db).await?;
    let engine = Engine::new(db.clone(), Clock::System).await?;
    let who = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let actor = Actor { who: &who, reason: cmd.reason.as_deref() };
    let outcome = engine.apply_flag_command(cmd.command, &actor).await?;
    db.close().await;
    let f = &outcome.flags;
    let state = format!(
        "paused={} killed={} mode={}",
        f.paused,
        f.killed,
        if f.proof_mode { "PROOF" } else { "REAL" }
    );
    if outcome.changed {
        println!("{}: done ({state})", cmd.command.as_str());
    } else {
        println!("{}: already so, nothing changed ({state})", cmd.command.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(cmd: StatusCmd) -> anyhow::Result<ExitCode> {
    let db = open_db(&cmd.db).await?;
    let engine = Engine::new(db.clone(), Clock::System).await?;
    let overview = engine.overview().await?;
    db.close().await;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&overview)?);
        return Ok(ExitCode::SUCCESS);
    }
    let f = &overview.flags;
    println!("mode:    {}", if f.proof_mode { "PROOF (dry run)" } else { "REAL" });
    println!("paused:  {}", if f.paused { "yes" } else { "no" });
    println!("killed:  {}", if f.killed { "yes" } else { "no" });
    println!("changed: {} by {}", f.updated_at_utc.to_rfc3339(), f.updated_by);
    println!("ticks:   {}", overview.ledger_rows);
    match &overview.last_tick {
        Some(t) => println!("last:    #{} {} at {} ({})", t.id, t.status, t.finished_at_utc.to_rfc3339(), t.notes),
        None => println!("last:    no tick yet"),
    }
    Ok(ExitCode::SUCCESS)
}
