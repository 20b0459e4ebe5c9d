//! A post as it would be, with nothing stored: every check an enqueue makes,
//! then the exact document PROOF would write for it and its SHA-256, and its
//! channel's limits as they stand (the agents' `preview_post`).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use super::adapters::{proof_record, Lookups};
use super::checks::{channel_named, EnqueueError};
use super::queue::NewItem;
use super::{Actor, Engine};
use crate::model::{scoped_key, Action, ChannelView};

/// What enqueueing the post now would make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// PENDING, or AWAITING_APPROVAL where its channel's policy wants a yes.
    pub status: String,
    /// The policy it would be admitted under (none without a channel).
    pub policy: Option<String>,
    /// Its channel, limits and today's posts, if it names one that exists.
    pub channel: Option<ChannelView>,
    /// The document PROOF would write: every request REAL would send, or,
    /// without a channel, the post itself.
    pub document: String,
    pub sha256: String,
    /// How many requests (0: the post names no channel).
    pub requests: usize,
    /// Where the post goes (its last request's URL).
    pub url: Option<String>,
    /// The document depends on the post and its key only, so the PROOF
    /// artifact of the action enqueued with them has this SHA-256. False
    /// where the requests carry the action's id or creation time (webhooks,
    /// Bluesky record keys): those are known only once it is enqueued.
    pub same_as_proof: bool,
    /// Why the requests cannot be built yet, if they cannot (e.g. a mention
    /// still to be looked up: the daemon does it once the post is enqueued).
    pub problem: Option<String>,
}

impl Engine {
    /// Checks `item` as an enqueue by `actor` would and shows what PROOF
    /// would write for it; writes nothing.
    pub async fn preview(&self, actor: &Actor, item: &NewItem<'_>) -> Result<Preview, EnqueueError> {
        let checked = self.check_items(actor, std::slice::from_ref(item)).await.map_err(EnqueueError::alone)?;
        let admission = checked.admissions[0];
        let payload: Map<String, Value> =
            serde_json::from_str(&checked.payloads[0]).expect("a checked payload is a JSON object");
        let name = channel_named(item.payload);
        let found = name.and_then(|n| checked.channels.iter().find(|c| c.name == n));
        let mut preview = Preview {
            status: admission.status.as_str().to_string(),
            policy: admission.policy.map(|p| p.as_str().to_string()),
            channel: None,
            document: String::new(),
            sha256: String::new(),
            requests: 0,
            url: None,
            same_as_proof: true,
            problem: None,
        };
        let Some(channel) = found else {
            let bytes = proof_record(item.idempotency_key, &payload);
            preview.sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            preview.document = String::from_utf8(bytes).expect("JSON is UTF-8");
            if let Some(name) = name {
                preview.problem =
                    Some(format!("there is no channel named {name:?}: PROOF writes the post itself, REAL would fail"));
            }
            return Ok(preview);
        };
        preview.channel = self.channel_views().await?.into_iter().find(|v| v.channel.name == channel.name);
        let adapter = self.adapters().get(item.action_type).expect("a checked action type has an adapter");
        let key = scoped_key(actor.by().agent(), item.idempotency_key);
        let now = checked.now;
        let as_action = |id: i64, at: DateTime<Utc>| unsent(id, &key, item.action_type, &checked.payloads[0], at);
        match adapter.prepare(&as_action(1, now), channel, &self.resources(), Lookups::KeptOnly).await {
            Ok(prepared) => {
                // Built again as another action at another time: the same
                // bytes mean they depend on the post and its key alone.
                let other = as_action(2, now + TimeDelta::seconds(1));
                let again = adapter.prepare(&other, channel, &self.resources(), Lookups::KeptOnly).await;
                preview.same_as_proof = again.is_ok_and(|p| p.sha256 == prepared.sha256);
                preview.url = Some(prepared.url().to_string());
                preview.requests = prepared.requests.len();
                preview.document = String::from_utf8_lossy(&prepared.artifact).into_owned();
                preview.sha256 = prepared.sha256;
            }
            Err(why) => {
                preview.same_as_proof = false;
                preview.problem = Some(why);
            }
        }
        Ok(preview)
    }
}

/// The action `item` would become, never stored.
fn unsent(id: i64, key: &str, action_type: &str, payload_json: &str, at: DateTime<Utc>) -> Action {
    Action {
        id,
        idempotency_key: key.to_string(),
        action_type: action_type.to_string(),
        payload_json: payload_json.to_string(),
        status: "PENDING".to_string(),
        attempts: 0,
        not_before_utc: at,
        last_error: None,
        created_at_utc: at,
        updated_at_utc: at,
        lease_epoch: None,
        prepared_sha256: None,
        remote_id: None,
        remote_url: None,
        channel: None,
        scheduled_for_utc: None,
        not_after_utc: None,
        policy: None,
        facts_json: None,
        first_sent_at_utc: None,
        reached_at_utc: None,
        enqueued_by: None,
        edited_by: None,
        time_zone: None,
    }
}
