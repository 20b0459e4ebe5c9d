//! Who decides whether a REAL post goes out: each channel's policy per action
//! type (`auto`, `require_approval`, `deny`; REAL posts need approval unless
//! a policy says otherwise, PROOF runs never do), and the operator's
//! approvals, each bound to the exact request shown (its SHA-256) and to the
//! channel, used once, and expiring.

use chrono::TimeDelta;
use serde_json::{Map, Value};

use super::adapters::Lookups;
use super::channels::{ChannelError, Prepared};
use super::checks::{channel_named, check_stored, EnqueueError};
use super::operator::OperatorError;
use super::Actor;
use super::Engine;
use crate::model::{
    reason_suffix, Action, ActionFilter, ActionStatus, InboxItem, LogLevel, Policy, PolicyRow, RequestPreview, Right,
};
use crate::storage::{Edit, NewLog, StoreError};

/// How long an approval holds, and how long a request for one waits for an
/// answer, before the action ends EXPIRED.
pub const APPROVAL_TTL: TimeDelta = TimeDelta::hours(24);

/// How long before a wait for approval runs out people are told (the
/// `approval_expiring` notification).
pub const APPROVAL_WARNING: TimeDelta = TimeDelta::hours(2);

/// How an action enters the queue: its first status and the policy it is under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// PENDING, or AWAITING_APPROVAL (REAL mode, and its policy wants a yes).
    pub status: ActionStatus,
    /// `None`: the action names no channel.
    pub policy: Option<Policy>,
}

impl Engine {
    /// The policy of `channel` for `action_type`: the one set, or the default.
    pub async fn policy_of(&self, channel: &str, action_type: &str) -> Result<(Policy, Option<PolicyRow>), StoreError> {
        let row = self.db().policy_get(channel, action_type).await?;
        let policy = row.as_ref().and_then(|r| r.mode.parse().ok()).unwrap_or(Policy::DEFAULT);
        Ok((policy, row))
    }

    /// Sets the policy of `channel` for `action_type` (the channel may be
    /// added later; the action type must be one AOL knows).
    pub async fn policy_set(
        &self,
        channel: &str,
        action_type: &str,
        policy: Policy,
        actor: &Actor,
    ) -> Result<PolicyRow, ChannelError> {
        self.policy_set_with(channel, action_type, policy, None, actor).await
    }

    /// [`Engine::policy_set`], and how many approvals by different people a
    /// post needs (1 or 2; `None`: as before).
    pub async fn policy_set_with(
        &self,
        channel: &str,
        action_type: &str,
        policy: Policy,
        approvals: Option<i64>,
        actor: &Actor,
    ) -> Result<PolicyRow, ChannelError> {
        actor.require(Right::Configure)?;
        if let Some(n) = approvals.filter(|n| !(1..=2).contains(n)) {
            return Err(ChannelError::Invalid(format!("invalid number of approvals {n}: 1 or 2")));
        }
        super::channels::check_channel_name(channel)?;
        if self.adapters().get(action_type).is_none() {
            return Err(ChannelError::Invalid(format!(
                "unknown action type {action_type:?}: expected one of {}",
                self.adapters().action_types().join(", ")
            )));
        }
        let approvals = match approvals {
            Some(n) => n,
            None => self.policy_of(channel, action_type).await?.1.map_or(1, |r| r.approvals),
        };
        let now = self.clock().now();
        let row = self.db().policy_set(channel, action_type, policy, approvals, now, &actor.recorded()).await?;
        tracing::info!(
            channel,
            action_type,
            policy = policy.as_str(),
            approvals,
            by = actor.who(),
            reason = actor.reason(),
            "policy set"
        );
        Ok(row)
    }

    /// How an action of `action_type` on `channel` enters the queue now, or
    /// why it may not (`deny`). A channel that does not exist (in
    /// `channels`) has no request to approve: its post goes to the queue,
    /// and fails there as "real run unconfigured" if REAL comes to send it.
    pub(super) async fn admit(
        &self,
        action_type: &str,
        channel: Option<&str>,
        channels: &[crate::model::Channel],
    ) -> Result<Admission, EnqueueError> {
        let Some(channel) = channel else {
            return Ok(Admission { status: ActionStatus::Pending, policy: None });
        };
        let exists = channels.iter().any(|c| c.name == channel);
        let (policy, row) = self.policy_of(channel, action_type).await?;
        let status = match policy {
            Policy::Deny => return Err(EnqueueError::Denied(denial(channel, action_type, row.as_ref()))),
            Policy::RequireApproval if exists && !self.flags_now().proof_mode => ActionStatus::AwaitingApproval,
            Policy::RequireApproval | Policy::Auto => ActionStatus::Pending,
        };
        Ok(Admission { status, policy: Some(policy) })
    }

    /// The exact requests a REAL attempt would send for `action` now (what an
    /// approval binds to), or why there are none; from what is kept (nothing
    /// is asked of the platform: pages and approvals never wait on one).
    pub async fn request_of(&self, action: &Action) -> Result<Prepared, String> {
        self.build_request(action, Lookups::KeptOnly).await
    }

    /// Builds, once, the requests of actions waiting for approval that need
    /// something looked up first (a Bluesky mention's DID), so they can be
    /// shown and approved; at most `limit`. How many were looked at.
    pub async fn look_up_awaiting(&self, limit: i64) -> Result<usize, StoreError> {
        let waiting = self.db().actions_awaiting_lookup(limit).await?;
        for action in &waiting {
            match self.build_request(action, Lookups::Allowed).await {
                // Nothing (more) to look up: kept as such, so it is not looked at again.
                Ok(_) => {
                    self.db().action_keep_facts(action.id, &action.payload_json, "{}").await?;
                }
                Err(why) => tracing::info!(action_id = action.id, %why, "cannot build a request awaiting approval yet"),
            }
        }
        Ok(waiting.len())
    }

    /// The requests of `action`, looking up what they need if `lookups` allows.
    pub(crate) async fn build_request(&self, action: &Action, lookups: Lookups) -> Result<Prepared, String> {
        let adapter = self
            .adapters()
            .get(&action.action_type)
            .ok_or_else(|| format!("no adapter handles {:?}", action.action_type))?;
        let name = action.channel.as_deref().ok_or("it names no channel")?;
        let channel = self
            .db()
            .channel_get(name)
            .await
            .map_err(|e| format!("cannot read channel {name:?}: {e}"))?
            .ok_or_else(|| format!("there is no channel named {name:?}"))?;
        adapter.prepare(action, &channel, &self.resources(), lookups).await
    }

    /// `action`'s post as people will see it, where it is one.
    pub async fn post_view(&self, action: &Action) -> Result<Option<crate::model::PostView>, StoreError> {
        let Some(adapter) = self.adapters().get(&action.action_type) else { return Ok(None) };
        let channel = match &action.channel {
            Some(name) => self.db().channel_get(name).await?,
            None => None,
        };
        Ok(adapter.post_view(action, channel.as_ref(), &self.resources()).await)
    }

    /// The newest `limit` actions awaiting approval, listed oldest first,
    /// each with the request an approval would bind to.
    pub async fn inbox(&self, limit: i64) -> Result<Vec<InboxItem>, StoreError> {
        let filter =
            ActionFilter { status: Some(ActionStatus::AwaitingApproval.as_str().into()), ..Default::default() };
        let mut waiting = self.db().actions_page(&filter, limit).await?;
        waiting.reverse();
        let mut items = Vec::with_capacity(waiting.len());
        for action in waiting {
            let (request, problem) = match self.request_of(&action).await {
                Ok(p) => (Some(preview(p)), None),
                Err(why) => (None, Some(why)),
            };
            let post = self.post_view(&action).await?;
            items.push(InboxItem { action, request, post, problem });
        }
        Ok(items)
    }

    /// A new payload for an action not yet running (PENDING, RETRY or
    /// AWAITING_APPROVAL), checked like an enqueue. Its approvals not yet
    /// used are voided: in REAL mode, a policy that wants approval wants it
    /// again, for the new request.
    pub async fn edit(&self, id: i64, payload: &Map<String, Value>, actor: &Actor) -> Result<Action, EditError> {
        actor.require(Right::Edit).map_err(OperatorError::from)?;
        let who = actor.who();
        let action = self.action_to_change(actor, id).await?;
        let editable = matches!(action.status.as_str(), "PENDING" | "RETRY" | "AWAITING_APPROVAL");
        if let Some(at) = action.first_sent_at_utc.filter(|_| editable) {
            return Err(OperatorError::Refused(format!(
                "action {id}'s request already left for its platform at {} (the platform may hold that post): its \
                 payload can no longer change; cancel it or let it finish, and enqueue a new post",
                at.to_rfc3339()
            ))
            .into());
        }
        let (payload_json, media) = self.check_payload(&action.action_type, payload).map_err(EditError::Invalid)?;
        let stored = self.media_info(&media).await?;
        check_stored(&media, &stored).map_err(EditError::Invalid)?;
        let channel = channel_named(payload);
        let channels = match channel {
            Some(_) => self.db().channels().await?,
            None => Vec::new(),
        };
        self.check_for_channel(&action.action_type, payload, &channels, &stored).map_err(EditError::Invalid)?;
        let admission = self.admit(&action.action_type, channel, &channels).await.map_err(EditError::Invalid)?;
        let edit = Edit {
            payload_json: &payload_json,
            channel,
            status: admission.status.as_str(),
            policy: admission.policy.map(Policy::as_str),
            media: &media,
            edited_by: who,
        };
        let reason = reason_suffix(actor.reason());
        let log = NewLog::new(
            LogLevel::Info,
            format!("payload changed by {who}{reason}; any approval not yet used no longer holds"),
        )
        .event("edited", Some(who));
        match self.db().action_edit(id, &edit, self.clock().now(), &log).await? {
            Some(action) => {
                tracing::info!(action_id = id, by = %who, status = %action.status, "action edited");
                Ok(action)
            }
            None => {
                Err(self.refusal(id, "only PENDING, RETRY or AWAITING_APPROVAL actions can be edited").await.into())
            }
        }
    }
}

/// Why an edit wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The new payload is refused, as an enqueue would refuse it.
    #[error(transparent)]
    Invalid(EnqueueError),
    #[error(transparent)]
    Operator(#[from] OperatorError),
}

impl From<StoreError> for EditError {
    fn from(e: StoreError) -> EditError {
        EditError::Operator(OperatorError::Store(e))
    }
}

/// Why a `deny` policy refuses an action: the policy and who set it, why.
pub(super) fn denial(channel: &str, action_type: &str, row: Option<&PolicyRow>) -> String {
    let by = row.map(|r| format!(" (set by {}{})", r.set_by, reason_suffix(r.reason.as_deref())));
    format!("the policy of channel {channel:?} for {action_type} is deny{}", by.unwrap_or_default())
}

/// A post's prepared requests as people are shown them.
pub fn preview(p: Prepared) -> RequestPreview {
    RequestPreview {
        url: p.url().to_string(),
        body: String::from_utf8_lossy(&p.artifact).into_owned(),
        sha256: p.sha256,
        requests: p.requests.len(),
    }
}
