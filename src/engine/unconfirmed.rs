//! UNCONFIRMED actions: the request may have reached the platform and the
//! answer was lost. Where the platform lets AOL read the post back (Bluesky,
//! by its record key) the daemon checks and settles them itself; the others
//! wait for the operator, who says "it was posted" or "send it again".

use chrono::TimeDelta;

use super::channels::Found;
use super::operator::OperatorError;
use super::Engine;
use crate::model::{Action, LogLevel};
use crate::storage::{NewLog, Resolution, StoreError};

/// Settled per tick at most (each is a request to a platform).
pub const RECONCILE_PER_TICK: i64 = 3;
/// When the platform could not be asked: look again after this.
const RECHECK_AFTER_TROUBLE: TimeDelta = TimeDelta::seconds(60);
/// When AOL cannot read the post back: the operator decides; look rarely.
const RECHECK_UNREADABLE: TimeDelta = TimeDelta::hours(6);

impl Engine {
    /// Reads back the UNCONFIRMED actions that are due for a check and
    /// settles those the platform can answer for; how many were settled.
    pub async fn reconcile_unconfirmed(&self) -> Result<usize, StoreError> {
        let now = self.clock().now();
        let mut settled = 0;
        for action in self.db().actions_unconfirmed_due(now, RECONCILE_PER_TICK).await? {
            let found = match self.read_back(&action).await? {
                Some(found) => found,
                None => {
                    self.db().action_recheck_at(action.id, now + RECHECK_UNREADABLE).await?;
                    continue;
                }
            };
            let (resolution, message) = match found {
                Found::Posted(remote) => (
                    Resolution::Posted { remote_id: Some(remote.id.clone()), remote_url: remote.url },
                    format!("reconciled: the post is on the platform ({}), so it was posted once", remote.id),
                ),
                Found::Absent => (
                    Resolution::SendAgain,
                    "reconciled: the post is not on the platform; sending it again writes the same record key, \
                     so it cannot post twice"
                        .to_string(),
                ),
                Found::Incomplete { present, total } => (
                    Resolution::SendAgain,
                    format!(
                        "reconciled: {present} of the thread's {total} posts are on the platform; sending it again \
                         writes the same record keys, so only the missing ones are made"
                    ),
                ),
                Found::Unknown(e) => {
                    tracing::warn!(action_id = action.id, error = %e, "cannot read an UNCONFIRMED post back; trying later");
                    self.db().action_recheck_at(action.id, now + RECHECK_AFTER_TROUBLE).await?;
                    continue;
                }
            };
            let log = NewLog::new(LogLevel::Warning, message).event("reconciled", None);
            if self.db().action_resolve(action.id, &resolution, now, &log).await?.is_some() {
                tracing::info!(action_id = action.id, ?resolution, "UNCONFIRMED action reconciled");
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// What the platform says about `action`'s post; `None` when it cannot
    /// be read back (no channel, or a platform that does not allow it).
    async fn read_back(&self, action: &Action) -> Result<Option<Found>, StoreError> {
        let Some(name) = action.channel.as_deref() else { return Ok(None) };
        let Some(channel) = self.db().channel_get(name).await? else { return Ok(None) };
        let Ok(platform) = self.platforms().of(&channel) else { return Ok(None) };
        let Ok(prepared) = self.build_request(action, super::adapters::Lookups::Allowed).await else { return Ok(None) };
        Ok(platform.find(&channel, &prepared).await)
    }

    /// An operator settles an UNCONFIRMED action: it was posted (optionally
    /// where), or it should be sent again. Recorded with who and why.
    pub async fn resolve_unconfirmed(
        &self,
        id: i64,
        resolution: &Resolution,
        actor: &super::Actor,
    ) -> Result<Action, OperatorError> {
        actor.require(crate::model::Right::Decide)?;
        let (who, reason) = (actor.who(), actor.reason());
        if let Resolution::Posted { remote_url: Some(url), .. } = resolution {
            if !crate::model::is_web_link(url) {
                return Err(OperatorError::Invalid(format!("{url:?} is not a link to the post (http:// or https://)")));
            }
        }
        let what = match resolution {
            Resolution::Posted { remote_url: Some(url), .. } => format!("marked as posted ({url})"),
            Resolution::Posted { .. } => "marked as posted".to_string(),
            Resolution::SendAgain => "sent again".to_string(),
        };
        let why = crate::model::reason_suffix(reason);
        let log = NewLog::new(LogLevel::Warning, format!("{what} by {who}{why}")).event("settled", Some(who));
        match self.db().action_resolve(id, resolution, self.clock().now(), &log).await? {
            Some(action) => {
                tracing::info!(action_id = id, by = %who, "{what}");
                Ok(action)
            }
            None => Err(self.refusal(id, "only UNCONFIRMED actions are resolved this way").await),
        }
    }
}
