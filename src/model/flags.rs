//! The operator's switches and their history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The operator's switches: the single row of `aol_control_flags`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ControlFlags {
    pub paused: bool,
    pub killed: bool,
    /// true = PROOF (dry run), false = REAL.
    pub proof_mode: bool,
    pub updated_at_utc: DateTime<Utc>,
    pub updated_by: String,
    pub reason: Option<String>,
    /// How many changes the row has had: of two reads, the larger is newer.
    #[serde(default)]
    pub version: i64,
}

impl ControlFlags {
    /// Whether a view of the flags holding `held` should take these
    /// instead: they differ and are at least as new. Reads of the row can
    /// land out of order, and one that began before a change must not
    /// undo it where it lands late.
    pub fn replaces(&self, held: &ControlFlags) -> bool {
        self != held && self.version >= held.version
    }
}

/// One of the three switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Paused,
    Killed,
    ProofMode,
}

impl Flag {
    /// The column in `aol_control_flags` (and the `flag` value in `aol_flag_changes`).
    pub fn column(self) -> &'static str {
        match self {
            Flag::Paused => "paused",
            Flag::Killed => "killed",
            Flag::ProofMode => "proof_mode",
        }
    }

    pub fn value_in(self, flags: &ControlFlags) -> bool {
        match self {
            Flag::Paused => flags.paused,
            Flag::Killed => flags.killed,
            Flag::ProofMode => flags.proof_mode,
        }
    }
}

/// What an operator asks for: the verbs of `aol flags …` and the dashboard buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagCommand {
    Pause,
    Resume,
    Kill,
    Revive,
    Proof,
    Real,
}

impl FlagCommand {
    pub const ALL: [FlagCommand; 6] = [
        FlagCommand::Pause,
        FlagCommand::Resume,
        FlagCommand::Kill,
        FlagCommand::Revive,
        FlagCommand::Proof,
        FlagCommand::Real,
    ];

    /// The flag this command sets, and the value it sets it to.
    pub fn target(self) -> (Flag, bool) {
        match self {
            FlagCommand::Pause => (Flag::Paused, true),
            FlagCommand::Resume => (Flag::Paused, false),
            FlagCommand::Kill => (Flag::Killed, true),
            FlagCommand::Revive => (Flag::Killed, false),
            FlagCommand::Proof => (Flag::ProofMode, true),
            FlagCommand::Real => (Flag::ProofMode, false),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FlagCommand::Pause => "pause",
            FlagCommand::Resume => "resume",
            FlagCommand::Kill => "kill",
            FlagCommand::Revive => "revive",
            FlagCommand::Proof => "proof",
            FlagCommand::Real => "real",
        }
    }
}

impl std::str::FromStr for FlagCommand {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FlagCommand::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!("unknown flag command {s:?}: expected one of pause, resume, kill, revive, proof, real")
        })
    }
}

/// One row of `aol_flag_changes`: who changed which switch, when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct FlagChange {
    pub id: i64,
    pub changed_at_utc: DateTime<Utc>,
    pub changed_by: String,
    pub flag: String,
    pub old_value: bool,
    pub new_value: bool,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_before_a_change_do_not_replace_those_read_after() {
        let before = ControlFlags {
            paused: false,
            killed: false,
            proof_mode: false,
            updated_at_utc: Utc::now(),
            updated_by: "ana".into(),
            reason: None,
            version: 4,
        };
        let after = ControlFlags { proof_mode: true, version: 5, ..before.clone() };
        assert!(after.replaces(&before));
        assert!(!before.replaces(&after), "a late read of the row before PROOF would undo it");
        assert!(!after.replaces(&after.clone()), "the same flags wake nobody");
    }
}
