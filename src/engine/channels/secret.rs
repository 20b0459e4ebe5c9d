//! A channel's secret (app password, access token, signing key): read from
//! its env var or file when a request is about to be sent, held as a
//! `SecretString` (its `Debug` prints a redaction), never stored, logged or
//! returned. A secret travels to the channel's URL, so it may come only from
//! places meant for it: an env var named `AOL_SECRET_*`, or a file in the one
//! secrets folder (AOL_SECRETS_DIR). Nothing else (`DATABASE_URL`,
//! `/proc/self/environ`) can be named as a channel's secret.

use std::path::Path;

use secrecy::SecretString;
use thiserror::Error;

use crate::model::Channel;

/// The only env vars a channel's secret may be read from.
pub const SECRET_ENV_PREFIX: &str = "AOL_SECRET_";

/// Why a secret could not be read. The message names where it was looked
/// for, never any of its content.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the env var {0} that holds channel {1:?}'s secret is not set (or is empty) in the server's environment")]
    EnvMissing(String, String),
    #[error("cannot read channel {1:?}'s secret from {0}: {2}")]
    File(String, String, String),
    #[error("channel {0:?} has no secret configured")]
    None(String),
    /// A place no secret may come from (a channel stored before the rule).
    #[error(
        "channel {1:?}'s secret is to come from {0}, which AOL does not read: a secret comes from an env var named \
         AOL_SECRET_* or a file in AOL_SECRETS_DIR; remove the channel and add it again with one of those"
    )]
    NotAllowed(String, String),
}

/// An env var a channel may name: `AOL_SECRET_` and then letters, digits, '_'.
pub fn check_secret_env(var: &str) -> Result<(), String> {
    let rest = var.strip_prefix(SECRET_ENV_PREFIX).unwrap_or_default();
    let valid = var.len() <= 128 && !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid env var name {var:?}: a channel's secret comes from an env var named {SECRET_ENV_PREFIX}… \
             (letters, digits and '_'), e.g. {SECRET_ENV_PREFIX}BRAND_BSKY"
        ))
    }
}

/// A file a channel may name: a plain file name in AOL_SECRETS_DIR.
pub fn check_secret_file(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid secret file {name:?}: give the name of a file in AOL_SECRETS_DIR (letters, digits, '.', '-', \
             '_'), not a path"
        ))
    }
}

/// The channel's secret, as it is now (a changed file or env var is seen at
/// the next send), from `secrets_dir` for a file. Surrounding whitespace (a
/// file's last newline) is dropped.
pub fn resolve_secret(channel: &Channel, secrets_dir: Option<&Path>) -> Result<SecretString, SecretError> {
    let name = || channel.name.clone();
    let text = match (&channel.secret_env, &channel.secret_file) {
        (Some(var), _) => {
            check_secret_env(var).map_err(|_| SecretError::NotAllowed(format!("the env var {var}"), name()))?;
            std::env::var(var).map_err(|_| SecretError::EnvMissing(var.clone(), name()))?
        }
        (None, Some(file)) => read_secret_file(file, secrets_dir, &channel.name)?,
        (None, None) => return Err(SecretError::None(name())),
    };
    let text = text.trim();
    if text.is_empty() {
        return match (&channel.secret_env, &channel.secret_file) {
            (Some(var), _) => Err(SecretError::EnvMissing(var.clone(), name())),
            (None, file) => {
                Err(SecretError::File(file.clone().unwrap_or_default(), name(), "the file is empty".into()))
            }
        };
    }
    Ok(SecretString::from(text.to_string()))
}

/// `file` inside `dir`, read; a link that leads out of the folder is refused.
fn read_secret_file(file: &str, dir: Option<&Path>, channel: &str) -> Result<String, SecretError> {
    let not_allowed = || SecretError::NotAllowed(format!("the file {file}"), channel.to_string());
    let Some(dir) = dir else {
        return Err(SecretError::File(
            file.to_string(),
            channel.to_string(),
            "AOL_SECRETS_DIR is not set, so no secret file is read".into(),
        ));
    };
    // A channel stored before the rule may hold an absolute path: it is
    // read only if it lies in the folder.
    let path = if Path::new(file).is_absolute() {
        Path::new(file).to_path_buf()
    } else {
        check_secret_file(file).map_err(|_| not_allowed())?;
        dir.join(file)
    };
    let io = |e: std::io::Error| SecretError::File(file.to_string(), channel.to_string(), e.kind().to_string());
    let folder = std::fs::canonicalize(dir).map_err(io)?;
    let real = std::fs::canonicalize(&path).map_err(io)?;
    if real.parent() != Some(folder.as_path()) {
        return Err(not_allowed());
    }
    std::fs::read_to_string(&real).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixed_env_vars_and_plain_file_names() {
        assert!(check_secret_env("AOL_SECRET_BRAND").is_ok());
        for bad in ["DATABASE_URL", "AOL_SECRET_", "HOME", "AOL_SECRET_A-B", "aol_secret_x"] {
            assert!(check_secret_env(bad).is_err(), "{bad}");
        }
        assert!(check_secret_file("brand-bsky.txt").is_ok());
        for bad in ["/proc/self/environ", "../x", ".hidden", "a/b", ""] {
            assert!(check_secret_file(bad).is_err(), "{bad}");
        }
    }
}
