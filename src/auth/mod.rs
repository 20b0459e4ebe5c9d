//! Who is calling: the operator token (the break-glass admin), named people
//! (their API token, or their dashboard session), agent tokens. What each may
//! do is the engine's rule (`engine::access`); this module only says who.
//! Only hashes of tokens, sessions and passwords are stored.

mod agent;
mod operator;
pub mod people;
pub mod session;
mod sign_in;

pub use agent::{AgentToken, AgentTokenError};
pub use operator::{OperatorAuth, TokenOrigin};
pub use people::{PeopleError, Person};
pub use sign_in::SignInLimit;

use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::model::Principal;
use crate::storage::StoreError;

/// Who holds `token`: the operator token (when `operator` is known), a
/// person's or an agent's token; `None` if it is none of them.
pub async fn identify(
    engine: &Engine,
    operator: Option<&OperatorAuth>,
    token: &str,
) -> Result<Option<Principal>, StoreError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    if operator.is_some_and(|auth| auth.verify(token)) {
        return Ok(Some(Principal::OperatorToken));
    }
    if let Some(person) = people::identify(engine, token).await? {
        return Ok(Some(person));
    }
    Ok(AgentToken::identify(engine.db(), token).await?.map(|name| Principal::Agent { name }))
}

fn digest(token: &str) -> [u8; 32] {
    digest_bytes(token.as_bytes())
}

fn digest_bytes(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// 256 random bits, as 64 hex characters.
fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}
