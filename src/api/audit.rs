//! `GET /api/v1/audit/verify`: the audit trail's chain, recomputed.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody, Json};
use crate::engine::audit::AuditError;
use crate::engine::Engine;
use crate::model::AuditCheck;

/// What the check found.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerdict {
    /// Every row matches its hash and follows the one before.
    pub intact: bool,
    /// Rows checked (when intact).
    pub rows: Option<i64>,
    /// The last row's hash (when intact).
    pub head: Option<String>,
    /// The first row that does not match, and how.
    pub broken_at: Option<i64>,
    pub why: Option<String>,
}

/// Recompute the audit trail's chain.
#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "audit",
    responses(
        (status = 200, body = AuditVerdict),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn verify(State(engine): State<Engine>, caller: Caller) -> Result<Json<AuditVerdict>, ApiError> {
    let verdict = match engine.audit_verify(&caller.actor(None)).await {
        Ok(AuditCheck::Intact { rows, head }) => {
            AuditVerdict { intact: true, rows: Some(rows), head: Some(head), broken_at: None, why: None }
        }
        Ok(AuditCheck::Broken { id, why }) => {
            AuditVerdict { intact: false, rows: None, head: None, broken_at: Some(id), why: Some(why) }
        }
        Err(AuditError::Forbidden(e)) => return Err(e.into()),
        Err(AuditError::Store(e)) => return Err(ApiError::internal(e)),
    };
    Ok(Json(verdict))
}
