//! Who may do what. The operator token allows everything; agent tokens
//! (`aol token agent-add NAME`) may enqueue and read, not change flags. Only
//! SHA-256 hashes of tokens are stored, in `aol_secrets`.

mod agent;
mod operator;
mod sign_in;

pub use agent::{AgentToken, AgentTokenError};
pub use operator::{OperatorAuth, TokenOrigin};
pub use sign_in::SignInLimit;

use sha2::{Digest, Sha256};

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
