//! The operator's controls: Pause/Resume, Kill/Revive, PROOF/REAL (REAL asks
//! first) and an optional reason, for those whose role may change the flags.
//! Built once (see [`Reading`]); their state lives in [`ControlState`], owned
//! by the page, so signing out and in again keeps it.

use crate::web::show::show;
use leptos::either::Either;
use leptos::prelude::*;

use super::reading::Reading;
use super::server::RunFlagCommand;
use super::status::StatusFacts;
use crate::model::FlagCommand;

/// UI state that must survive re-renders.
#[derive(Clone, Copy)]
pub struct ControlState {
    pub command: ServerAction<RunFlagCommand>,
    pub reason: RwSignal<String>,
    /// The "switch to REAL?" question is open.
    pub asking_real: RwSignal<bool>,
}

impl ControlState {
    pub fn new() -> ControlState {
        ControlState {
            command: ServerAction::new(),
            reason: RwSignal::new(String::new()),
            asking_real: RwSignal::new(false),
        }
    }

    fn send(self, command: FlagCommand, confirm: bool) {
        let reason = Some(self.reason.get_untracked()).filter(|r| !r.trim().is_empty());
        self.command.dispatch(RunFlagCommand { command, reason, confirm });
        self.reason.set(String::new());
        self.asking_real.set(false);
    }
}

#[component]
pub fn Controls(reading: Reading, operator: Signal<bool>, state: ControlState) -> impl IntoView {
    let flag = move |f: fn(&StatusFacts) -> bool| {
        let flag = reading.memo(move |d| f(&d.status));
        Signal::derive(move || flag.get().unwrap_or_default())
    };
    let flags = Flags { paused: flag(|f| f.paused), killed: flag(|f| f.killed), proof: flag(|f| f.proof) };
    view! {
        {show(move || operator.get(), move || view! { <OperatorControls flags state/> })}
    }
}

/// The flags the buttons are labelled by.
#[derive(Clone, Copy)]
struct Flags {
    paused: Signal<bool>,
    killed: Signal<bool>,
    proof: Signal<bool>,
}

#[component]
fn OperatorControls(flags: Flags, state: ControlState) -> impl IntoView {
    let Flags { paused, killed, proof } = flags;
    let (paused, killed, proof) = (move || paused.get(), move || killed.get(), move || proof.get());
    let busy = move || state.command.pending().get();
    // A button sends what it says at the moment of the click.
    let pause_cmd = move || if paused() { FlagCommand::Resume } else { FlagCommand::Pause };
    let kill_cmd = move || if killed() { FlagCommand::Revive } else { FlagCommand::Kill };
    crate::web::erase(view! {
        <div class="controls">
            <button class="btn" data-testid="pause-toggle" disabled=busy on:click=move |_| state.send(untrack(pause_cmd), false)>
                {move || if paused() { "Resume" } else { "Pause" }}
            </button>
            <button class="btn btn-danger" data-testid="kill-toggle" disabled=busy on:click=move |_| state.send(untrack(kill_cmd), false)>
                {move || if killed() { "Revive" } else { "Kill" }}
            </button>
            {move || if proof() {
                Either::Left(view! {
                    <button class="btn btn-outline" data-testid="mode-toggle" disabled=busy
                        on:click=move |_| state.asking_real.set(true)>
                        "Switch to REAL…"
                    </button>
                })
            } else {
                Either::Right(view! {
                    <button class="btn btn-outline" data-testid="mode-toggle" disabled=busy
                        on:click=move |_| state.send(FlagCommand::Proof, false)>
                        "Back to PROOF"
                    </button>
                })
            }}
            <input
                class="reason"
                data-testid="reason"
                type="text"
                placeholder="Reason (optional, recorded)"
                maxlength="200"
                prop:value=move || state.reason.get()
                on:input=move |ev| state.reason.set(event_target_value(&ev))
            />
        </div>
        {show(move || state.asking_real.get() && proof(), move || view! {
            <div class="confirm" role="alertdialog" aria-labelledby="confirm-real-title" data-testid="confirm-real">
                <p id="confirm-real-title">
                    <strong>"Switch to REAL?"</strong>
                    " Actions will be sent to the outside world for real, under your brand's name. "
                    "PROOF only writes what would be sent."
                </p>
                <button class="btn btn-danger" data-testid="confirm-real-yes" on:click=move |_| state.send(FlagCommand::Real, true)>
                    "Yes, switch to REAL"
                </button>
                <button class="btn btn-outline" data-testid="confirm-real-no" on:click=move |_| state.asking_real.set(false)>
                    "Stay in PROOF"
                </button>
            </div>
        })}
    })
}
