//! `aol daemon`, `flags`, `status`, `prune`, `backup` and `token`: running
//! AOL and looking after it.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use super::{cli_actor, open_engine};
use crate::config::{DaemonArgs, DbArgs, RetentionArgs};
use crate::engine::{self, Clock, DaemonExit, Engine};
use crate::model::FlagCommand;
use crate::server::{apply_startup_mode, open_db};

#[derive(Args, Debug)]
pub(super) struct DaemonCmd {
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
pub(super) struct PruneCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    retention: RetentionArgs,
}

#[derive(Args, Debug)]
pub(super) struct FlagsCmd {
    #[command(flatten)]
    db: DbArgs,
    /// pause | resume | kill | revive | proof | real
    command: FlagCommand,
    /// Why; recorded with the change.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct StatusCmd {
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(super) struct BackupCmd {
    #[command(flatten)]
    db: DbArgs,
    /// Where the copy goes; it must not exist yet.
    file: std::path::PathBuf,
}

#[derive(Args, Debug)]
pub(super) struct TokenCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: TokenAction,
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Make a new operator token, print it once, and forget the old one.
    Reset,
    /// Make a token for an agent (enqueue, read and edit its own actions over
    /// /api/v1; never approve or change flags); printed once.
    AgentAdd {
        /// 1-64 letters, digits, '-', '_' or '.'.
        name: String,
        /// The only channels it may post to, comma-separated [default: every channel].
        #[arg(long, value_delimiter = ',', value_parser = parse_channel_name)]
        channels: Vec<String>,
    },
    /// List the agent tokens by name.
    AgentList,
    /// Revoke an agent's token: it stops working at once.
    AgentRevoke { name: String },
}

fn parse_channel_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    crate::engine::channels::check_channel_name(name).map_err(|e| e.to_string())?;
    Ok(name.to_string())
}

pub(super) async fn daemon(mut cmd: DaemonCmd) -> anyhow::Result<ExitCode> {
    if cmd.proof {
        cmd.daemon.proof_mode = true;
    }
    let settings = cmd.daemon.validate().map_err(anyhow::Error::msg)?;
    let db = open_db(&cmd.db).await?;
    let engine = Engine::new(db.clone(), Clock::System, cmd.daemon.registry()).await?;
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

pub(super) async fn prune(cmd: PruneCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let pruned = match super::acting(&engine, crate::model::Right::Configure).await {
        Ok(_) => engine.prune(&cmd.retention.settings()).await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    engine.db().close().await;
    let p = pruned?;
    println!(
        "pruned {} ledger rows, {} log lines, {} actions, {} media files, {} audit rows",
        p.ticks, p.logs, p.actions, p.media, p.audit
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn flags(cmd: FlagsCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let actor = cli_actor(&engine).await?.because(cmd.reason.as_deref());
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

pub(super) async fn status(cmd: StatusCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let overview = match super::acting(&engine, crate::model::Right::View).await {
        Ok(_) => engine.overview().await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
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

pub(super) async fn backup(cmd: BackupCmd) -> anyhow::Result<ExitCode> {
    if cmd.file.exists() {
        anyhow::bail!("{} exists already: choose a new file", cmd.file.display());
    }
    let engine = open_engine(&cmd.db).await?;
    let db = engine.db().clone();
    // A copy holds everything, people's and agents' hashes too: an admin's.
    let done = match super::acting(&engine, crate::model::Right::Manage).await {
        Ok(_) => db.backup_into(&cmd.file).await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    db.close().await;
    done?;
    println!("copied the database to {}", cmd.file.display());
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn token(cmd: TokenCmd) -> anyhow::Result<ExitCode> {
    use crate::auth::{AgentToken, OperatorAuth};
    let engine = open_engine(&cmd.db).await?;
    let db = engine.db().clone();
    let result = async {
        let right = match cmd.command {
            TokenAction::AgentList => crate::model::Right::View,
            _ => crate::model::Right::Manage,
        };
        let actor = cli_actor(&engine).await?;
        actor.require(right)?;
        let audit = |event: &'static str, data: serde_json::Value| engine.audit(actor.who(), None, event, data);
        match &cmd.command {
            TokenAction::Reset => {
                println!("{}", OperatorAuth::reset(&db).await?);
                audit("operator_token_reset", serde_json::json!({})).await;
                eprintln!(
                    "new operator token stored; running servers use it after a restart (AOL_OPERATOR_TOKEN, if set, wins)"
                );
            }
            TokenAction::AgentAdd { name, channels } => {
                println!("{}", AgentToken::create(&db, name, channels).await?);
                audit("agent_added", serde_json::json!({"name": name, "channels": channels})).await;
                let scope = if channels.is_empty() { "every channel".to_string() } else { channels.join(", ") };
                eprintln!(
                    "agent token {name:?} stored (shown only now), posting to {scope}; send it as \
                     `Authorization: Bearer <token>`"
                );
            }
            TokenAction::AgentList => {
                let tokens = AgentToken::list(&db).await?;
                if tokens.is_empty() {
                    eprintln!("no agent token (make one with `aol token agent-add NAME`)");
                }
                for t in tokens {
                    let scope = if t.channels.is_empty() { "every channel".to_string() } else { t.channels.join(",") };
                    println!(
                        "{}\tcreated {}\tchannels {scope}",
                        t.name,
                        t.created_at_utc.format("%Y-%m-%d %H:%M:%S UTC")
                    );
                }
            }
            TokenAction::AgentRevoke { name } => {
                if !AgentToken::revoke(&db, name).await? {
                    anyhow::bail!("no agent token named {name:?}");
                }
                audit("agent_revoked", serde_json::json!({"name": name})).await;
                eprintln!("agent token {name:?} revoked");
            }
        }
        anyhow::Ok(())
    }
    .await;
    db.close().await;
    result.map(|()| ExitCode::SUCCESS)
}
