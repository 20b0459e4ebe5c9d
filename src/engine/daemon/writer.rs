//! Group commit for one tick: its attempts hand their "started" lines and
//! their results to one writer, which writes everything pending at that moment
//! in one statement (started lines) and one transaction (results). A lone
//! request is written at once; under load each write carries many. Round trips
//! per action, not the databases themselves, were what limited processing
//! (docs/scaling.md). A PROOF attempt hands its "started" line in with its
//! result (see `attempt`), written in the result's transaction just before
//! it: one wait per attempt instead of two.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::engine::lease::Term;
use crate::engine::Engine;
use crate::model::Action;
use crate::storage::{Finish, NewLog, StoreError};

type Reply<T> = oneshot::Sender<Result<T, Arc<StoreError>>>;

enum Request {
    Started { id: i64, log: NewLog, reply: Reply<bool> },
    Finished { id: i64, finish: Finish, log: NewLog, started: Option<Box<NewLog>>, reply: Reply<Option<Action>> },
}

/// Where a tick's attempts send what they write.
pub(super) struct Writer {
    requests: mpsc::UnboundedSender<Request>,
}

impl Writer {
    /// A writer for `term`, and the loop that does its writing: run the loop
    /// alongside the attempts; it ends once the `Writer` is dropped and every
    /// request is written.
    pub(super) fn open<'a>(engine: &'a Engine, term: &'a Term) -> (Writer, impl Future<Output = ()> + 'a) {
        let (requests, pending) = mpsc::unbounded_channel();
        (Writer { requests }, write_loop(engine, term, pending))
    }

    /// Appends the line that says an attempt started, if the action is still
    /// this term's (false: nothing was written).
    pub(super) async fn started(&self, id: i64, log: NewLog) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Started { id, log, reply }, answer).await
    }

    /// Writes how an attempt ended with its log line, after its `started`
    /// line if that was not written before; `None` if the action is no longer
    /// this term's (nothing was written).
    pub(super) async fn finished(
        &self,
        id: i64,
        finish: Finish,
        log: NewLog,
        started: Option<NewLog>,
    ) -> Result<Option<Action>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Finished { id, finish, log, started: started.map(Box::new), reply }, answer).await
    }

    async fn send<T>(
        &self,
        request: Request,
        answer: oneshot::Receiver<Result<T, Arc<StoreError>>>,
    ) -> Result<T, StoreError> {
        self.requests.send(request).map_err(|_| StoreError::WriterStopped)?;
        match answer.await {
            Ok(done) => done.map_err(StoreError::Shared),
            Err(_) => Err(StoreError::WriterStopped),
        }
    }
}

async fn write_loop(engine: &Engine, term: &Term, mut pending: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = pending.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = pending.try_recv() {
            batch.push(more);
        }
        write(engine, term, batch).await;
    }
}

/// Writes one batch and answers every request in it. Once the term has run
/// out by this process's clock nothing is written (the database's fence would
/// refuse it too, unless the clocks disagree).
async fn write(engine: &Engine, term: &Term, batch: Vec<Request>) {
    if term.expired() {
        for request in batch {
            match request {
                Request::Started { reply, .. } => drop(reply.send(Ok(false))),
                Request::Finished { reply, .. } => drop(reply.send(Ok(None))),
            }
        }
        return;
    }
    let (mut started, mut finished, mut handed_in) = (Vec::new(), Vec::new(), Vec::new());
    for request in batch {
        match request {
            Request::Started { id, log, reply } => started.push((id, log, reply)),
            Request::Finished { id, finish, log, started: first, reply } => {
                if let Some(line) = first {
                    handed_in.push((id, *line));
                }
                finished.push((id, finish, log, reply));
            }
        }
    }
    if !started.is_empty() {
        let lines: Vec<(i64, &NewLog)> = started.iter().map(|(id, log, _)| (*id, log)).collect();
        let written = engine.db().actions_log_if_mine(&engine.fence(term.epoch), &lines).await.map_err(Arc::new);
        for (id, _, reply) in started {
            let _ = reply.send(written.as_ref().map(|ids| ids.contains(&id)).map_err(Arc::clone));
        }
    }
    if !finished.is_empty() {
        let results: Vec<(i64, &Finish, &NewLog)> =
            finished.iter().map(|(id, finish, log, _)| (*id, finish, log)).collect();
        let first: Vec<(i64, &NewLog)> = handed_in.iter().map(|(id, line)| (*id, line)).collect();
        let written = engine.db().actions_finish(&engine.fence(term.epoch), &results, &first).await.map_err(Arc::new);
        for (id, _, _, reply) in finished {
            let _ = reply
                .send(written.as_ref().map(|actions| actions.iter().find(|a| a.id == id).cloned()).map_err(Arc::clone));
        }
    }
}
