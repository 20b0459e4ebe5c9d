//! The Autonomy page: the operator's live view of the flags and the daemon's
//! ticks, with the Pause/Resume and Kill/Revive controls.

mod channels;
#[cfg(feature = "ssr")]
mod chart;
mod controls;
mod enqueue_form;
#[cfg(feature = "ssr")]
mod history;
mod inbox;
mod notifiers;
mod queue;
mod reading;
mod server;
mod status;

use crate::web::show::show;
use leptos::prelude::*;

use crate::model::Right;

use crate::web::live::{use_live, Live, LiveRegion};
use crate::web::server_html::drawn;
use channels::{ChannelState, ChannelsCard};
use controls::ControlState;
use enqueue_form::EnqueueState;
use inbox::{InboxCard, InboxState};
use notifiers::{NotifierState, NotifiersCard};
use queue::{QueueCard, QueueState};
use reading::Reading;
use server::get_dashboard;
use status::StatusCard;

#[component]
pub fn AutonomyPage() -> impl IntoView {
    let live = use_live();
    let state = ControlState::new();
    let enqueue = EnqueueState::new();
    let command = state.command;
    let session = crate::web::session_bar::use_session();
    let signed = move || session.version();
    let queue = QueueState::new();
    let channel_state = ChannelState::new();
    let inbox = InboxState::new();
    let notifiers = NotifierState::new();
    let reading = Reading::new(
        Resource::new(
            move || {
                let own = (
                    command.version().get(),
                    enqueue.action.version().get(),
                    channel_state.changes(),
                    inbox.decide.version().get(),
                    notifiers.change.version().get(),
                );
                (live.changes.get(), own, signed(), queue.filter())
            },
            |(.., filter)| get_dashboard(filter),
        ),
        live,
    );

    view! {
        <header class="page-header">
            <h1>"AOL"</h1>
            <span class="page-subtitle">"Autonomy"</span>
            <a class="page-link" href="/audit" data-testid="audit-link">"Audit trail"</a>
        </header>
        <LiveRegion live>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || reading.error().map(|e| crate::web::session_bar::unreadable(ServerFnError::new(e)))}
            {show(move || reading.map(|_| ()).is_some(), move || view! {
                <Dashboard reading state enqueue queue channel_state inbox notifiers live/>
            })}
        </Transition>
        </LiveRegion>
        {move || state.command.value().get().and_then(Result::err).map(|e| view! {
            <p class="banner banner-error" role="alert">"The change was not made: " {e.to_string()}</p>
        })}
    }
}

/// Built once per good reading after a bad one (see [`Reading`]): each
/// `move || reading.map(…)` below redraws one part at every change.
#[component]
fn Dashboard(
    reading: Reading,
    state: ControlState,
    enqueue: EnqueueState,
    queue: QueueState,
    channel_state: ChannelState,
    inbox: InboxState,
    notifiers: NotifierState,
    live: Live,
) -> impl IntoView {
    let me = reading.memo(|d| d.me.clone());
    let may = move |right: Right| Signal::derive(move || me.with(|m| m.as_ref().is_some_and(|m| m.may(right))));
    let trouble = move || {
        reading.map(|d| d.status.trouble.clone()).flatten().map(|t| {
            view! { <p class="banner banner-error" role="alert" data-testid="daemon-trouble">{t}</p> }
        })
    };

    crate::web::erase(view! {
        {trouble}
        <StatusCard reading operator=may(Right::Control) state live/>
        <InboxCard reading operator=may(Right::Decide) state=inbox/>
        <section class="card" aria-label="Flag changes">
            <h2>"Recent flag changes"</h2>
            {drawn(move || reading.map(|d| d.changes.clone()))}
        </section>
        <QueueCard reading operator=may(Right::Enqueue) enqueue queue/>
        <ChannelsCard reading operator=may(Right::Configure) state=channel_state reason=state.reason/>
        <NotifiersCard reading operator=may(Right::Configure) state=notifiers/>
        <section class="card" aria-label="Recent ticks">
            <h2>"Recent ticks"</h2>
            {drawn(move || reading.map(|d| d.ticks.clone()))}
        </section>
    })
}
