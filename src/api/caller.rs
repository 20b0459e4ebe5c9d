//! Who is calling: the `Authorization: Bearer …` header, checked against the
//! operator token and the agent tokens.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::error::ApiError;
use crate::auth::AgentToken;
use crate::web::state::AppState;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Operator,
    Agent(String),
}

impl Caller {
    /// How the caller is named in the records it leaves (flag changes, logs).
    pub fn who(&self) -> String {
        match self {
            Caller::Operator => "api:operator".to_string(),
            Caller::Agent(name) => format!("api:agent:{name}"),
        }
    }

    /// Agents may enqueue and read; only the operator changes flags.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Agent(_) => {
                Err(ApiError::new(StatusCode::FORBIDDEN, "only the operator token may do this; agent tokens may not"))
            }
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) else {
            return Err(ApiError::unauthorized());
        };
        if token.is_empty() {
            return Err(ApiError::unauthorized());
        }
        if state.auth.verify(token) {
            return Ok(Caller::Operator);
        }
        match AgentToken::identify(state.engine.db(), token).await {
            Ok(Some(name)) => Ok(Caller::Agent(name)),
            Ok(None) => Err(ApiError::unauthorized()),
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}
