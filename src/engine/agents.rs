//! What scopes an agent: it enqueues only to its channels (`aol token
//! agent-add NAME --channels a,b`), sees and edits only the actions it
//! enqueued (anyone else's is "no such action"), and its idempotency keys
//! live in its own namespace (`model::scoped_key`), so it can never take or
//! find another's key. People share one namespace: a team.

use super::checks::EnqueueError;
use super::operator::OperatorError;
use super::{Actor, Engine};
use crate::model::{Action, ActionFilter, Principal};
use crate::storage::StoreError;

impl Engine {
    /// Action `id`, if `actor` may see it (an agent: only its own).
    pub async fn action_for(&self, actor: &Actor, id: i64) -> Result<Option<Action>, StoreError> {
        let action = self.db().action_get(id).await?;
        Ok(action.filter(|a| visible(actor.by(), a)))
    }

    /// A page of actions, as `actor` may see them; an agent's key filter
    /// looks in its own namespace.
    pub async fn actions_for(
        &self,
        actor: &Actor,
        filter: &ActionFilter,
        limit: i64,
    ) -> Result<Vec<Action>, StoreError> {
        let mut filter = filter.clone();
        if let Some(agent) = actor.by().agent() {
            filter.enqueued_by = Some(actor.who().to_string());
            filter.key = filter.key.map(|k| crate::model::scoped_key(Some(agent), &k));
        }
        self.db().actions_page(&filter, limit).await
    }

    /// The channels `actor` may post to, as the dashboard shows them (an
    /// agent given channels: those only).
    pub async fn channels_for(&self, actor: &Actor) -> Result<Vec<crate::model::ChannelView>, OperatorError> {
        actor.require(crate::model::Right::View)?;
        let mut views = self.channel_views().await?;
        if let Some(agent) = actor.by().agent() {
            let allowed = self.db().agent_channels(agent).await?;
            if !allowed.is_empty() {
                views.retain(|v| allowed.contains(&v.channel.name));
            }
        }
        Ok(views)
    }

    /// Ok when `actor` may post to `channel` (agents: their channels only).
    pub(super) async fn check_agent_channels(
        &self,
        actor: &Actor,
        channels: &[Option<&str>],
    ) -> Result<(), EnqueueError> {
        let Some(agent) = actor.by().agent() else { return Ok(()) };
        let allowed = self.db().agent_channels(agent).await?;
        if allowed.is_empty() {
            return Ok(());
        }
        for (i, channel) in channels.iter().enumerate() {
            if let Some(channel) = channel.filter(|c| !allowed.iter().any(|a| a == c)) {
                let e = EnqueueError::Denied(format!(
                    "agent {agent} may post only to {} (not to {channel})",
                    allowed.join(", ")
                ));
                return Err(e.for_item(i));
            }
        }
        Ok(())
    }

    /// Action `id` for a change by `actor`: not found unless they may see it.
    pub(super) async fn action_to_change(&self, actor: &Actor, id: i64) -> Result<Action, OperatorError> {
        self.action_for(actor, id).await?.ok_or(OperatorError::NotFound(id))
    }
}

/// Whether `by` may see `action`: everyone but an agent sees every action.
fn visible(by: &Principal, action: &Action) -> bool {
    match by {
        Principal::Agent { .. } => action.enqueued_by.as_deref() == Some(by.label().as_str()),
        _ => true,
    }
}
