//! `aol enqueue`: one action from its flags, or many from a JSON Lines file
//! (one `POST /api/v1/actions` body per line) in one transaction.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::{cli_actor, open_engine};
use crate::api::EnqueueRequest;
use crate::config::DbArgs;
use crate::engine::queue::parse_payload;
use crate::engine::zones;
use crate::engine::{EnqueueError, Enqueued, NewItem, Window};

/// A time as given, and the zone it was given in.
type Given = (chrono::DateTime<chrono::Utc>, Option<chrono_tz::Tz>);

#[derive(Args, Debug)]
pub(super) struct EnqueueCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action type, e.g. POST_SOCIAL.
    #[arg(long = "type", value_name = "ACTION_TYPE", required_unless_present = "file")]
    action_type: Option<String>,
    /// Idempotency key: 1-200 printable characters, unique per action.
    #[arg(long, required_unless_present = "file")]
    key: Option<String>,
    /// The payload, a JSON object, e.g. '{"text":"Hello"}'.
    #[arg(long, required_unless_present = "file")]
    payload: Option<String>,
    /// Not to be sent before this time: RFC 3339 (2026-11-28T09:00:00Z), "2026-11-28 09:00" (UTC) or
    /// "2026-03-29 09:00 Europe/Berlin" (that place's time, across daylight-saving changes).
    #[arg(long, value_name = "TIME", value_parser = zones::parse_time)]
    scheduled_for: Option<Given>,
    /// Never sent after this time (then it ends EXPIRED); same forms as --scheduled-for.
    #[arg(long, value_name = "TIME", value_parser = zones::parse_time)]
    not_after: Option<Given>,
    /// Many actions: a file with one API enqueue body per line
    /// ({"action_type", "idempotency_key", "payload", …}); all are checked
    /// first and added in one transaction, or none is.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["action_type", "key", "payload", "scheduled_for", "not_after"])]
    file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(super) async fn enqueue(cmd: EnqueueCmd) -> anyhow::Result<ExitCode> {
    if let Some(file) = &cmd.file {
        return enqueue_file(file, &cmd).await;
    }
    let (Some(action_type), Some(key), Some(payload)) = (&cmd.action_type, &cmd.key, &cmd.payload) else {
        anyhow::bail!("--type, --key and --payload are needed (or --file)");
    };
    let payload = parse_payload(payload)?;
    let engine = open_engine(&cmd.db).await?;
    let window = Window {
        scheduled_for: cmd.scheduled_for.map(|t| t.0),
        not_after: cmd.not_after.map(|t| t.0),
        time_zone: cmd.scheduled_for.and_then(|t| t.1).or(cmd.not_after.and_then(|t| t.1)),
    };
    let item = NewItem { window, ..NewItem::new(action_type, key, &payload) };
    let actor = cli_actor(&engine).await?;
    let result = engine.enqueue_one(&actor, &item).await;
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

/// Every line read and checked before the database is opened; then one
/// transaction. A line's error names its number (from 1).
async fn enqueue_file(file: &std::path::Path, cmd: &EnqueueCmd) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut requests = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let request: EnqueueRequest = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not an enqueue body", file.display(), n + 1))?;
        requests.push(request);
        lines.push(n + 1);
    }
    if requests.is_empty() {
        anyhow::bail!("{}: no actions in it (one JSON enqueue body per line)", file.display());
    }
    let mut items = Vec::with_capacity(requests.len());
    for (request, line) in requests.iter().zip(&lines) {
        items.push(request.item().map_err(|e| anyhow::anyhow!("{} line {line}: {e}", file.display()))?);
    }
    let engine = open_engine(&cmd.db).await?;
    let actor = cli_actor(&engine).await?;
    let result = engine.enqueue_many(&actor, &items).await;
    engine.db().close().await;
    let outcomes = result.map_err(|e| match e {
        EnqueueError::Item { index, error } => anyhow::anyhow!("{} line {}: {error}", file.display(), lines[index]),
        e => e.into(),
    })?;
    print_outcomes(&outcomes, &lines, cmd.json)?;
    Ok(if outcomes.iter().all(Result::is_ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_outcomes(outcomes: &[Result<Enqueued, EnqueueError>], lines: &[usize], json: bool) -> anyhow::Result<()> {
    if json {
        let out: Vec<serde_json::Value> = outcomes
            .iter()
            .zip(lines)
            .map(|(outcome, line)| match outcome {
                Ok(done) => serde_json::json!({"line": line, "id": done.action.id, "status": done.action.status,
                    "duplicate": done.duplicate}),
                Err(e) => serde_json::json!({"line": line, "error": e.to_string()}),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let added = outcomes.iter().filter(|o| o.as_ref().is_ok_and(|d| !d.duplicate)).count();
    let known = outcomes.iter().filter(|o| o.as_ref().is_ok_and(|d| d.duplicate)).count();
    for (outcome, line) in outcomes.iter().zip(lines) {
        if let Err(e) = outcome {
            println!("line {line}: {e}");
        }
    }
    println!("enqueued {added} new action(s); {known} key(s) were known already (nothing added for them)");
    Ok(())
}
