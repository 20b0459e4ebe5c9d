//! `aol artifact ID [--out FILE]`: an action's PROOF artifact, read from the
//! database where the daemon stored it with the SUCCESS, its SHA-256 checked
//! against the log: to stdout, or exported as a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::open_engine;
use crate::config::DbArgs;

#[derive(Args, Debug)]
pub(super) struct ArtifactCmd {
    #[command(flatten)]
    db: DbArgs,
    /// The action's id.
    id: i64,
    /// Write the artifact to FILE (made durable before this command ends)
    /// instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(super) async fn artifact(cmd: ArtifactCmd) -> anyhow::Result<ExitCode> {
    if let Some(file) = &cmd.out {
        writable(file).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
    }
    let engine = open_engine(&cmd.db).await?;
    let found = async {
        let actor = super::acting(&engine, crate::model::Right::View).await?;
        anyhow::Ok(engine.artifact_for(&actor, cmd.id).await?)
    }
    .await;
    engine.db().close().await;
    let (bytes, sha256) = found?;
    match &cmd.out {
        Some(file) => {
            export(file, &bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
            eprintln!("wrote {} ({} bytes, SHA-256 {sha256}, as logged)", file.display(), bytes.len());
        }
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `file` can be written, as far as can be told before reading anything.
fn writable(file: &Path) -> Result<(), &'static str> {
    if file.is_dir() {
        return Err("it is a folder");
    }
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => Err("its folder does not exist"),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `file` through a temporary file, synced, then renamed:
/// a crash leaves the old file or the whole new one.
fn export(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(file).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}
