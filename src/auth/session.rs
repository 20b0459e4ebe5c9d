//! The dashboard's sessions: a random value in the browser's cookie, its
//! SHA-256 in `aol_sessions`. A session ends when its browser signs out,
//! when it has been idle for [`IDLE`], after [`LIFETIME`] in any case, when
//! its person is removed or gets a new password, and (for a session opened
//! with the operator token) when that token changes.

use chrono::TimeDelta;

use super::{digest, digest_bytes, new_token, OperatorAuth};
use crate::engine::Engine;
use crate::model::Principal;
use crate::storage::StoreError;

/// A session unused this long has ended.
pub const IDLE: TimeDelta = TimeDelta::hours(12);
/// A session ends this long after sign-in, used or not.
pub const LIFETIME: TimeDelta = TimeDelta::days(7);
/// Use is written down at most this often per session (not at every request).
const SEEN_EVERY: TimeDelta = TimeDelta::minutes(1);

/// Which operator token a session was opened with, as stored (a new token
/// ends the sessions of the old one).
fn token_check(auth: &OperatorAuth) -> String {
    let mut input = b"aol-session-token-v2:".to_vec();
    input.extend_from_slice(auth.sha256());
    hex::encode(digest_bytes(&input))
}

/// Opens a session for `who` (a person, or the operator token) and returns
/// the cookie's value: shown to this browser only, never stored.
pub async fn open(engine: &Engine, auth: &OperatorAuth, who: &Principal) -> Result<String, StoreError> {
    let value = new_token();
    let now = engine.clock().now();
    let (person, check) = match who {
        Principal::Person { name, .. } => (Some(name.as_str()), None),
        _ => (None, Some(token_check(auth))),
    };
    engine.db().sessions_ended_delete(now, now - IDLE).await?;
    engine.db().session_insert(&hex::encode(digest(&value)), person, check.as_deref(), now, now + LIFETIME).await?;
    Ok(value)
}

/// Who holds the session `value`, if it is open.
pub async fn principal(engine: &Engine, auth: &OperatorAuth, value: &str) -> Result<Option<Principal>, StoreError> {
    let id = hex::encode(digest(value));
    let Some(row) = engine.db().session_get(&id).await? else { return Ok(None) };
    let now = engine.clock().now();
    if now >= row.expires_at_utc || now >= row.last_seen_at_utc + IDLE {
        engine.db().session_delete(&id).await?;
        return Ok(None);
    }
    let who = match (row.person, row.role, row.token_check) {
        (Some(name), Some(role), _) => match role.parse() {
            Ok(role) => Principal::Person { name, role },
            Err(e) => return Err(StoreError::Corrupt(format!("aol_people.role: {e}"))),
        },
        (None, _, Some(check)) if check == token_check(auth) => Principal::OperatorToken,
        _ => return Ok(None),
    };
    if now >= row.last_seen_at_utc + SEEN_EVERY {
        engine.db().session_seen(&id, now).await?;
    }
    Ok(Some(who))
}

/// Ends the session `value` (signing out).
pub async fn close(engine: &Engine, value: &str) -> Result<(), StoreError> {
    engine.db().session_delete(&hex::encode(digest(value))).await
}
