//! Group commit for one tick: its attempts hand their "started" lines and
//! their results to one writer, which writes everything pending at that moment
//! in one statement (started lines) and one transaction (results). A lone
//! request is written at once; under load each write carries many. Round trips
//! per action, not the databases themselves, were what limited processing
//! (docs/scaling.md).
//!
//! A "started" line is awaited (a REAL request may leave only after it is
//! written). A result is handed in and not awaited: the attempt's place goes
//! to the next action while the result waits for its commit, so the adapters
//! of the next attempts run while the database writes (with PROOF's
//! microsecond adapters, waiting halved the drain). The tick ends only after
//! the writer has written every result handed in, and asks [`Writer::troubled`]
//! before starting each attempt, so a write that fails or finds the term over
//! stops the tick as a failed attempt did.
//!
//! On PostgreSQL two writes are in flight at once, each of at most
//! [`LANE_ROWS`] results, on two connections: one write of a tick's 1,000
//! results kept one backend busy while the other core idled (~50 % idle in
//! `vmstat` during the drain); two halves in parallel drained 25-35 % more
//! (docs/scaling.md). SQLite has one writer: one write carries everything
//! pending.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use crate::engine::lease::Term;
use crate::engine::Engine;
use crate::storage::{Finish, NewLog, StoreError};

/// The most results one write carries when writes run side by side.
const LANE_ROWS: usize = 500;

type Reply<T> = oneshot::Sender<Result<T, Arc<StoreError>>>;

enum Request {
    Started { id: i64, log: NewLog, reply: Reply<bool> },
    Finished { id: i64, finish: Finish, log: NewLog },
}

/// Where a tick's attempts send what they write.
pub(super) struct Writer {
    requests: mpsc::UnboundedSender<Request>,
    /// Set once a write failed or found an action no longer this term's.
    troubled: Arc<AtomicBool>,
}

/// How the writing went, once every request was written.
pub(super) enum Written {
    /// Everything handed in was written.
    All,
    /// Some result was not: its action was no longer this term's (the term is over).
    TermOver,
    /// A write failed (the first error).
    Failed(StoreError),
}

impl Writer {
    /// A writer for `term`, and the loop that does its writing: run the loop
    /// alongside the attempts; it ends once the `Writer` is dropped and every
    /// request is written.
    pub(super) fn open<'a>(engine: &'a Engine, term: &'a Term) -> (Writer, impl Future<Output = Written> + 'a) {
        let (requests, pending) = mpsc::unbounded_channel();
        let troubled = Arc::new(AtomicBool::new(false));
        (Writer { requests, troubled: troubled.clone() }, write_loop(engine, term, pending, troubled))
    }

    /// Appends the line that says an attempt started, if the action is still
    /// this term's (false: nothing was written).
    pub(super) async fn started(&self, id: i64, log: NewLog) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request::Started { id, log, reply }).map_err(|_| StoreError::WriterStopped)?;
        match answer.await {
            Ok(done) => done.map_err(StoreError::Shared),
            Err(_) => Err(StoreError::WriterStopped),
        }
    }

    /// Hands in how an attempt ended with its log line. Written only if the
    /// action is still this term's; the tick learns how the writing went at its end.
    pub(super) fn finished(&self, id: i64, finish: Finish, log: NewLog) {
        let request = Request::Finished { id, finish, log };
        if self.requests.send(request).is_err() {
            // The loop ends only after the writer is dropped: unreachable while it lives.
            self.troubled.store(true, Ordering::SeqCst);
        }
    }

    /// Whether a write failed or found the term over: start nothing more.
    pub(super) fn troubled(&self) -> bool {
        self.troubled.load(Ordering::SeqCst)
    }
}

async fn write_loop(
    engine: &Engine,
    term: &Term,
    mut pending: mpsc::UnboundedReceiver<Request>,
    troubled: Arc<AtomicBool>,
) -> Written {
    let lanes = engine.db().concurrent_writes();
    let rows = if lanes > 1 { LANE_ROWS } else { usize::MAX };
    let mut outcome = Written::All;
    let mut writes = FuturesUnordered::new();
    let mut open = true;
    loop {
        let done = tokio::select! {
            biased;
            request = pending.recv(), if open && writes.len() < lanes => {
                let Some(first) = request else {
                    open = false;
                    continue;
                };
                let mut batch = vec![first];
                while batch.len() < rows {
                    let Ok(more) = pending.try_recv() else { break };
                    batch.push(more);
                }
                writes.push(write(engine, term, batch));
                continue;
            }
            Some(done) = writes.next(), if !writes.is_empty() => done,
            else => break,
        };
        if !matches!(done, Written::All) {
            troubled.store(true, Ordering::SeqCst);
            if matches!(outcome, Written::All) {
                outcome = done;
            }
        }
    }
    outcome
}

/// Writes one batch and answers its "started" requests. Once the term has run
/// out by this process's clock nothing is written (the database's fence would
/// refuse it too, unless the clocks disagree).
async fn write(engine: &Engine, term: &Term, batch: Vec<Request>) -> Written {
    if term.expired() {
        for request in batch {
            if let Request::Started { reply, .. } = request {
                let _ = reply.send(Ok(false));
            }
        }
        return Written::TermOver;
    }
    let (mut started, mut finished) = (Vec::new(), Vec::new());
    for request in batch {
        match request {
            Request::Started { id, log, reply } => started.push((id, log, reply)),
            Request::Finished { id, finish, log } => finished.push((id, finish, log)),
        }
    }
    let fence = engine.fence(term.epoch);
    if !started.is_empty() {
        let lines: Vec<(i64, &NewLog)> = started.iter().map(|(id, log, _)| (*id, log)).collect();
        let written = engine.db().actions_log_if_mine(&fence, &lines).await.map_err(Arc::new);
        for (id, _, reply) in started {
            let _ = reply.send(written.as_ref().map(|ids| ids.contains(&id)).map_err(Arc::clone));
        }
    }
    if finished.is_empty() {
        return Written::All;
    }
    let results: Vec<(i64, &Finish, &NewLog)> = finished.iter().map(|(id, finish, log)| (*id, finish, log)).collect();
    match engine.db().actions_finish(&fence, &results).await {
        Ok(written) => {
            for after in &written {
                engine.metrics().attempt_ended(&after.status);
                tracing::info!(action_id = after.id, key = %after.key(), epoch = term.epoch, status = %after.status, "attempt ended");
            }
            match written.len() == results.len() {
                true => Written::All,
                false => Written::TermOver,
            }
        }
        Err(e) => {
            tracing::error!(error = %e, results = results.len(), "could not write the attempts' results");
            Written::Failed(e)
        }
    }
}
