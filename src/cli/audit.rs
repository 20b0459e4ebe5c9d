//! `aol audit verify` and `aol audit export`: the audit trail checked, or
//! written out as JSON lines that a script can verify on its own
//! (docs/audit.md).

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{acting, open_engine};
use crate::config::DbArgs;
use crate::model::AuditCheck;
use crate::model::Right;

#[derive(Args, Debug)]
pub(super) struct AuditCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: AuditAction,
}

#[derive(Subcommand, Debug)]
enum AuditAction {
    /// Recompute the whole chain: exit 0 if intact, 1 naming the first row that is not.
    Verify,
    /// Write the events between two times as JSON lines (one row each, as stored) to stdout.
    Export {
        /// From this time: RFC 3339 or "2026-11-28 09:00" (UTC) [default: the first event].
        #[arg(long, value_name = "TIME", value_parser = crate::model::parse_utc)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Before this time [default: now].
        #[arg(long, value_name = "TIME", value_parser = crate::model::parse_utc)]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
}

/// Rows read per statement.
const PAGE: i64 = 10_000;

pub(super) async fn audit(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    let engine = open_engine(&cmd.db).await?;
    let result = async {
        let right = match cmd.command {
            AuditAction::Verify => Right::View,
            AuditAction::Export { .. } => Right::Audit,
        };
        let actor = acting(&engine, right).await?;
        match cmd.command {
            AuditAction::Verify => {
                let started = std::time::Instant::now();
                let check = engine.audit_verify(&actor).await?;
                match check {
                    AuditCheck::Intact { .. } => {
                        println!("{check} (checked in {:.1?})", started.elapsed());
                        Ok(ExitCode::SUCCESS)
                    }
                    AuditCheck::Broken { .. } => {
                        println!("{check}");
                        Ok(ExitCode::FAILURE)
                    }
                }
            }
            AuditAction::Export { since, until } => {
                let since = since.map(crate::model::audit_time);
                let until = until.map(crate::model::audit_time);
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let mut after = 0;
                loop {
                    let rows = engine.audit_rows(&actor, after, PAGE).await?;
                    let Some(last) = rows.last() else { break };
                    after = last.id;
                    for row in rows {
                        let from = since.as_ref().is_none_or(|s| row.at_utc >= *s);
                        let before = until.as_ref().is_none_or(|u| row.at_utc < *u);
                        if from && before {
                            serde_json::to_writer(&mut out, &row)?;
                            out.write_all(b"\n")?;
                        }
                    }
                }
                out.flush()?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
    .await;
    engine.db().close().await;
    result
}
