//! The gate every REAL request passes right before it leaves (see
//! [`SendGate`](super::adapters::SendGate)): the deadline, the channel's
//! policy and the approval of exactly this request, the rate limits; then the
//! mark that it is leaving, the approval used and the send counted, in one
//! transaction. Gates open one at a time in this process (the only one
//! sending: it holds the lease), so two posts on one channel cannot both see
//! room for one more.

use super::adapters::Verdict;
use super::approval::denial;
use super::governor;
use super::Engine;
use crate::model::{Action, Approval, Channel, Policy};
use crate::storage::{Marked, Sending, StoreError};

impl Engine {
    /// The verdict on action `action`'s REAL request `sha256` to `channel`,
    /// for the daemon term `epoch`.
    pub(crate) async fn open_gate(&self, epoch: i64, action: &Action, channel: &Channel, sha256: &str) -> Verdict {
        let _one_at_a_time = self.gate_lock().lock().await;
        match self.judge(epoch, action, channel, sha256).await {
            Ok(verdict) => verdict,
            Err(e) => {
                tracing::warn!(action_id = action.id, error = %e, "cannot check or record a REAL request; not sending it");
                Verdict::Closed(format!("could not check or record the request ({e})"))
            }
        }
    }

    async fn judge(&self, epoch: i64, action: &Action, channel: &Channel, sha256: &str) -> Result<Verdict, StoreError> {
        let now = self.clock().now();
        if let Some(deadline) = action.not_after_utc.filter(|d| *d <= now) {
            return Ok(Verdict::Expired(format!(
                "expired: past its deadline ({}), so it was not sent",
                deadline.to_rfc3339()
            )));
        }
        let (policy, row) = self.policy_of(&channel.name, &action.action_type).await?;
        let approval = match policy {
            Policy::Deny => {
                let why = denial(&channel.name, &action.action_type, row.as_ref());
                return Ok(Verdict::Denied(format!("denied: {why}; nothing was sent")));
            }
            Policy::Auto => None,
            Policy::RequireApproval => {
                let approvals = self.db().approvals_for(action.id).await?;
                match usable_approval(&approvals, &channel.name, sha256, now) {
                    Usable::Yes(id) => Some(id),
                    Usable::Expired(a) => {
                        return Ok(Verdict::Expired(format!(
                            "expired: its approval by {} ran out at {} before it could be sent",
                            a.decided_by,
                            a.expires_at_utc.to_rfc3339()
                        )))
                    }
                    Usable::No => return Ok(Verdict::AwaitApproval),
                }
            }
        };
        if governor::has_limits(channel) || channel.wait_until_utc.is_some_and(|t| t > now) {
            let sent = self.channel_sent(&channel.name, now).await?;
            if let Some(hold) = governor::hold(channel, &sent, now) {
                // The channel's other due posts wait too, in their order.
                self.db().channel_queue_wait(&channel.name, hold.until).await?;
                return Ok(Verdict::Wait {
                    at: hold.until,
                    reason: format!(
                        "waiting for channel {:?}: {}; next post allowed at {} (the attempt does not count)",
                        channel.name,
                        hold.why,
                        hold.until.to_rfc3339()
                    ),
                });
            }
        }
        let sending = Sending { id: action.id, sha256, approval, channel: Some(&channel.name) };
        Ok(match self.db().action_mark_sending(&self.fence(epoch), &sending).await? {
            Marked::Marked => Verdict::Go,
            Marked::ApprovalGone => Verdict::AwaitApproval,
            Marked::NotMine => Verdict::Closed("the action is no longer this daemon's (the lease was lost)".into()),
        })
    }
}

/// Whether an action's approvals let its request `sha256` go to `channel` at `now`.
enum Usable<'a> {
    Yes(i64),
    /// The approval of this request ran out before it was used.
    Expired(&'a Approval),
    No,
}

/// The latest decision is the one that counts: an approval of this very
/// request on this channel, not used, not voided by an edit, not expired.
fn usable_approval<'a>(
    approvals: &'a [Approval],
    channel: &str,
    sha256: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Usable<'a> {
    match approvals.last() {
        Some(a) if a.stands_for(sha256) && a.channel == channel => {
            if a.expires_at_utc > now {
                Usable::Yes(a.id)
            } else {
                Usable::Expired(a)
            }
        }
        _ => Usable::No,
    }
}
