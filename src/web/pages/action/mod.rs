//! One action: payload, attempts, logs, its PROOF artifact re-checked against
//! the logged SHA-256, and the operator's re-queue / cancel.

#[cfg(feature = "ssr")]
mod drawn;
mod forms;
mod server;

use crate::web::show::show;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::model::Right;
use crate::web::live::{use_live, LiveRegion};
pub use forms::Changes;
use forms::{DecideForm, EditForm, ResolveForm};
use server::{get_action_page, ActionPageData, ShownAction};
pub use server::{ActionChange, ChangeAction};

/// `id`: from the path; `None` when it is not a number.
#[component]
pub fn ActionPage(id: Option<i64>) -> impl IntoView {
    let live = use_live();
    let change = Changes { id: id.unwrap_or_default(), action: ServerAction::new() };
    let session = crate::web::session_bar::use_session();
    let data = Resource::new(
        move || (live.changes.get(), change.action.version().get(), session.version()),
        move |_| async move {
            match id {
                Some(id) => get_action_page(id).await,
                None => Ok(ActionPageData { detail: None, me: Default::default() }),
            }
        },
    );
    let error = move || {
        let failed = |v: Option<Result<(), ServerFnError>>| v.and_then(Result::err);
        failed(change.action.value().get()).map(|e| e.to_string())
    };

    // One `<Transition>` reads the resource; the parts that show data redraw
    // at every change, while each form is built once while the action's
    // status allows it, so what the operator types there stays put.
    let operator_sees = move |right: Right, statuses: &'static [&'static str]| {
        move || {
            data.with(|d| {
                matches!(d, Some(Ok(ActionPageData { detail: Some(s), me }))
                    if me.may(right) && statuses.contains(&s.status.as_str()))
            })
        }
    };
    // The request shown now: an approval binds to it.
    let shown_sha = Memo::new(move |_| {
        data.with(|d| match d {
            Some(Ok(ActionPageData { detail: Some(s), .. })) => s.sha.clone(),
            _ => None,
        })
    });
    // The text the edit form starts from. A memo, not a read of the resource
    // in the form's `show`: reading a resource there, even untracked, makes
    // the form be built again at every refresh, losing what was typed.
    let shown_text = Memo::new(move |_| {
        data.with(|d| match d {
            Some(Ok(ActionPageData { detail: Some(s), .. })) => s.text.clone(),
            _ => None,
        })
    });
    let shown = move || {
        data.with(|d| match d {
            Some(Ok(ActionPageData { detail: Some(shown), me })) => {
                Some(EitherOf3::A(view! { <Detail shown=shown.clone() operator=me.may(Right::Decide) change/> }))
            }
            Some(Ok(ActionPageData { detail: None, .. })) => {
                Some(EitherOf3::B(view! { <p class="banner banner-error">"No such action."</p> }))
            }
            Some(Err(e)) => Some(EitherOf3::C(crate::web::session_bar::unreadable(e.clone()))),
            None => None,
        })
    };

    view! {
        <header class="page-header">
            <h1><a href="/" class="home">"AOL"</a></h1>
            <span class="page-subtitle">"Action"</span>
        </header>
        <p><a href="/" data-testid="back">"← Autonomy"</a></p>
        {move || error().map(|e| view! { <p class="banner banner-error" role="alert">{e}</p> })}
        <LiveRegion live>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {shown}
            {show(operator_sees(Right::Decide, &["AWAITING_APPROVAL"]), move || view! {
                <DecideForm change sha=shown_sha.into()/>
            })}
            {show(operator_sees(Right::Edit, &["PENDING", "RETRY", "AWAITING_APPROVAL"]), move || view! {
                <EditForm change text=shown_text.get_untracked().unwrap_or_default()/>
            })}
            {show(operator_sees(Right::Decide, &["UNCONFIRMED"]), move || view! { <ResolveForm change/> })}
        </Transition>
        </LiveRegion>
    }
}

#[component]
fn Detail(shown: ShownAction, operator: bool, change: Changes) -> impl IntoView {
    let can_requeue = matches!(shown.status.as_str(), "FAILED" | "DLQ");
    let can_cancel = matches!(shown.status.as_str(), "PENDING" | "RETRY");
    view! {
        <section class="card" aria-label="Action">
            {shown.facts.view()}
            {if !operator {
                Either::Left(view! { <p class="meta">"Re-queueing and cancelling take an approver or an admin."</p> })
            } else {
                Either::Right(view! {
                    <div class="controls">
                        {can_requeue.then(|| view! {
                            <button class="btn" data-testid="requeue" on:click=move |_| change.send(ActionChange::Requeue, None, None)>
                                "Re-queue"
                            </button>
                        })}
                        {can_cancel.then(|| view! {
                            <button class="btn btn-danger" data-testid="cancel" on:click=move |_| change.send(ActionChange::Cancel, None, None)>
                                "Cancel"
                            </button>
                        })}
                    </div>
                })
            }}
        </section>
        {shown.record.view()}
    }
}
