//! `GET /ui/events`: server-sent events that tell an open page to re-read
//! what it shows. Each event carries only a counter; the page fetches the
//! data through its server functions, so there is one way to read state.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{stream, Stream, StreamExt};

use crate::engine::ChangeFeed;
use crate::web::live::CHANGE_EVENT;

/// How long the browser waits before it reconnects after losing the stream.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

pub async fn events(State(feed): State<ChangeFeed>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = feed.subscribe();
    let current = *rx.borrow();
    // The first event tells a (re)connected page to catch up on what it missed.
    let first = Event::default().event(CHANGE_EVENT).retry(RECONNECT_AFTER).data(current.to_string());
    let later = stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let n = *rx.borrow_and_update();
        Some((Event::default().event(CHANGE_EVENT).data(n.to_string()), rx))
    });
    let stream = stream::once(async move { first })
        .chain(later)
        .map(Ok)
        // Open streams would hold a graceful shutdown forever.
        .take_until(feed.shutdown().clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
