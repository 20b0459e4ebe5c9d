//! What an action must be to enter the queue, at enqueue and when it is
//! edited: its key, its payload (for its action type's adapter), the stored
//! files the payload names, and the limits of the platform of the channel it
//! names. Every check says what is wrong; none writes anything.

use serde_json::{Map, Value};
use thiserror::Error;

use super::channels::MediaMap;
use super::Engine;
use crate::storage::StoreError;

/// Largest payload accepted, as serialised JSON.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Longest idempotency key, in characters.
pub const MAX_KEY_CHARS: usize = 200;

#[derive(Debug, Error)]
pub enum EnqueueError {
    #[error("invalid idempotency key: {0}")]
    Key(String),
    #[error("invalid payload: {0}")]
    Payload(String),
    #[error("unknown action type {given:?}: expected one of {known}")]
    UnknownType { given: String, known: String },
    #[error(
        "idempotency key {:?} was used by action #{} ({}), removed by retention on {}; \
         a key is never used twice, so choose a new one",
        crate::model::shown_key(&.0.idempotency_key), .0.action_id, .0.status, .0.retired_at_utc.format("%Y-%m-%d")
    )]
    KeyRetired(crate::storage::RetiredKey),
    #[error("invalid schedule: {0}")]
    Window(String),
    /// The channel's policy refuses this action type.
    #[error("denied: {0}")]
    Denied(String),
    #[error("item {index}: {error}")]
    Item { index: usize, error: Box<EnqueueError> },
    /// The actor's role does not allow this.
    #[error(transparent)]
    Forbidden(#[from] super::Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EnqueueError {
    pub(super) fn for_item(self, index: usize) -> EnqueueError {
        EnqueueError::Item { index, error: Box::new(self) }
    }

    /// The error of an enqueue of one item, as that item's own (without
    /// "item 0").
    pub(super) fn alone(self) -> EnqueueError {
        match self {
            EnqueueError::Item { index: 0, error } => *error,
            e => e,
        }
    }
}

/// Parses a payload given as text (CLI, forms): it must be a JSON object.
pub fn parse_payload(text: &str) -> Result<Map<String, Value>, EnqueueError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(EnqueueError::Payload("must be a JSON object, like {\"text\": \"…\"}".into())),
        Err(e) => Err(EnqueueError::Payload(format!("not valid JSON: {e}"))),
    }
}

/// 1 to 200 characters, none of them a control character, not only spaces.
pub fn check_key(key: &str) -> Result<(), EnqueueError> {
    let chars = key.chars().count();
    if chars == 0 || key.trim().is_empty() {
        return Err(EnqueueError::Key("it is empty".into()));
    }
    if chars > MAX_KEY_CHARS {
        return Err(EnqueueError::Key(format!("{chars} characters, at most {MAX_KEY_CHARS} allowed")));
    }
    if key.chars().any(char::is_control) {
        return Err(EnqueueError::Key(
            "it contains a control character (only printable characters are allowed)".into(),
        ));
    }
    Ok(())
}

/// The channel a payload names, if it names one.
pub fn channel_named(payload: &Map<String, Value>) -> Option<&str> {
    payload.get("channel").and_then(Value::as_str)
}

impl Engine {
    /// The checks of a payload for an action type (at enqueue, and when an
    /// action is edited); the payload as stored, and the stored files it names.
    pub(super) fn check_payload(
        &self,
        action_type: &str,
        payload: &Map<String, Value>,
    ) -> Result<(String, Vec<String>), EnqueueError> {
        let adapter = self.adapters().get(action_type).ok_or_else(|| EnqueueError::UnknownType {
            given: action_type.to_string(),
            known: self.adapters().action_types().join(", "),
        })?;
        let payload_json = serde_json::to_string(payload).expect("JSON maps serialise");
        if payload_json.len() > MAX_PAYLOAD_BYTES {
            return Err(EnqueueError::Payload(format!(
                "{} bytes, at most {MAX_PAYLOAD_BYTES} allowed",
                payload_json.len()
            )));
        }
        let media = adapter.validate_naming_media(payload).map_err(EnqueueError::Payload)?;
        Ok((payload_json, media))
    }

    /// A payload against the platform of the channel it names (a channel
    /// that does not exist yet is checked when the post is made).
    pub(super) fn check_for_channel(
        &self,
        action_type: &str,
        payload: &Map<String, Value>,
        channels: &[crate::model::Channel],
        stored: &MediaMap,
    ) -> Result<(), EnqueueError> {
        let Some(name) = channel_named(payload) else { return Ok(()) };
        let (Some(channel), Some(adapter)) =
            (channels.iter().find(|c| c.name == name), self.adapters().get(action_type))
        else {
            return Ok(());
        };
        adapter.check_for_channel(payload, channel, stored).map_err(EnqueueError::Payload)
    }
}

/// Every file in `named` is stored.
pub(super) fn check_stored(named: &[String], stored: &MediaMap) -> Result<(), EnqueueError> {
    match named.iter().find(|sha| !stored.contains_key(*sha)) {
        Some(sha) => Err(EnqueueError::Payload(format!(
            "the media {sha} is not a file uploaded to AOL (upload it first: `aol media add FILE` or POST /api/v1/media)"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(check_key("post-2026-11-26-a").is_ok());
        assert!(check_key("with spaces and ünïcode ✓").is_ok());
        assert!(check_key(&"k".repeat(200)).is_ok());
        for bad in ["", "   ", "tab\there", "new\nline"] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_key(&"k".repeat(201)).is_err());
    }

    #[test]
    fn payload_must_be_a_json_object() {
        assert!(parse_payload(r#"{"text":"hi"}"#).is_ok());
        for bad in ["[1,2]", "\"text\"", "42", "{not json", ""] {
            assert!(parse_payload(bad).is_err(), "{bad:?} accepted");
        }
    }
}
