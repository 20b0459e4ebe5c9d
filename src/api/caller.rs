//! Who is calling: the `Authorization: Bearer …` header, checked against the
//! operator token, the people's tokens and the agents' tokens. What the
//! caller may do is the engine's rule; a refusal is 403 with its reason.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::error::ApiError;
use crate::engine::{Actor, Forbidden};
use crate::model::Principal;
use crate::web::state::AppState;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(pub Principal);

impl Caller {
    /// How the caller is named in the records it leaves.
    pub fn who(&self) -> String {
        self.0.label()
    }

    /// The caller as the engine's actor, with a reason if one was given.
    pub fn actor(&self, reason: Option<&str>) -> Actor {
        Actor::new(self.0.clone()).because(reason)
    }
}

impl From<Forbidden> for ApiError {
    fn from(e: Forbidden) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, e.to_string())
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) else {
            return Err(ApiError::unauthorized());
        };
        match crate::auth::identify(&state.engine, Some(&state.auth), token).await {
            Ok(Some(who)) => Ok(Caller(who)),
            Ok(None) => Err(ApiError::unauthorized()),
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}
