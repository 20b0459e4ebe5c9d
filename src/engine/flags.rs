//! The operator's switches: changing them, and noticing changes made by other
//! processes.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Actor;
use super::Engine;
use crate::model::{ControlFlags, FlagCommand};

/// How often a process re-reads the flags row to see changes made elsewhere
/// (another server, the CLI). Well under the 1 s the SPEC allows.
pub const FLAG_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// What a flag command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagOutcome {
    pub flags: ControlFlags,
    /// false when the flag already had the asked-for value.
    pub changed: bool,
}

impl Engine {
    /// Carries out an operator's command and tells this process's tasks at once.
    pub async fn apply_flag_command(
        &self,
        command: FlagCommand,
        actor: &Actor,
    ) -> Result<FlagOutcome, super::OperatorError> {
        actor.require(crate::model::Right::Control)?;
        let (flag, value) = command.target();
        let outcome = match self.db.flags_set(flag, value, self.clock.now(), &actor.recorded()).await? {
            Some(flags) => FlagOutcome { flags, changed: true },
            None => FlagOutcome { flags: self.db.flags_get().await?, changed: false },
        };
        self.observe_flags(outcome.flags.clone());
        if outcome.changed {
            tracing::info!(
                command = command.as_str(),
                by = actor.who(),
                reason = actor.reason(),
                "control flag changed"
            );
        }
        Ok(outcome)
    }

    /// Polls the flags row until `shutdown`, so that changes made by other
    /// processes reach this one's subscribers.
    pub fn spawn_flag_watcher(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut failing = false;
            while super::periodic::pause(FLAG_POLL_INTERVAL, &shutdown).await {
                match engine.db.flags_get().await {
                    Ok(flags) => {
                        if failing {
                            tracing::info!("flag watcher: database reachable again");
                            failing = false;
                        }
                        engine.observe_flags(flags);
                    }
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "flag watcher: cannot read the control flags");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        })
    }
}
