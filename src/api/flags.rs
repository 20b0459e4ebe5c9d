//! `/api/v1/flags`: read the operator's switches; change them (operator token only).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody, Json};
use crate::engine::Engine;
use crate::model::{ControlFlags, FlagCommand};

/// Longest reason kept with a change.
const MAX_REASON_CHARS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mode {
    /// Dry run: actions write artifacts, nothing is posted.
    Proof,
    /// Actions reach the outside world.
    Real,
}

/// The switches, as the API shows them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FlagsView {
    pub paused: bool,
    pub killed: bool,
    pub mode: Mode,
    pub updated_at_utc: chrono::DateTime<chrono::Utc>,
    pub updated_by: String,
    pub reason: Option<String>,
}

impl From<ControlFlags> for FlagsView {
    fn from(f: ControlFlags) -> FlagsView {
        FlagsView {
            paused: f.paused,
            killed: f.killed,
            mode: if f.proof_mode { Mode::Proof } else { Mode::Real },
            updated_at_utc: f.updated_at_utc,
            updated_by: f.updated_by,
            reason: f.reason,
        }
    }
}

/// The switches to change; absent ones stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagsChange {
    pub paused: Option<bool>,
    pub killed: Option<bool>,
    pub mode: Option<Mode>,
    /// Must be true to switch to REAL (as the dashboard asks before it does).
    #[serde(default)]
    pub confirm_real: bool,
    /// Why, kept in the record of changes (at most 500 characters).
    pub reason: Option<String>,
}

impl FlagsChange {
    /// The commands to carry out, the ones that make AOL safer first: if a
    /// later one fails, the earlier ones have not made things riskier.
    fn commands(&self) -> Vec<FlagCommand> {
        let mut safer = Vec::new();
        let mut riskier = Vec::new();
        let mut add = |c: FlagCommand, is_safer: bool| if is_safer { safer.push(c) } else { riskier.push(c) };
        match self.killed {
            Some(true) => add(FlagCommand::Kill, true),
            Some(false) => add(FlagCommand::Revive, false),
            None => {}
        }
        match self.paused {
            Some(true) => add(FlagCommand::Pause, true),
            Some(false) => add(FlagCommand::Resume, false),
            None => {}
        }
        match self.mode {
            Some(Mode::Proof) => add(FlagCommand::Proof, true),
            Some(Mode::Real) => add(FlagCommand::Real, false),
            None => {}
        }
        safer.extend(riskier);
        safer
    }
}

/// The operator's switches.
#[utoipa::path(
    get,
    path = "/flags",
    tag = "flags",
    responses(
        (status = 200, body = FlagsView),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_flags(State(engine): State<Engine>, _caller: Caller) -> Result<Json<FlagsView>, ApiError> {
    let flags = engine.db().flags_get().await.map_err(ApiError::internal)?;
    Ok(Json(flags.into()))
}

/// Change switches: pause/resume, kill/revive, PROOF/REAL. Each change is
/// recorded with who, when and the reason.
#[utoipa::path(
    put,
    path = "/flags",
    tag = "flags",
    request_body = FlagsChange,
    responses(
        (status = 200, description = "The switches after the change", body = FlagsView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller's role may not change flags (an admin's may)", body = ErrorBody),
        (status = 415, description = "Not sent as JSON", body = ErrorBody),
        (status = 422, description = "Nothing to change, REAL without confirm_real, a wrong type or field, \
            or a reason too long", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_flags(
    State(engine): State<Engine>,
    caller: Caller,
    Json(change): Json<FlagsChange>,
) -> Result<Json<FlagsView>, ApiError> {
    let commands = change.commands();
    if commands.is_empty() {
        return Err(ApiError::unprocessable("nothing to change: give paused, killed or mode"));
    }
    if commands.contains(&FlagCommand::Real) && !change.confirm_real {
        return Err(ApiError::unprocessable("switching to REAL must be confirmed with \"confirm_real\": true"));
    }
    let actor = caller.actor(change.reason.as_deref());
    actor.require(crate::model::Right::Control)?;
    if actor.reason().is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(ApiError::unprocessable("the reason is longer than 500 characters"));
    }
    let mut flags = None;
    for command in commands {
        flags = Some(engine.apply_flag_command(command, &actor).await.map_err(super::decisions::operator_error)?.flags);
    }
    Ok(Json(flags.expect("at least one command").into()))
}
