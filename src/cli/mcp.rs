//! `aol mcp --agent NAME`: AOL's MCP tools on stdin/stdout, for an agent a
//! local MCP client starts. It acts as that agent (its channels, its own
//! actions); only that agent's token (AOL_TOKEN) or an admin may start it.

use std::process::ExitCode;

use clap::Args;

use super::{cli_actor, open_engine};
use crate::config::DbArgs;
use crate::model::{Principal, Right};

#[derive(Args, Debug)]
pub(super) struct McpCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The agent to act as (`aol token agent-add NAME`).
    #[arg(long, value_name = "NAME")]
    agent: String,
}

pub(super) async fn mcp(cmd: McpCmd) -> anyhow::Result<ExitCode> {
    // Its tools build requests to show them, never send them: the default
    // platform settings do.
    let engine = open_engine(&cmd.db).await?;
    let starter = cli_actor(&engine).await?;
    let itself = matches!(starter.by(), Principal::Agent { name } if *name == cmd.agent);
    if !itself {
        starter.require(Right::Manage)?;
    }
    let known = crate::auth::AgentToken::list(engine.db()).await?;
    if !known.iter().any(|a| a.name == cmd.agent) {
        anyhow::bail!("there is no agent named {:?} (add one: aol token agent-add {})", cmd.agent, cmd.agent);
    }
    tracing::info!(agent = %cmd.agent, by = %starter.who(), "MCP over stdio");
    crate::mcp::serve_stdio(engine, Principal::Agent { name: cmd.agent }).await?;
    Ok(ExitCode::SUCCESS)
}
