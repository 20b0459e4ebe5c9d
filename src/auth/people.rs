//! Named people (`aol operator add NAME --role …`): each has a role, an API
//! token shown once, and a dashboard password (argon2id). Every change here
//! needs the `Manage` right, checked through the engine's door.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use thiserror::Error;

use super::{digest, new_token};
use crate::engine::{Actor, Engine, Forbidden};
use crate::model::{Principal, Right, Role};
use crate::storage::StoreError;

const MAX_NAME_CHARS: usize = 64;
/// Shortest dashboard password (long passphrases are welcome).
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;

/// A person, as listed (their token and password are never shown again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub role: Role,
    pub has_password: bool,
    pub created_at_utc: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Error)]
pub enum PeopleError {
    #[error("invalid name {0:?}: 1 to 64 lowercase letters, digits, '-', '_' or '.'")]
    Name(String),
    #[error("a person named {0:?} exists already")]
    Exists(String),
    #[error("no person named {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Password(String),
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Names are lowercase and hold no ':' (which marks agents and AOL itself in
/// the records), so a recorded name is always a person.
fn check_name(name: &str) -> Result<(), PeopleError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(PeopleError::Name(name.to_string()))
    }
}

fn role_of(stored: &str) -> Result<Role, StoreError> {
    stored.parse().map_err(|e| StoreError::Corrupt(format!("aol_people.role: {e}")))
}

/// Adds `name` with `role`; returns their API token (the only time it is shown).
pub async fn add(engine: &Engine, actor: &Actor, name: &str, role: Role) -> Result<String, PeopleError> {
    actor.require(Right::Manage)?;
    check_name(name)?;
    let token = new_token();
    let now = engine.clock().now();
    let hash = hex::encode(digest(&token));
    if !engine.db().person_insert(name, role.as_str(), &hash, now, actor.who()).await? {
        return Err(PeopleError::Exists(name.to_string()));
    }
    tracing::info!(person = name, %role, by = actor.who(), "person added");
    engine.audit(actor.who(), None, "person_added", serde_json::json!({"name": name, "role": role})).await;
    Ok(token)
}

/// Sets `name`'s dashboard password; their open sessions end.
pub async fn set_password(engine: &Engine, actor: &Actor, name: &str, password: &str) -> Result<(), PeopleError> {
    actor.require(Right::Manage)?;
    check_name(name)?;
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(PeopleError::Password(format!(
            "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; this one has {chars}"
        )));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| PeopleError::Password(format!("hashing failed: {e}")))?
    .map_err(|e| PeopleError::Password(format!("hashing failed: {e}")))?;
    if !engine.db().person_set_password(name, &hash, engine.clock().now()).await? {
        return Err(PeopleError::NotFound(name.to_string()));
    }
    tracing::info!(person = name, by = actor.who(), "password set");
    engine.audit(actor.who(), None, "password_set", serde_json::json!({"name": name})).await;
    Ok(())
}

/// Gives `name` another role; it holds at their next request.
pub async fn set_role(engine: &Engine, actor: &Actor, name: &str, role: Role) -> Result<(), PeopleError> {
    actor.require(Right::Manage)?;
    check_name(name)?;
    if !engine.db().person_set_role(name, role.as_str(), engine.clock().now()).await? {
        return Err(PeopleError::NotFound(name.to_string()));
    }
    tracing::info!(person = name, %role, by = actor.who(), "role changed");
    engine.audit(actor.who(), None, "role_changed", serde_json::json!({"name": name, "role": role})).await;
    Ok(())
}

/// Removes `name`: their token stops working and their sessions end.
pub async fn remove(engine: &Engine, actor: &Actor, name: &str) -> Result<(), PeopleError> {
    actor.require(Right::Manage)?;
    check_name(name)?;
    if !engine.db().person_delete(name).await? {
        return Err(PeopleError::NotFound(name.to_string()));
    }
    tracing::info!(person = name, by = actor.who(), "person removed");
    engine.audit(actor.who(), None, "person_removed", serde_json::json!({"name": name})).await;
    Ok(())
}

/// Everyone, by name.
pub async fn list(engine: &Engine, actor: &Actor) -> Result<Vec<Person>, PeopleError> {
    actor.require(Right::View)?;
    let rows = engine.db().people().await?;
    let mut people = Vec::with_capacity(rows.len());
    for r in rows {
        let role = role_of(&r.role)?;
        people.push(Person {
            name: r.name,
            role,
            has_password: r.has_password,
            created_at_utc: r.created_at_utc,
            created_by: r.created_by,
        });
    }
    Ok(people)
}

/// The person whose API token `candidate` is, if any (looked up by hash).
pub async fn identify(engine: &Engine, candidate: &str) -> Result<Option<Principal>, StoreError> {
    let Some((name, role)) = engine.db().person_by_token(&hex::encode(digest(candidate))).await? else {
        return Ok(None);
    };
    Ok(Some(Principal::Person { name, role: role_of(&role)? }))
}

/// The person, if `password` is theirs. A name without a person or without
/// a password costs the same hashing time as a wrong password, so timing
/// does not tell which names exist.
pub async fn check_password(engine: &Engine, name: &str, password: &str) -> Result<Option<Principal>, StoreError> {
    let stored = match check_name(name) {
        Ok(()) => engine.db().person_password(name).await?,
        Err(_) => None,
    };
    let (role, hash) = match stored {
        Some((role, Some(hash))) => (Some(role), hash),
        _ => (None, DUMMY_HASH.to_string()),
    };
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false);
    match role {
        Some(role) if matches => Ok(Some(Principal::Person { name: name.to_string(), role: role_of(&role)? })),
        _ => Ok(None),
    }
}

/// The argon2id hash of a password nobody has: what an unknown name is checked against.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Aa9H+Qz1m0lQe6m0lZ2oZ5b0sJxR3q9cW1hUe5d3m8Y";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_without_colons() {
        assert!(check_name("ana.lopez-2").is_ok());
        for bad in ["", "Ana", "agent:bot", "a b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_dummy_hash_parses_and_matches_nothing_typed() {
        let h = PasswordHash::new(DUMMY_HASH).unwrap();
        assert!(Argon2::default().verify_password(b"", &h).is_err());
        assert!(Argon2::default().verify_password(b"password1234", &h).is_err());
    }
}
