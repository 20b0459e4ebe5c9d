//! `aol actions`, `show`, `requeue`, `cancel`, `edit`,
//! `approve`, `reject` and `resolve`: the queue and its actions.

use std::process::ExitCode;

use clap::Args;

use super::{cli_actor, open_engine};
use crate::config::DbArgs;
use crate::engine::queue::parse_payload;
use crate::model::{Action, ActionStatus};

#[derive(Args, Debug)]
pub(super) struct ActionsCmd {
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
pub(super) struct IdCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
}

#[derive(Args, Debug)]
pub(super) struct ShowCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(super) struct EditCmd {
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
pub(super) struct ResolveCmd {
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
pub(super) struct ApproveCmd {
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
pub(super) struct RejectCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// Why; recorded, and shown as the action's last error.
    #[arg(long)]
    reason: String,
}

pub(super) async fn actions(cmd: ActionsCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let filter =
        crate::model::ActionFilter { status: cmd.status.map(|s| s.as_str().to_string()), ..Default::default() };
    let list = match super::acting(&engine, crate::model::Right::View).await {
        Ok(actor) => engine.actions_for(&actor, &filter, cmd.limit).await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
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
        let key: String = a.key().chars().take(20).collect();
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
pub(super) fn next_try(a: &Action, now: chrono::DateTime<chrono::Utc>) -> String {
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

pub(super) async fn show(cmd: ShowCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let found = async {
        let actor = super::acting(&engine, crate::model::Right::View).await?;
        match engine.action_for(&actor, cmd.id).await? {
            Some(_) => Ok(engine.action_detail(cmd.id).await?),
            None => anyhow::Ok(None),
        }
    }
    .await;
    engine.db().close().await;
    let Some(detail) = found? else { anyhow::bail!("no action with id {}", cmd.id) };
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
        return Ok(ExitCode::SUCCESS);
    }
    let crate::model::ActionDetail { action: a, logs, approvals, request, request_problem, post, .. } = detail;
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    println!("action #{}  {}  key {:?}", a.id, a.action_type, a.key());
    println!("status:   {} after {} attempt(s)", a.status, a.attempts);
    let next = next_try(&a, chrono::Utc::now());
    if !next.is_empty() {
        println!("next try: {next} ({})", time(a.not_before_utc));
    }
    if let Some(e) = &a.last_error {
        println!("error:    {e}");
    }
    println!("created:  {}   changed: {}", time(a.created_at_utc), time(a.updated_at_utc));
    let by = |who: &Option<String>| who.clone().unwrap_or_else(|| "(not recorded)".into());
    match &a.edited_by {
        Some(_) => println!("by:       {}, last changed by {}", by(&a.enqueued_by), by(&a.edited_by)),
        None => println!("by:       {}", by(&a.enqueued_by)),
    }
    if a.scheduled_for_utc.is_some() || a.not_after_utc.is_some() {
        let given = |t| match a.time_zone.as_deref().and_then(|z| crate::engine::zones::shown_in(t, z)) {
            Some(local) => format!("{local} ({})", time(t)),
            None => time(t),
        };
        let at = |t: Option<chrono::DateTime<chrono::Utc>>, none: &str| t.map(given).unwrap_or(none.to_string());
        println!("window:   not before {}, not after {}", at(a.scheduled_for_utc, "-"), at(a.not_after_utc, "-"));
    }
    if let Some(channel) = &a.channel {
        println!("channel:  {channel} (admitted under policy {})", a.policy.as_deref().unwrap_or("-"));
    }
    println!("payload:  {}", a.payload_json);
    if let Some(r) = &request {
        let what = if r.requests == 1 { "1 request".to_string() } else { format!("{} requests", r.requests) };
        println!("request:  {what} to {} (SHA-256 {})", r.url, r.sha256);
        println!("          {}", r.body.trim_end());
    }
    if let Some(why) = &request_problem {
        println!("request:  cannot be built now: {why}");
    }
    for note in post.iter().flat_map(|p| &p.notes) {
        println!("note:     {note}");
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

pub(super) async fn operator_change(cmd: IdCmd, requeue: bool) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let actor = cli_actor(&engine).await?;
    let result = if requeue { engine.requeue(cmd.id, &actor).await } else { engine.cancel(cmd.id, &actor).await };
    engine.db().close().await;
    let action = result?;
    println!("action #{} is now {}", action.id, action.status);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn resolve(cmd: ResolveCmd) -> anyhow::Result<ExitCode> {
    use crate::storage::Resolution;
    let resolution = match (cmd.outcome.as_str(), cmd.url) {
        ("posted", url) => Resolution::Posted { remote_id: None, remote_url: url },
        (_, Some(_)) => anyhow::bail!("--url goes with `posted` only"),
        _ => Resolution::SendAgain,
    };
    let engine = open_engine(&cmd.db).await?;
    let actor = cli_actor(&engine).await?.because(cmd.reason.as_deref());
    let result = engine.resolve_unconfirmed(cmd.id, &resolution, &actor).await;
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
    let actor = cli_actor(&engine).await?.because(reason.as_deref());
    let result =
        if approved { engine.approve(id, sha.as_deref(), &actor).await } else { engine.reject(id, &actor).await };
    engine.db().close().await;
    let action = result?;
    let verb = if approved { "approved" } else { "rejected" };
    println!("action #{} {verb}: now {}", action.id, action.status);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn edit(cmd: EditCmd) -> anyhow::Result<ExitCode> {
    let payload = parse_payload(&cmd.payload)?;
    let engine = open_engine(&cmd.db).await?;
    let actor = cli_actor(&engine).await?.because(cmd.reason.as_deref());
    let result = engine.edit(cmd.id, &payload, &actor).await;
    engine.db().close().await;
    let action = result?;
    println!("action #{} changed: now {}", action.id, action.status);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn approve(cmd: ApproveCmd) -> anyhow::Result<ExitCode> {
    decide(cmd.db, cmd.id, cmd.sha, cmd.reason, true).await
}

pub(super) async fn reject(cmd: RejectCmd) -> anyhow::Result<ExitCode> {
    decide(cmd.db, cmd.id, None, Some(cmd.reason), false).await
}
