//! The audit events of an enqueue (docs/audit.md): per call, one
//! `enqueued` row for the actions it added, and one row for each item
//! whose key was known (`enqueue_duplicate`) or retired (`enqueue_refused`).
//!
//! One `enqueued` row per action was a third of PostgreSQL's work on an HTTP
//! batch of 100 (a heap row, two index entries and a step of the chain
//! each; docs/scaling.md, stop 59). A call that adds one action writes the
//! row it always did; a call that adds more writes one row naming them all
//! ([`call_data`]), whose `action_id` is the first of them, and each of them
//! keeps that id in `enqueued_with`, where its trail finds the row.

use super::{ranges, Found, NewAction, RetiredKey};
use crate::storage::{outbox, AuditEntry};

/// The audit event of an enqueue's new actions.
const ENQUEUED: &str = "enqueued";

/// What an `enqueued` event records of one action, written straight to
/// text ([`EnqueuedData::text`]: building a `serde_json::Value` map per
/// action was the larger part of AOL's own work on each event). Its fields
/// are in the order such a map is written (by name), the order of the
/// events written through one before.
#[derive(serde::Serialize)]
pub(super) struct EnqueuedData<'a> {
    channel: Option<&'a str>,
    key: &'a str,
    policy: Option<&'a str>,
    status: &'a str,
    #[serde(rename = "type")]
    action_type: &'a str,
}

impl<'a> EnqueuedData<'a> {
    pub(super) fn of(new: &NewAction<'a>) -> EnqueuedData<'a> {
        EnqueuedData {
            channel: new.channel,
            key: crate::model::shown_key(new.idempotency_key),
            policy: new.policy,
            status: new.status,
            action_type: new.action_type,
        }
    }

    /// The event's data as JSON text.
    pub(super) fn text(&self) -> String {
        serde_json::to_string(self).expect("an enqueued event serialises")
    }
}

/// The `enqueued` data of a call that added several actions: each one's
/// [`EnqueuedData::text`] (`items`, already joined with commas), then
/// their ids, in the items' order. PostgreSQL's `aol_enqueued` (migration
/// 0029) writes the same text.
pub(super) fn call_data(items: &str, ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!(r#"{{"actions":[{items}],"ids":[{}]}}"#, ids.join(","))
}

/// What a group's enqueue appends besides its rows.
pub(super) struct Events {
    /// The chain's new rows, in the items' order (a call's `enqueued` row
    /// at its first new action's place).
    pub chain: Vec<AuditEntry>,
    /// The notifications of the new actions (one per action that awaits
    /// approval), told through the outbox; not rows of the chain.
    pub notices: Vec<AuditEntry>,
    /// Each action of a call that added several, and the first one's id
    /// (its `enqueued_with`).
    pub shared: Vec<(i64, i64)>,
}

/// The events of a group's items from their outcomes: `calls` are its
/// callers' item counts, in order; `datas` each item's
/// [`EnqueuedData::text`].
pub(super) fn events_of(news: &[NewAction<'_>], outcomes: &[Found], datas: &[&str], calls: &[usize]) -> Events {
    let mut events = Events { chain: Vec::new(), notices: Vec::new(), shared: Vec::new() };
    for call in ranges(calls) {
        let added: Vec<(usize, i64)> = call
            .clone()
            .filter_map(|i| match outcomes[i] {
                Found::New(id) => Some((i, id)),
                _ => None,
            })
            .collect();
        for i in call {
            match &outcomes[i] {
                Found::New(id) if added.first() == Some(&(i, *id)) => {
                    events.chain.push(call_event(news, datas, &added));
                    if added.len() > 1 {
                        events.shared.extend(added.iter().map(|(_, each)| (*each, *id)));
                    }
                }
                Found::New(_) => {}
                outcome => events.chain.push(known_key_event(&news[i], outcome, outcomes)),
            }
        }
        for &(i, id) in &added {
            if let Some(notice) = outbox::enqueued_notice(news[i].status) {
                events.notices.push(AuditEntry::written(
                    news[i].enqueuer(),
                    Some(id),
                    ENQUEUED,
                    datas[i].to_string(),
                    Some(notice),
                ));
            }
        }
    }
    events
}

/// The `enqueued` row of a call whose new actions are `added` (place, id).
fn call_event(news: &[NewAction<'_>], datas: &[&str], added: &[(usize, i64)]) -> AuditEntry {
    let (first, id) = added[0];
    let data = match added {
        [_] => datas[first].to_string(),
        _ => {
            let items: Vec<&str> = added.iter().map(|(i, _)| datas[*i]).collect();
            let ids: Vec<i64> = added.iter().map(|(_, id)| *id).collect();
            call_data(&items.join(","), &ids)
        }
    };
    AuditEntry::written(news[first].enqueuer(), Some(id), ENQUEUED, data, None)
}

/// The event of an item whose key was known or retired (`outcomes` are the
/// group's, in which an earlier item of the same key is found).
fn known_key_event(new: &NewAction<'_>, outcome: &Found, outcomes: &[Found]) -> AuditEntry {
    let by = new.enqueuer();
    let key = crate::model::shown_key(new.idempotency_key);
    let duplicate = |id| AuditEntry::new(by, Some(id), "enqueue_duplicate", serde_json::json!({"key": key}));
    let refused = |r: &RetiredKey| {
        AuditEntry::new(
            by,
            Some(r.action_id),
            "enqueue_refused",
            serde_json::json!({"key": key, "why": "the key was retired"}),
        )
    };
    match outcome {
        Found::Existing(a) => duplicate(a.id),
        Found::Retired(r) => refused(r),
        Found::Again(at) => match &outcomes[*at] {
            Found::New(id) => duplicate(*id),
            Found::Existing(a) => duplicate(a.id),
            Found::Retired(r) => refused(r),
            // The item at a key's first place is never found again.
            Found::Again(_) => unreachable!("an item found again at a place that was found again itself"),
        },
        Found::New(_) => unreachable!("a new action's event is its call's"),
    }
}
