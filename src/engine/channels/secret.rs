//! A channel's secret (app password, access token, signing key): read from
//! its env var or file when a request is about to be sent, held as a
//! `SecretString` (its `Debug` prints a redaction), never stored, logged or
//! returned.

use secrecy::SecretString;
use thiserror::Error;

use crate::model::Channel;

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
}

/// The channel's secret, as it is now (a changed file or env var is seen at
/// the next send). Surrounding whitespace (a file's last newline) is dropped.
pub fn resolve_secret(channel: &Channel) -> Result<SecretString, SecretError> {
    let text = match (&channel.secret_env, &channel.secret_file) {
        (Some(var), _) => std::env::var(var).map_err(|_| SecretError::EnvMissing(var.clone(), channel.name.clone()))?,
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| SecretError::File(path.clone(), channel.name.clone(), e.kind().to_string()))?,
        (None, None) => return Err(SecretError::None(channel.name.clone())),
    };
    let text = text.trim();
    if text.is_empty() {
        return match (&channel.secret_env, &channel.secret_file) {
            (Some(var), _) => Err(SecretError::EnvMissing(var.clone(), channel.name.clone())),
            (None, path) => Err(SecretError::File(
                path.clone().unwrap_or_default(),
                channel.name.clone(),
                "the file is empty".into(),
            )),
        };
    }
    Ok(SecretString::from(text.to_string()))
}
