//! The Autonomy page: the operator's live view of the flags and the daemon's
//! ticks, with the Pause/Resume and Kill/Revive controls.

mod channels;
mod chart;
mod controls;
mod enqueue_form;
mod inbox;
mod queue;
mod reading;
mod server;

use crate::web::show::show;
use chrono::{DateTime, Utc};
use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{FlagChange, Lease, Overview, TickRow};
use crate::web::live::{use_live, Live, LiveRegion};
use crate::web::time_text;
use channels::{ChannelState, ChannelsCard};
use chart::ActivityChart;
use controls::{ControlState, Controls};
use enqueue_form::EnqueueState;
use inbox::{InboxCard, InboxState};
use queue::{QueueCard, QueueState};
use reading::Reading;
use server::get_dashboard;

#[component]
pub fn AutonomyPage() -> impl IntoView {
    let live = use_live();
    let state = ControlState::new();
    let enqueue = EnqueueState::new();
    let command = state.command;
    let signed = move || (state.login.version().get(), state.logout.version().get());
    let queue = QueueState::new();
    let channel_state = ChannelState::new();
    let inbox = InboxState::new();
    let reading = Reading(Resource::new(
        move || {
            let own = (
                command.version().get(),
                enqueue.action.version().get(),
                channel_state.changes(),
                inbox.decide.version().get(),
            );
            (live.changes.get(), own, signed(), queue.filter())
        },
        |(.., filter)| get_dashboard(filter),
    ));

    view! {
        <header class="page-header">
            <h1>"AOL"</h1>
            <span class="page-subtitle">"Autonomy"</span>
        </header>
        <LiveRegion live>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || reading.error().map(|e| view! {
                <p class="banner banner-error" role="alert" data-testid="state-unreadable">
                    "Cannot read AOL's state (" {e} "). Trying again at the next change…"
                </p>
            })}
            {show(move || reading.map(|_| ()).is_some(), move || view! {
                <Dashboard reading state enqueue queue channel_state inbox live/>
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
    live: Live,
) -> impl IntoView {
    let operator = reading.memo(|d| d.operator);
    let operator = Signal::derive(move || operator.get().unwrap_or(false));
    let trouble = move || {
        reading.map(|d| d.overview.daemon_trouble.clone()).flatten().map(|t| {
            view! {
                <p class="banner banner-error" role="alert" data-testid="daemon-trouble">
                    "The daemon cannot write to the database (since " {time_text::date_hms(t.since_utc)} " UTC): "
                    {t.message} ". It keeps trying."
                </p>
            }
        })
    };

    crate::web::erase(view! {
        {trouble}
        <StatusCard reading operator state live/>
        <InboxCard reading operator state=inbox/>
        <section class="card" aria-label="Flag changes">
            <h2>"Recent flag changes"</h2>
            {move || reading.map(|d| view! { <FlagChanges changes=d.changes.clone()/> })}
        </section>
        <QueueCard reading operator enqueue queue/>
        <ChannelsCard reading operator state=channel_state reason=state.reason/>
        <section class="card" aria-label="Recent ticks">
            <h2>"Recent ticks"</h2>
            {move || reading.map(|d| view! {
                <ActivityChart buckets=d.activity.clone()/>
                <TicksTable ticks=d.overview.recent_ticks.clone()/>
            })}
        </section>
    })
}

#[component]
fn StatusCard(reading: Reading, operator: Signal<bool>, state: ControlState, live: Live) -> impl IntoView {
    crate::web::erase(view! {
        <section class="card status-card" aria-label="Daemon status">
            {move || reading.map(|d| view! { <Facts overview=d.overview.clone() llm_configured=d.info.llm_configured live/> })}
            <Controls reading operator state/>
            {move || reading.map(|d| {
                let flags = &d.overview.flags;
                view! {
                    <p class="meta">
                        "Flags last changed " {time_text::date_hms(flags.updated_at_utc)} " UTC"
                        " by " {flags.updated_by.clone()}
                    </p>
                }
            })}
        </section>
    })
}

/// The daemon's state, the flags and the lease, as of one reading.
#[component]
fn Facts(overview: Overview, llm_configured: bool, live: Live) -> impl IntoView {
    let flags = overview.flags.clone();
    // Relative times move on between readings, on the server's clock.
    let now = live.server_now(overview.read_at_utc);
    let (daemon_state, why) = overview.daemon_state();
    let state_class = format!("pill state-{}", daemon_state.as_str());
    let (mode, mode_class) = if flags.proof_mode { ("PROOF", "mode-proof") } else { ("REAL", "mode-real") };
    let last_tick = overview.last_tick.clone();
    let last_tick = move || match &last_tick {
        Some(t) => format!("#{} {} · {}", t.id, t.status, ago(t.finished_at_utc, now())),
        None => "none yet".to_string(),
    };
    let lease = overview.lease.clone();
    let lease = move || lease_text(lease.as_ref(), now());
    let awaiting = overview.counts.iter().find(|c| c.status == "AWAITING_APPROVAL").map_or(0, |c| c.count);

    view! {
        <dl class="facts">
            <div class="wide">
                <dt>"Daemon"</dt>
                <dd data-testid="daemon-state" class=state_class title=why.clone()>{daemon_state.as_str()}</dd>
                <dd class="why" data-testid="daemon-why">{why}</dd>
            </div>
            <div>
                <dt>"Mode"</dt>
                <dd data-testid="mode" class=format!("pill {mode_class}")>{mode}</dd>
            </div>
            <div>
                <dt>"Paused"</dt>
                <dd data-testid="flag-paused">{yes_no(flags.paused)}</dd>
            </div>
            <div>
                <dt>"Killed"</dt>
                <dd data-testid="flag-killed">{yes_no(flags.killed)}</dd>
            </div>
            <div>
                <dt>"Ticks in ledger"</dt>
                <dd data-testid="ledger-rows">{overview.ledger_rows}</dd>
            </div>
            <div>
                <dt>"LLM"</dt>
                <dd data-testid="llm">{if llm_configured { "configured" } else { "not configured (not needed)" }}</dd>
            </div>
            <div class="wide">
                <dt>"Lease"</dt>
                <dd data-testid="lease">{lease}</dd>
            </div>
            <div>
                <dt>"Last tick"</dt>
                <dd data-testid="last-tick">{last_tick}</dd>
            </div>
            <div>
                <dt>"Awaiting approval"</dt>
                <dd><a href="#approvals" data-testid="header-inbox-count">{awaiting}</a></dd>
            </div>
        </dl>
    }
}

#[component]
fn TicksTable(ticks: Vec<TickRow>) -> impl IntoView {
    if ticks.is_empty() {
        return Either::Left(view! { <p class="empty">"No tick yet."</p> });
    }
    Either::Right(view! {
        <table class="table table-ticks" data-testid="ticks">
            <thead>
                <tr><th>"#"</th><th>"Started (UTC)"</th><th>"Status"</th><th>"Attempted"</th><th>"Succeeded"</th><th>"Notes"</th></tr>
            </thead>
            <tbody>
                {ticks.into_iter().map(|t| view! {
                    <tr>
                        <td>{t.id}</td>
                        <td>{time_text::hms_millis(t.started_at_utc)}</td>
                        <td><span class=crate::web::pill_class("tick", &t.status)>{t.status.clone()}</span></td>
                        <td>{t.actions_attempted}</td>
                        <td>{t.actions_succeeded}</td>
                        <td>{t.notes.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    })
}

#[component]
fn FlagChanges(changes: Vec<FlagChange>) -> impl IntoView {
    if changes.is_empty() {
        return Either::Left(view! { <p class="empty">"No change yet."</p> });
    }
    Either::Right(view! {
        <table class="table table-changes" data-testid="flag-changes">
            <thead>
                <tr><th>"When (UTC)"</th><th>"Who"</th><th>"Change"</th><th>"Reason"</th></tr>
            </thead>
            <tbody>
                {changes.into_iter().map(|c| view! {
                    <tr>
                        <td>{time_text::date_hms(c.changed_at_utc)}</td>
                        <td>{c.changed_by.clone()}</td>
                        <td>{describe_change(&c)}</td>
                        <td>{c.reason.clone().unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    })
}

/// "paused: no → yes", "mode: PROOF → REAL".
fn describe_change(c: &FlagChange) -> String {
    let word = |v: bool| {
        if c.flag == "proof_mode" {
            if v {
                "PROOF"
            } else {
                "REAL"
            }
        } else if v {
            "yes"
        } else {
            "no"
        }
    };
    let name = if c.flag == "proof_mode" { "mode" } else { c.flag.as_str() };
    format!("{name}: {} → {}", word(c.old_value), word(c.new_value))
}

/// "host:pid:… (epoch 3), 24 s left", or that no daemon holds it.
fn lease_text(lease: Option<&Lease>, now: DateTime<Utc>) -> String {
    match lease {
        Some(l) if l.expires_at_utc > now => {
            let left = (l.expires_at_utc - now).num_seconds();
            format!("{} (epoch {}), {left} s left", l.owner, l.epoch)
        }
        Some(l) => format!("free (last held by {}, epoch {})", l.owner, l.epoch),
        None => "never taken".to_string(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// "3 s ago", from the server's own clock so the browser's clock does not matter.
fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}
