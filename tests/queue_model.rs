//! Model-based test of the queue (SPEC §3): random sequences of enqueue,
//! claim, success / retry / failure / un-claim, waiting for approval, expiry,
//! approval, cancel, re-queue, rescue,
//! lease takeovers (with writes from the superseded term) and the clock
//! moving on, run against the real storage on SQLite and on PostgreSQL and
//! against a small reference model. After every step the two must agree on
//! what each call returned and on every action's status and attempts, and
//! the trigger-kept counts must equal the real ones.
//!
//! `PROPTEST_CASES` sets the number of sequences (default 24 per database,
//! 200 with `AOL_RELIABILITY=long`).

mod common;

use std::collections::BTreeMap;

use aol::engine::lease::DAEMON_LEASE;
use aol::model::LogLevel;
use aol::storage::{Db, Decision, Fence, Finish, Inserted, Marked, NewAction, NewLog, Requeue, Sending};
use chrono::{DateTime, TimeDelta, Utc};
use common::{Backend, TestCtx, TestDb};
use proptest::prelude::*;

const MAX_ATTEMPTS: i64 = 3;

#[derive(Clone, Debug)]
enum Op {
    Enqueue(u8),
    Claim(u8),
    Succeed(u8),
    Fail(u8),
    Retry(u8),
    Unclaim(u8),
    /// A platform's "not now": back to the queue, the attempt not counted.
    Defer(u8),
    /// The outcome of a REAL request is unknown.
    Unconfirmed(u8),
    /// A REAL request starts to leave (the mark a rescue reads).
    MarkSending(u8),
    /// Its policy wants an approval first: AWAITING_APPROVAL, attempt not counted.
    Await(u8),
    /// Too late to send: EXPIRED, attempt not counted.
    Expire(u8),
    /// An operator approves an action AWAITING_APPROVAL: back to PENDING.
    Approve(u8),
    /// A result written with the previous term's fence, after a takeover.
    StaleSucceed(u8),
    Cancel(u8),
    Requeue(u8),
    Rescue,
    Takeover,
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(|k| Op::Enqueue(k % 12)),
        3 => (1u8..5).prop_map(Op::Claim),
        2 => any::<u8>().prop_map(Op::Succeed),
        1 => any::<u8>().prop_map(Op::Fail),
        2 => any::<u8>().prop_map(Op::Retry),
        1 => any::<u8>().prop_map(Op::Unclaim),
        1 => any::<u8>().prop_map(Op::Defer),
        1 => any::<u8>().prop_map(Op::Unconfirmed),
        1 => any::<u8>().prop_map(Op::MarkSending),
        1 => any::<u8>().prop_map(Op::Await),
        1 => any::<u8>().prop_map(Op::Expire),
        1 => any::<u8>().prop_map(Op::Approve),
        1 => any::<u8>().prop_map(Op::StaleSucceed),
        1 => any::<u8>().prop_map(Op::Cancel),
        1 => any::<u8>().prop_map(Op::Requeue),
        1 => Just(Op::Rescue),
        1 => Just(Op::Takeover),
        2 => (1u16..120).prop_map(Op::Advance),
    ]
}

/// One action as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    key: String,
    status: &'static str,
    attempts: i64,
    not_before: DateTime<Utc>,
    epoch: Option<i64>,
    /// A REAL request started to leave during the current claim.
    sending: bool,
}

/// The reference: SPEC §3's rules, written as plainly as possible.
struct Model {
    rows: BTreeMap<i64, Row>,
    now: DateTime<Utc>,
    epoch: i64,
    owner: String,
    previous: Option<(String, i64)>,
}

impl Model {
    fn due(&self) -> Vec<i64> {
        let mut due: Vec<(DateTime<Utc>, i64)> = self
            .rows
            .iter()
            .filter(|(_, r)| matches!(r.status, "PENDING" | "RETRY") && r.not_before <= self.now)
            .map(|(id, r)| (r.not_before, *id))
            .collect();
        due.sort();
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// A result under term `epoch`: written only while the action is RUNNING
    /// under that term and the term is the current one.
    fn finish(&mut self, id: i64, epoch: i64, finish: &Finish) -> bool {
        let current = epoch == self.epoch;
        let Some(r) = self.rows.get_mut(&id) else { return false };
        if !current || r.status != "RUNNING" || r.epoch != Some(epoch) {
            return false;
        }
        match finish {
            Finish::Success => r.status = "SUCCESS",
            Finish::Failed { .. } => r.status = "FAILED",
            Finish::Retry { not_before, max_attempts, .. } => {
                r.status = if r.attempts >= *max_attempts { "DLQ" } else { "RETRY" };
                r.not_before = *not_before;
            }
            Finish::Unclaim => {
                r.status = if r.attempts <= 1 { "PENDING" } else { "RETRY" };
                r.attempts -= 1;
            }
            Finish::Defer { not_before, .. } => {
                r.status = if r.attempts <= 1 { "PENDING" } else { "RETRY" };
                r.attempts -= 1;
                r.not_before = *not_before;
            }
            Finish::Unconfirmed { .. } => r.status = "UNCONFIRMED",
            Finish::AwaitApproval => {
                r.status = "AWAITING_APPROVAL";
                r.attempts -= 1;
            }
            Finish::Expired { .. } => {
                r.status = "EXPIRED";
                r.attempts -= 1;
            }
        }
        true
    }
}

fn fence<'a>(owner: &'a str, epoch: i64, now: DateTime<Utc>) -> Fence<'a> {
    Fence { lease: DAEMON_LEASE, owner, epoch, now }
}

fn pick(ids: &[i64], n: u8) -> Option<i64> {
    (!ids.is_empty()).then(|| ids[n as usize % ids.len()])
}

async fn clear(ctx: &TestCtx) {
    for table in ["aol_approvals", "aol_channel_sends", "aol_execution_logs", "aol_actions", "aol_retired_keys"] {
        ctx.execute_raw(&format!("DELETE FROM {table}")).await;
    }
}

/// Runs `ops` on `db` and on the model; panics at the first disagreement.
async fn run(ctx: &TestCtx, ops: &[Op], case: usize) {
    clear(ctx).await;
    let d: &Db = &ctx.db;
    let start = Utc::now() + TimeDelta::days(case as i64);
    let owner = format!("model-{case}-0");
    let lease = d.lease_acquire(DAEMON_LEASE, &owner, start, start + TimeDelta::days(1)).await.unwrap();
    let lease = match lease {
        Some(l) => l,
        None => panic!("the lease is free at the start of case {case}"),
    };
    let mut m = Model { rows: BTreeMap::new(), now: start, epoch: lease.epoch, owner, previous: None };
    let log = NewLog::new(LogLevel::Info, "model");
    let payload = r#"{"text":"x"}"#;

    for (step, op) in ops.iter().enumerate() {
        let at = || format!("case {case}, step {step}: {op:?}");
        let ids: Vec<i64> = m.rows.keys().copied().collect();
        let f = fence(&m.owner, m.epoch, m.now);
        match op {
            Op::Enqueue(k) => {
                let key = format!("k{k}");
                let new = NewAction::pending(&key, "POST_SOCIAL", payload, m.now);
                match d.action_insert(&new, m.now).await.unwrap() {
                    Inserted::New(a) => {
                        assert!(m.rows.values().all(|r| r.key != key), "{}: a known key made a new action", at());
                        m.rows.insert(
                            a.id,
                            Row { key, status: "PENDING", attempts: 0, not_before: m.now, epoch: None, sending: false },
                        );
                    }
                    Inserted::Existing(a) => {
                        assert_eq!(m.rows.get(&a.id).map(|r| r.key.as_str()), Some(key.as_str()), "{}", at())
                    }
                    Inserted::Retired(_) => panic!("{}: no key is retired here", at()),
                }
            }
            Op::Claim(n) => {
                let mut got: Vec<i64> =
                    d.actions_claim(&f, i64::from(*n)).await.unwrap().iter().map(|a| a.id).collect();
                let expected: Vec<i64> = m.due().into_iter().take(*n as usize).collect();
                got.sort();
                let mut want = expected.clone();
                want.sort();
                assert_eq!(got, want, "{}: claimed", at());
                for id in expected {
                    let r = m.rows.get_mut(&id).unwrap();
                    r.status = "RUNNING";
                    r.attempts += 1;
                    r.epoch = Some(m.epoch);
                    r.sending = false;
                }
            }
            Op::MarkSending(n) => {
                let Some(id) = pick(&ids, *n) else { continue };
                let sending = Sending { id, sha256: "sha", approval: None, channel: Some("main") };
                let marked = d.action_mark_sending(&f, &sending).await.unwrap() == Marked::Marked;
                let r = m.rows.get_mut(&id).unwrap();
                let mine = r.status == "RUNNING" && r.epoch == Some(m.epoch);
                assert_eq!(marked, mine, "{}: marked as sending", at());
                r.sending |= mine;
            }
            Op::Succeed(n)
            | Op::Fail(n)
            | Op::Retry(n)
            | Op::Unclaim(n)
            | Op::Defer(n)
            | Op::Unconfirmed(n)
            | Op::Await(n)
            | Op::Expire(n)
            | Op::StaleSucceed(n) => {
                let Some(id) = pick(&ids, *n) else { continue };
                let finish = match op {
                    Op::Fail(_) => Finish::Failed { error: "no".into() },
                    Op::Retry(_) => Finish::Retry {
                        error: "later".into(),
                        not_before: m.now + TimeDelta::seconds(30),
                        max_attempts: MAX_ATTEMPTS,
                    },
                    Op::Unclaim(_) => Finish::Unclaim,
                    Op::Defer(_) => Finish::Defer { reason: "429".into(), not_before: m.now + TimeDelta::seconds(90) },
                    Op::Unconfirmed(_) => Finish::Unconfirmed { error: "timed out".into() },
                    Op::Await(_) => Finish::AwaitApproval,
                    Op::Expire(_) => Finish::Expired { reason: "past its deadline".into() },
                    _ => Finish::Success,
                };
                let (owner, epoch) = match (op, &m.previous) {
                    (Op::StaleSucceed(_), Some((owner, epoch))) => (owner.clone(), *epoch),
                    (Op::StaleSucceed(_), None) => continue,
                    _ => (m.owner.clone(), m.epoch),
                };
                let written = d.action_finish(&fence(&owner, epoch, m.now), id, &finish, &log).await.unwrap().is_some();
                assert_eq!(written, m.finish(id, epoch, &finish), "{}: written", at());
            }
            Op::Approve(n) => {
                let Some(id) = pick(&ids, *n) else { continue };
                let decision = Decision {
                    approved: true,
                    payload_json: payload,
                    prepared_sha256: "sha",
                    channel: "main",
                    decided_by: "model",
                    reason: None,
                    expires_at_utc: m.now + TimeDelta::days(1),
                    approvals_needed: 1,
                };
                let done = d.action_decide(id, &decision, m.now, &log, &log).await.unwrap().is_some();
                let r = m.rows.get_mut(&id).unwrap();
                assert_eq!(done, r.status == "AWAITING_APPROVAL", "{}: approved", at());
                if done {
                    r.status = "PENDING";
                    r.not_before = m.now;
                }
            }
            Op::Cancel(n) | Op::Requeue(n) => {
                let Some(id) = pick(&ids, *n) else { continue };
                let change = if matches!(op, Op::Cancel(_)) { Requeue::Cancel } else { Requeue::Requeue };
                let done = d.action_operator_change(id, change, m.now, &log).await.unwrap().is_some();
                let r = m.rows.get_mut(&id).unwrap();
                let allowed = match change {
                    Requeue::Cancel => matches!(r.status, "PENDING" | "RETRY"),
                    Requeue::Requeue => matches!(r.status, "FAILED" | "DLQ"),
                };
                assert_eq!(done, allowed, "{}: operator change", at());
                if allowed {
                    match change {
                        Requeue::Cancel => r.status = "CANCELLED",
                        Requeue::Requeue => {
                            r.status = "PENDING";
                            r.attempts = 0;
                            r.not_before = m.now;
                        }
                    }
                }
            }
            Op::Rescue => {
                let mut got = d.actions_rescue(&f, MAX_ATTEMPTS).await.unwrap();
                got.sort();
                let mut want = Vec::new();
                for (id, r) in m.rows.iter_mut() {
                    if r.status == "RUNNING" && r.epoch.is_none_or(|e| e < m.epoch) {
                        r.status = if r.sending {
                            "UNCONFIRMED"
                        } else if r.attempts >= MAX_ATTEMPTS {
                            "DLQ"
                        } else {
                            "RETRY"
                        };
                        r.not_before = m.now;
                        want.push(*id);
                    }
                }
                assert_eq!(got, want, "{}: rescued", at());
            }
            Op::Takeover => {
                assert!(d.lease_release(DAEMON_LEASE, &m.owner, m.epoch, m.now).await.unwrap(), "{}", at());
                let owner = format!("model-{case}-{step}");
                let lease = d
                    .lease_acquire(DAEMON_LEASE, &owner, m.now, m.now + TimeDelta::days(1))
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("{}: takeover refused", at()));
                assert!(lease.epoch > m.epoch, "{}: epochs only grow", at());
                m.previous = Some((std::mem::replace(&mut m.owner, owner), m.epoch));
                m.epoch = lease.epoch;
            }
            Op::Advance(s) => m.now += TimeDelta::seconds(i64::from(*s)),
        }

        let real: Vec<(i64, String, String, i64)> =
            ctx.fetch_all_raw("SELECT id, idempotency_key, status, attempts FROM aol_actions ORDER BY id").await;
        let model: Vec<(i64, String, String, i64)> =
            m.rows.iter().map(|(id, r)| (*id, r.key.clone(), r.status.to_string(), r.attempts)).collect();
        assert_eq!(real, model, "{}: the table and the model disagree", at());
        let mut counted: Vec<(String, i64)> =
            d.action_counts().await.unwrap().into_iter().map(|c| (c.status, c.count)).collect();
        counted.sort();
        let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
        for r in m.rows.values() {
            *by_status.entry(r.status.to_string()).or_default() += 1;
        }
        assert_eq!(counted, by_status.into_iter().collect::<Vec<_>>(), "{}: counts", at());
    }
    // Leave the lease free for the next case.
    d.lease_release(DAEMON_LEASE, &m.owner, m.epoch, m.now).await.unwrap();
}

fn check(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(TestDb::migrated(backend));
    let ctx = TestCtx { db: t.db.clone(), url: t.url.clone(), backend };
    let default_cases = if std::env::var("AOL_RELIABILITY").as_deref() == Ok("long") { 200 } else { 24 };
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default_cases);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&proptest::collection::vec(op(), 1..60), |ops| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        runtime.block_on(run(&ctx, &ops, case));
        Ok(())
    });
    runtime.block_on(t.remove());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_queue_follows_the_model_on_sqlite() {
    check(Backend::Sqlite);
}

#[test]
fn the_queue_follows_the_model_on_postgres() {
    check(Backend::Postgres);
}
