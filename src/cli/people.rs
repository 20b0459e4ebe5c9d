//! `aol operator`: the people who use AOL, each with a role (viewer,
//! approver, admin), an API token and a dashboard password.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{cli_actor, open_engine};
use crate::auth::people;
use crate::config::DbArgs;
use crate::model::Role;

#[derive(Args, Debug)]
pub(super) struct OperatorCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: OperatorAction,
}

#[derive(Subcommand, Debug)]
enum OperatorAction {
    /// Add a person with a role; prints their API token once.
    Add {
        /// 1-64 lowercase letters, digits, '-', '_' or '.'.
        name: String,
        /// viewer (sees everything, changes nothing), approver (also writes,
        /// edits and decides on posts) or admin (also flags, channels,
        /// policies, limits, people and agents).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Set a person's dashboard password, read from stdin (at least 12
    /// characters); their open sessions end.
    Password { name: String },
    /// Everyone, with their role.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a person: their token stops working and their sessions end.
    Remove { name: String },
    /// Give a person another role; it holds from their next request.
    Role {
        name: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// The password: typed without echo at a terminal, else the first line of stdin.
fn read_password(name: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password(format!("password for {name}: "))?);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub(super) async fn operator(cmd: OperatorCmd) -> anyhow::Result<ExitCode> {
    let password = match &cmd.command {
        OperatorAction::Password { name } => Some(read_password(name)?),
        _ => None,
    };
    let engine = open_engine(&cmd.db).await?;
    let result = async {
        let actor = cli_actor(&engine).await?;
        match cmd.command {
            OperatorAction::Add { name, role } => {
                println!("{}", people::add(&engine, &actor, &name, role).await?);
                eprintln!(
                    "{name} added as {role} (the token above is shown only now: it is their API token; set their \
                     dashboard password with `aol operator password {name}`)"
                );
            }
            OperatorAction::Password { name } => {
                people::set_password(&engine, &actor, &name, &password.unwrap_or_default()).await?;
                println!("password of {name} set; their open sessions ended");
            }
            OperatorAction::List { json } => {
                let everyone = people::list(&engine, &actor).await?;
                if json {
                    let rows: Vec<_> = everyone
                        .iter()
                        .map(|p| {
                            serde_json::json!({"name": p.name, "role": p.role, "has_password": p.has_password,
                                "created_at_utc": p.created_at_utc, "created_by": p.created_by})
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else if everyone.is_empty() {
                    println!("nobody yet (add someone with `aol operator add NAME --role ROLE`)");
                } else {
                    println!("{:<24}  {:<9}  {:<9}  {:<20}  ADDED BY", "NAME", "ROLE", "PASSWORD", "ADDED (UTC)");
                    for p in everyone {
                        println!(
                            "{:<24}  {:<9}  {:<9}  {:<20}  {}",
                            p.name,
                            p.role.as_str(),
                            if p.has_password { "set" } else { "none" },
                            p.created_at_utc.format("%Y-%m-%d %H:%M:%S"),
                            p.created_by
                        );
                    }
                }
            }
            OperatorAction::Remove { name } => {
                people::remove(&engine, &actor, &name).await?;
                println!("removed {name}; their token and sessions no longer work");
            }
            OperatorAction::Role { name, role } => {
                people::set_role(&engine, &actor, &name, role).await?;
                println!("{name} is now {role}");
            }
        }
        anyhow::Ok(())
    }
    .await;
    engine.db().close().await;
    result.map(|()| ExitCode::SUCCESS)
}
