//! The status card: the daemon's state, the flags, the lease and the last
//! tick, with the Pause/Resume and Kill/Revive controls.

use leptos::prelude::*;

use super::controls::{ControlState, Controls};
use super::reading::Reading;
use crate::web::live::Live;

/// The card's facts, worded by the server as it read them. The browser only
/// moves the two clocks on between readings (the last tick's age, the
/// lease's time left), by its own count of seconds: its wall clock may be
/// wrong, and the page carries no date code.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusFacts {
    /// running, paused, killed, standby or stopped, and why.
    pub state: String,
    pub why: String,
    pub paused: bool,
    pub killed: bool,
    pub proof: bool,
    pub ledger_rows: i64,
    pub llm_configured: bool,
    /// "#12 SUCCESS"; none before the first tick.
    pub last_tick: Option<String>,
    /// Seconds from the last tick's end to the reading.
    pub last_tick_age: i64,
    /// "host:pid:… (epoch 3)" while a daemon holds the lease.
    pub lease_holder: Option<String>,
    /// Seconds the holder had left at the reading.
    pub lease_left: i64,
    /// What the lease line says when nobody holds it.
    pub lease_free: String,
    /// Actions awaiting approval, all of them.
    pub awaiting: i64,
    /// "Flags last changed 2026-11-27 10:00:00 UTC by ops".
    pub flags_changed: String,
    /// Why the daemon of this server cannot write, and since when.
    pub trouble: Option<String>,
}

#[cfg(feature = "ssr")]
impl StatusFacts {
    pub fn read(o: &crate::model::Overview, llm_configured: bool) -> StatusFacts {
        use crate::web::time_text::date_hms;
        let (state, why) = o.daemon_state();
        let held = o.lease_holder();
        StatusFacts {
            state: state.as_str().to_string(),
            why,
            paused: o.flags.paused,
            killed: o.flags.killed,
            proof: o.flags.proof_mode,
            ledger_rows: o.ledger_rows,
            llm_configured,
            last_tick: o.last_tick.as_ref().map(|t| format!("#{} {}", t.id, t.status)),
            last_tick_age: o.last_tick.as_ref().map_or(0, |t| (o.read_at_utc - t.finished_at_utc).num_seconds().max(0)),
            lease_holder: held.map(|l| format!("{} (epoch {})", l.owner, l.epoch)),
            lease_left: held.map_or(0, |l| (l.expires_at_utc - o.read_at_utc).num_seconds()),
            lease_free: match &o.lease {
                Some(l) => format!("free (last held by {}, epoch {})", l.owner, l.epoch),
                None => "never taken".to_string(),
            },
            awaiting: o.count_of(crate::model::ActionStatus::AwaitingApproval),
            flags_changed: format!(
                "Flags last changed {} UTC by {}",
                date_hms(o.flags.updated_at_utc),
                o.flags.updated_by
            ),
            trouble: o.daemon_trouble.as_ref().map(|t| {
                format!(
                    "The daemon cannot write to the database (since {} UTC): {}. It keeps trying.",
                    date_hms(t.since_utc),
                    t.message
                )
            }),
        }
    }
}

#[component]
pub fn StatusCard(reading: Reading, operator: Signal<bool>, state: ControlState, live: Live) -> impl IntoView {
    crate::web::erase(view! {
        <section class="card status-card" aria-label="Daemon status">
            {move || reading.map(|d| view! { <Facts facts=d.status.clone() live/> })}
            <Controls reading operator state/>
            <p class="meta">{move || reading.map(|d| d.status.flags_changed.clone())}</p>
        </section>
    })
}

/// The facts of one reading.
#[component]
fn Facts(facts: StatusFacts, live: Live) -> impl IntoView {
    let StatusFacts { state, why, proof, paused, killed, ledger_rows, llm_configured, awaiting, .. } = facts;
    let since = live.since_now();
    let last_tick = facts.last_tick.map(|t| (t, facts.last_tick_age));
    let last_tick = move || match &last_tick {
        Some((t, age)) => format!("{t} · {}", ago(age + since())),
        None => "none yet".to_string(),
    };
    let (holder, left, free) = (facts.lease_holder, facts.lease_left, facts.lease_free);
    let lease = move || match &holder {
        Some(h) if left - since() > 0 => format!("{h}, {} s left", left - since()),
        _ => free.clone(),
    };
    let state_class = format!("pill state-{state}");
    let (mode, mode_class) = if proof { ("PROOF", "pill mode-proof") } else { ("REAL", "pill mode-real") };

    view! {
        <dl class="facts">
            <div class="wide">
                <dt>"Daemon"</dt>
                <dd data-testid="daemon-state" class=state_class title=why.clone()>{state}</dd>
                <dd class="why" data-testid="daemon-why">{why}</dd>
            </div>
            <div>
                <dt>"Mode"</dt>
                <dd data-testid="mode" class=mode_class>{mode}</dd>
            </div>
            <div>
                <dt>"Paused"</dt>
                <dd data-testid="flag-paused">{yes_no(paused)}</dd>
            </div>
            <div>
                <dt>"Killed"</dt>
                <dd data-testid="flag-killed">{yes_no(killed)}</dd>
            </div>
            <div>
                <dt>"Ticks in ledger"</dt>
                <dd data-testid="ledger-rows">{ledger_rows}</dd>
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

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// "3 s ago", "4 min ago", "2 h ago".
fn ago(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}
