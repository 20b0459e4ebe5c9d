//! The queue as agents and operators use it: enqueue (checked by `checks`,
//! admitted under the channel's policy by `approval`) with idempotency,
//! re-queue and cancel; and the retry backoff.

use std::time::Duration;

use rand::Rng;
use serde_json::{Map, Value};

use chrono::{DateTime, TimeDelta, Utc};

use super::approval::Admission;
use super::checks::{channel_named, check_key, check_stored, EnqueueError};
use super::operator::OperatorError;
use super::{Actor, Engine};
use crate::model::{scoped_key, Action, LogLevel};
use crate::storage::{Inserted, NewAction, NewLog, Requeue};

pub use super::checks::{parse_payload, MAX_KEY_CHARS, MAX_PAYLOAD_BYTES};

/// First retry waits about this long; each further one twice as long…
const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// …but never longer than this.
const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Why a cancel found nothing to cancel.
const CANCELLABLE: &str = "only PENDING or RETRY actions can be cancelled";

/// How far ahead an action may be scheduled.
pub const MAX_SCHEDULE_AHEAD: TimeDelta = TimeDelta::days(366);

/// One action to enqueue.
#[derive(Clone, Copy, Debug)]
pub struct NewItem<'a> {
    pub action_type: &'a str,
    pub idempotency_key: &'a str,
    pub payload: &'a Map<String, Value>,
    pub window: Window,
}

impl<'a> NewItem<'a> {
    /// To be sent as soon as possible, with no deadline.
    pub fn new(action_type: &'a str, idempotency_key: &'a str, payload: &'a Map<String, Value>) -> NewItem<'a> {
        NewItem { action_type, idempotency_key, payload, window: Window::default() }
    }
}

/// When an action may be sent: not before `scheduled_for`, never after
/// `not_after` (then it ends EXPIRED).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub scheduled_for: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    /// Where the times were given (kept to show them there).
    pub time_zone: Option<chrono_tz::Tz>,
}

impl Window {
    /// Why this window cannot be used at `now`, if it cannot.
    fn check(&self, now: DateTime<Utc>) -> Result<(), EnqueueError> {
        if let Some(at) = self.scheduled_for {
            if at > now + MAX_SCHEDULE_AHEAD {
                return Err(EnqueueError::Window(format!(
                    "scheduled_for {} is more than {} days ahead",
                    at.to_rfc3339(),
                    MAX_SCHEDULE_AHEAD.num_days()
                )));
            }
        }
        if let Some(deadline) = self.not_after {
            if deadline <= now {
                return Err(EnqueueError::Window(format!(
                    "not_after {} is already past (now {}): it could never be sent",
                    deadline.to_rfc3339(),
                    now.to_rfc3339()
                )));
            }
            if let Some(at) = self.scheduled_for.filter(|at| *at >= deadline) {
                return Err(EnqueueError::Window(format!(
                    "not_after {} is not after scheduled_for {}: it could never be sent",
                    deadline.to_rfc3339(),
                    at.to_rfc3339()
                )));
            }
        }
        Ok(())
    }
}

/// Items that passed every check of an enqueue, in order.
pub(super) struct Checked {
    /// Each payload as stored.
    pub payloads: Vec<String>,
    /// The stored files each names.
    pub media: Vec<Vec<String>>,
    pub admissions: Vec<Admission>,
    /// Every channel, read if any item names one (`preview` builds on them).
    pub channels: Vec<crate::model::Channel>,
    pub now: DateTime<Utc>,
}

/// The result of an enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enqueued {
    pub action: Action,
    /// The key was known: no row was added and `action` is the existing one.
    pub duplicate: bool,
}

/// How long to wait before attempt `attempts + 1`, after `attempts` failed:
/// exponential from [`BACKOFF_BASE`], capped at [`BACKOFF_CAP`], with jitter
/// (a random 50–100 % of it) so retries of many actions do not arrive together.
pub fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let full = BACKOFF_BASE.saturating_mul(1 << doublings).min(BACKOFF_CAP);
    full.mul_f64(rand::rng().random_range(0.5..=1.0))
}

impl Engine {
    /// Adds an action to the queue as AOL itself (tests, the bench), or
    /// returns the existing one for a known key. Nothing is written unless
    /// every check passes.
    pub async fn enqueue(
        &self,
        action_type: &str,
        idempotency_key: &str,
        payload: &Map<String, Value>,
    ) -> Result<Enqueued, EnqueueError> {
        let item = NewItem::new(action_type, idempotency_key, payload);
        self.enqueue_one(&Actor::system("enqueue"), &item).await
    }

    /// Adds one action by `actor` (or returns the existing one for a known
    /// key), checked as [`Engine::enqueue_many`] checks each item.
    pub async fn enqueue_one(&self, actor: &Actor, item: &NewItem<'_>) -> Result<Enqueued, EnqueueError> {
        let mut done = self.enqueue_many(actor, std::slice::from_ref(item)).await.map_err(EnqueueError::alone)?;
        done.pop().expect("one outcome per item")
    }

    /// Adds many actions in one transaction, after checking every one: a bad
    /// item (its index is in the error) stops the batch before anything is
    /// written. A retired key is refused for its item alone.
    pub async fn enqueue_many(
        &self,
        actor: &Actor,
        items: &[NewItem<'_>],
    ) -> Result<Vec<Result<Enqueued, EnqueueError>>, EnqueueError> {
        let checked = self.check_items(actor, items).await?;
        let now = checked.now;
        // An agent's keys are stored in its namespace; the keys from before
        // namespaces are still its own too (see `storage::agents`).
        let agent = actor.by().agent();
        let keys: Vec<String> = items.iter().map(|item| scoped_key(agent, item.idempotency_key)).collect();
        let mut earlier = std::collections::HashMap::new();
        if agent.is_some() {
            let plain: Vec<&str> = items.iter().map(|item| item.idempotency_key).collect();
            earlier.extend(self.db().keys_from_before(&plain).await?);
        }
        let news: Vec<NewAction> = items
            .iter()
            .zip(&keys)
            .zip(&checked.payloads)
            .zip(&checked.admissions)
            .zip(&checked.media)
            .filter(|((((item, _), _), _), _)| !earlier.contains_key(item.idempotency_key))
            .map(|((((item, key), payload_json), admission), media)| NewAction {
                idempotency_key: key,
                action_type: item.action_type,
                payload_json,
                not_before_utc: item.window.scheduled_for.filter(|at| *at > now).unwrap_or(now),
                status: admission.status.as_str(),
                channel: channel_named(item.payload),
                scheduled_for_utc: item.window.scheduled_for,
                not_after_utc: item.window.not_after,
                policy: admission.policy.map(crate::model::Policy::as_str),
                media,
                enqueued_by: Some(actor.who()),
                time_zone: item.window.time_zone.map(|tz| tz.name()),
            })
            .collect();
        let mut inserted = self.db().actions_insert(&news, now).await?.into_iter();
        let outcomes = items.iter().map(|item| match earlier.get(item.idempotency_key) {
            Some(found) => found.clone(),
            None => inserted.next().expect("one outcome per inserted action"),
        });
        Ok(outcomes
            .map(|outcome| match outcome {
                Inserted::New(action) => {
                    tracing::info!(action_id = action.id, key = %action.key(), action_type = %action.action_type, by = actor.who(), "action enqueued");
                    Ok(Enqueued { action, duplicate: false })
                }
                Inserted::Existing(action) => Ok(Enqueued { action, duplicate: true }),
                Inserted::Retired(retired) => Err(EnqueueError::KeyRetired(retired)),
            })
            .collect())
    }

    /// Every check of an enqueue, before anything is written (shared with
    /// `preview`): the actor's right, each item's key, payload, schedule,
    /// files, platform limits and policy, and an agent's channels.
    pub(super) async fn check_items(&self, actor: &Actor, items: &[NewItem<'_>]) -> Result<Checked, EnqueueError> {
        actor.require(crate::model::Right::Enqueue)?;
        let mut payloads = Vec::with_capacity(items.len());
        let mut media: Vec<Vec<String>> = Vec::with_capacity(items.len());
        let at = |i: usize| move |e: EnqueueError| e.for_item(i);
        for (i, item) in items.iter().enumerate() {
            let (payload_json, named) = self.check_item(item).map_err(at(i))?;
            payloads.push(payload_json);
            media.push(named);
        }
        let now = self.clock().now();
        // The files each item names must be stored; each platform's own
        // limits, and each channel's policy, for the items that name a
        // channel (read once per channel and type).
        let stored = self.media_info(&media.concat()).await?;
        let mut admissions = Vec::with_capacity(items.len());
        let mut admitted: std::collections::HashMap<(&str, Option<&str>), Admission> = std::collections::HashMap::new();
        let channels = if items.iter().any(|item| channel_named(item.payload).is_some()) {
            self.db().channels().await?
        } else {
            Vec::new()
        };
        for (i, item) in items.iter().enumerate() {
            item.window.check(now).map_err(at(i))?;
            check_stored(&media[i], &stored).map_err(at(i))?;
            self.check_for_channel(item.action_type, item.payload, &channels, &stored).map_err(at(i))?;
            let lookup = (item.action_type, channel_named(item.payload));
            let admission = match admitted.get(&lookup) {
                Some(a) => *a,
                None => {
                    let a = self.admit(lookup.0, lookup.1, &channels).await.map_err(at(i))?;
                    *admitted.entry(lookup).or_insert(a)
                }
            };
            admissions.push(admission);
        }
        let named: Vec<Option<&str>> = items.iter().map(|item| channel_named(item.payload)).collect();
        self.check_agent_channels(actor, &named).await?;
        Ok(Checked { payloads, media, admissions, channels, now })
    }

    /// Every check of one item that needs no database; its payload as stored.
    fn check_item(&self, item: &NewItem<'_>) -> Result<(String, Vec<String>), EnqueueError> {
        check_key(item.idempotency_key)?;
        self.check_payload(item.action_type, item.payload)
    }

    /// FAILED or DLQ → PENDING, attempts reset; recorded in the action's log.
    pub async fn requeue(&self, id: i64, actor: &Actor) -> Result<Action, OperatorError> {
        actor.require(crate::model::Right::Decide)?;
        self.operator_change(id, Requeue::Requeue, actor, "only FAILED or DLQ actions can be re-queued").await
    }

    /// PENDING or RETRY → CANCELLED; recorded in the action's log.
    pub async fn cancel(&self, id: i64, actor: &Actor) -> Result<Action, OperatorError> {
        actor.require(crate::model::Right::Decide)?;
        self.operator_change(id, Requeue::Cancel, actor, CANCELLABLE).await
    }

    /// Cancel by whoever may change the action: an agent takes back its own
    /// post before it runs (anyone else's does not exist for it); a person
    /// needs the right to decide, as for [`Engine::cancel`].
    pub async fn withdraw(&self, id: i64, actor: &Actor) -> Result<Action, OperatorError> {
        match actor.by().agent() {
            Some(_) => {
                actor.require(crate::model::Right::Edit)?;
                self.action_to_change(actor, id).await?;
                self.operator_change(id, Requeue::Cancel, actor, CANCELLABLE).await
            }
            None => self.cancel(id, actor).await,
        }
    }

    async fn operator_change(
        &self,
        id: i64,
        change: Requeue,
        actor: &Actor,
        allowed: &'static str,
    ) -> Result<Action, OperatorError> {
        let who = actor.who();
        let why = crate::model::reason_suffix(actor.reason());
        let verb = match change {
            Requeue::Requeue => "re-queued",
            Requeue::Cancel => "cancelled",
        };
        let event = match change {
            Requeue::Requeue => "requeued",
            Requeue::Cancel => "cancelled",
        };
        let log = NewLog::new(LogLevel::Info, format!("{verb} by {who}{why}")).event(event, Some(who));
        match self.db().action_operator_change(id, change, self.clock().now(), &log).await? {
            Some(action) => {
                tracing::info!(action_id = id, by = %who, "action {verb}");
                Ok(action)
            }
            None => Err(self.refusal(id, allowed).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        for attempts in 1..=30 {
            let full = BACKOFF_BASE.saturating_mul(1 << (attempts - 1).min(20)).min(BACKOFF_CAP);
            let d = backoff(attempts);
            assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d:?} not within 50-100 % of {full:?}");
        }
        assert!(backoff(30) <= BACKOFF_CAP);
        let samples: std::collections::HashSet<_> = (0..20).map(|_| backoff(3)).collect();
        assert!(samples.len() > 1, "no jitter");
    }
}
