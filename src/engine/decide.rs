//! An operator's decision on a post AWAITING_APPROVAL: yes (bound to the
//! exact request shown) or no. Four eyes: whoever last changed a post cannot
//! approve it, and a policy may want two approvals by different people
//! before it goes out.

use chrono::{DateTime, Utc};

use super::approval::APPROVAL_TTL;
use super::operator::OperatorError;
use super::{Actor, Engine};
use crate::model::{reason_suffix, Action, ActionStatus, LogLevel, Right};
use crate::storage::{Decided, Decision, NewLog};

impl Engine {
    /// An operator's yes to the request of an action AWAITING_APPROVAL. With
    /// `shown_sha256`, the yes holds only if the request is still the one the
    /// operator saw. The action goes back to the queue (not before its
    /// schedule) with an approval of exactly this request on this channel,
    /// valid for [`APPROVAL_TTL`].
    pub async fn approve(&self, id: i64, shown_sha256: Option<&str>, actor: &Actor) -> Result<Action, OperatorError> {
        self.decide(id, true, shown_sha256, actor).await
    }

    /// An operator's no: the action ends CANCELLED (with the reason, if given).
    pub async fn reject(&self, id: i64, actor: &Actor) -> Result<Action, OperatorError> {
        self.decide(id, false, None, actor).await
    }

    async fn decide(
        &self,
        id: i64,
        approved: bool,
        shown_sha256: Option<&str>,
        actor: &Actor,
    ) -> Result<Action, OperatorError> {
        const ALLOWED: &str = "only an action AWAITING_APPROVAL can be approved or rejected";
        actor.require(Right::Decide)?;
        let who = actor.who();
        let action = self.db().action_get(id).await?.ok_or(OperatorError::NotFound(id))?;
        if action.status() != Some(ActionStatus::AwaitingApproval) {
            return Err(OperatorError::WrongStatus { id, status: action.status, allowed: ALLOWED });
        }
        let prepared = self.request_of(&action).await;
        let sha = match (&prepared, approved) {
            (Ok(p), _) => p.sha256.clone(),
            (Err(why), true) => return Err(OperatorError::Refused(format!("action {id} cannot be approved: {why}"))),
            (Err(_), false) => "-".to_string(),
        };
        if let Some(shown) = shown_sha256.map(str::trim).filter(|s| !s.is_empty()) {
            if shown != sha {
                return Err(OperatorError::Refused(format!(
                    "the request of action {id} changed since it was shown (SHA-256 {shown}, now {sha}): look at it again"
                )));
            }
        }
        let now = self.clock().now();
        let needed = if approved { self.four_eyes(&action, &sha, who, now).await? } else { 1 };
        let expires_at_utc = now + APPROVAL_TTL;
        let channel = action.channel.clone().unwrap_or_default();
        let reason = reason_suffix(actor.reason());
        let message = if approved {
            format!(
                "approved by {}{reason}; the request with SHA-256 {sha} may go to {channel} once, until {}",
                who,
                expires_at_utc.to_rfc3339()
            )
        } else {
            format!("rejected by {who}{reason}; nothing was sent")
        };
        let decision = Decision {
            approved,
            payload_json: &action.payload_json,
            prepared_sha256: &sha,
            channel: &channel,
            decided_by: who,
            reason: actor.reason(),
            expires_at_utc,
            approvals_needed: needed,
        };
        let event = if approved { "approved" } else { "rejected" };
        let log = NewLog::new(LogLevel::Info, message).event(event, Some(who)).with("sha256", sha.clone());
        let held = NewLog::new(
            LogLevel::Info,
            format!(
                "approved by {who}{reason} (1 of {needed}); the request with SHA-256 {sha} waits for another \
                 person's approval"
            ),
        )
        .event("approved", Some(who))
        .with("sha256", sha.clone())
        .with("of", needed);
        match self.db().action_decide(id, &decision, now, &log, &held).await? {
            Some(Decided::Done(action)) => {
                tracing::info!(action_id = id, approved, by = %who, sha256 = %sha, "approval decided");
                Ok(action)
            }
            Some(Decided::Held(action)) => {
                tracing::info!(action_id = id, by = %who, sha256 = %sha, needed, "approval recorded, another needed");
                Ok(action)
            }
            None => match self.db().action_get(id).await? {
                Some(a) if a.status() == Some(ActionStatus::AwaitingApproval) => Err(OperatorError::Refused(format!(
                    "action {id} was edited while it was being decided: look at its request again"
                ))),
                _ => Err(self.refusal(id, ALLOWED).await),
            },
        }
    }

    /// How many approvals `action` needs, or why `who` may not give one:
    /// they changed it last, or their approval of this request still holds.
    async fn four_eyes(&self, action: &Action, sha: &str, who: &str, now: DateTime<Utc>) -> Result<i64, OperatorError> {
        let id = action.id;
        if action.edited_by.as_deref() == Some(who) {
            return Err(OperatorError::Refused(format!(
                "four eyes: {who} changed action {id} last, so someone else must approve it"
            )));
        }
        let needed = match &action.channel {
            Some(channel) => self.policy_of(channel, &action.action_type).await?.1.map_or(1, |r| r.approvals),
            None => 1,
        };
        let approvals = self.db().approvals_for(id).await?;
        let mine = approvals.iter().any(|a| a.decided_by == who && a.stands_for(sha) && a.expires_at_utc > now);
        if mine {
            return Err(OperatorError::Refused(format!(
                "{who} approved action {id} already; it needs {needed} approvals by different people"
            )));
        }
        Ok(needed)
    }
}
