//! `aol notify add|list|remove|test`: who is told of what (a post awaiting
//! approval, posted, failed, …), by a signed POST to their URL.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{acting, open_engine};
use crate::config::DbArgs;
use crate::engine::notify::NotifierRequest;
use crate::model::Right;

#[derive(Args, Debug)]
pub(super) struct NotifyCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: NotifyAction,
}

#[derive(Subcommand, Debug)]
enum NotifyAction {
    /// Send chosen events to URL as they happen (JSON, or a Slack message).
    Add {
        name: String,
        /// Where to POST them.
        #[arg(long)]
        url: String,
        /// Comma-separated: awaiting_approval, approval_expiring, posted, failed,
        /// unconfirmed, expired, killed, paused, daemon_down.
        #[arg(long)]
        events: String,
        /// An AOL_SECRET_* variable whose value signs each delivery (X-AOL-Signature).
        #[arg(long, value_name = "AOL_SECRET_X")]
        secret_env: Option<String>,
        /// json (AOL's own body) or slack (an incoming-webhook message).
        #[arg(long, value_parser = ["json", "slack"])]
        format: Option<String>,
    },
    /// The notifiers, and how many notifications each has waiting.
    List,
    /// Stop notifying NAME (what it had still to receive goes too).
    Remove { name: String },
    /// Send NAME a test notification now.
    Test { name: String },
}

pub(super) async fn notify(cmd: NotifyCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let result = async {
        let right = if matches!(cmd.command, NotifyAction::List) { Right::View } else { Right::Configure };
        let actor = acting(&engine, right).await?;
        match cmd.command {
            NotifyAction::Add { name, url, events, secret_env, format } => {
                let request = NotifierRequest { name, url, events, secret_env, format };
                let n = engine.notifier_add(&request, &actor).await?;
                println!("notifier {} added: {} to {} ({})", n.name, n.events, n.url, n.format);
            }
            NotifyAction::List => {
                let list = engine.notifiers(&actor).await?;
                if list.is_empty() {
                    println!("no notifiers (add one: aol notify add NAME --url URL --events awaiting_approval,failed)");
                }
                for status in list {
                    let n = status.notifier;
                    println!(
                        "{}  {}  {}  {}  signed: {}  delivered {}, waiting {}, dropped {}",
                        n.name,
                        n.url,
                        n.events,
                        n.format,
                        n.secret_env.as_deref().unwrap_or("no"),
                        status.delivered,
                        status.waiting,
                        status.dropped
                    );
                }
            }
            NotifyAction::Remove { name } => {
                engine.notifier_remove(&name, &actor).await?;
                println!("notifier {name} removed");
            }
            NotifyAction::Test { name } => {
                engine.notifier_test(&name, &actor).await?;
                println!("a test notification for {name} is in the outbox: `aol serve` delivers it within a second");
            }
        }
        anyhow::Ok(())
    }
    .await;
    engine.db().close().await;
    result.map(|()| ExitCode::SUCCESS)
}
