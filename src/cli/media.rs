//! `aol media add FILE`: an image uploaded to AOL, named by the SHA-256 of
//! its bytes, for payloads to name (`"images": [{"media": SHA256, …}]`).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::open_engine;
use crate::config::DbArgs;
use crate::engine::media::MAX_MEDIA_BYTES;

#[derive(Args, Debug)]
pub(super) struct MediaCmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: MediaAction,
}

#[derive(Subcommand, Debug)]
enum MediaAction {
    /// Store an image (PNG, JPEG, WebP or GIF) and print its SHA-256.
    Add {
        /// The file to upload.
        #[arg(value_name = "FILE")]
        image: std::path::PathBuf,
        /// Print {"sha256", "size", "mime"} instead of the SHA-256 alone.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn media(cmd: MediaCmd) -> anyhow::Result<ExitCode> {
    let MediaAction::Add { image: file, json } = cmd.command;
    let size = std::fs::metadata(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?.len();
    if size > MAX_MEDIA_BYTES as u64 {
        anyhow::bail!("{} is {size} bytes; AOL takes files up to {MAX_MEDIA_BYTES} bytes", file.display());
    }
    let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let engine = open_engine(&cmd.db).await?;
    let actor = super::cli_actor(&engine).await?;
    let added = engine.media_add(&actor, &bytes).await;
    engine.db().close().await;
    let added = added.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let m = &added.info;
    if json {
        println!("{}", serde_json::json!({ "sha256": m.sha256, "size": m.size, "mime": m.mime }));
    } else {
        println!("{}", m.sha256);
        let known = if added.new { "stored" } else { "already stored" };
        let pixels = match (m.width, m.height) {
            (Some(w), Some(h)) => format!(", {w}×{h}"),
            _ => String::new(),
        };
        eprintln!("{known}: {} ({}, {} bytes{pixels})", file.display(), m.mime, m.size);
    }
    Ok(ExitCode::SUCCESS)
}
