//! One action: payload, attempts, logs, its PROOF artifact re-checked against
//! the logged SHA-256, and the operator's re-queue / cancel.

mod forms;
mod server;

use crate::web::show::show;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::model::{ArtifactCheck, ArtifactState, ExecutionLog};
use crate::web::live::{use_live, LiveRegion};
use crate::web::time_text;
pub use forms::Changes;
use forms::{DecideForm, EditForm, ResolveForm};
use server::{get_action_page, ActionPageData, ShownAction};
pub use server::{ActionChange, ChangeAction};

/// `id`: from the path; `None` when it is not a number.
#[component]
pub fn ActionPage(id: Option<i64>) -> impl IntoView {
    let live = use_live();
    let change = Changes { id: id.unwrap_or_default(), action: ServerAction::new() };
    let data = Resource::new(
        move || (live.changes.get(), change.action.version().get()),
        move |_| async move {
            match id {
                Some(id) => get_action_page(id).await,
                None => Ok(ActionPageData { detail: None, operator: false }),
            }
        },
    );
    let error = move || {
        let failed = |v: Option<Result<crate::model::Action, ServerFnError>>| v.and_then(Result::err);
        failed(change.action.value().get()).map(|e| e.to_string())
    };

    // One `<Transition>` reads the resource; the parts that show data redraw
    // at every change, while each form is built once while the action's
    // status allows it, so what the operator types there stays put.
    let operator_sees = move |statuses: &'static [&'static str]| {
        move || {
            data.with(|d| {
                matches!(d, Some(Ok(ActionPageData { detail: Some(s), operator: true }))
                    if statuses.contains(&s.action.status.as_str()))
            })
        }
    };
    // The request shown now: an approval binds to it.
    let shown_sha = move || {
        data.with_untracked(|d| match d {
            Some(Ok(ActionPageData { detail: Some(s), .. })) => s.request.as_ref().map(|r| r.sha256.clone()),
            _ => None,
        })
    };
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
            Some(Ok(ActionPageData { detail: Some(shown), operator })) => {
                Some(EitherOf3::A(view! { <Detail shown=shown.clone() operator=*operator change/> }))
            }
            Some(Ok(ActionPageData { detail: None, .. })) => {
                Some(EitherOf3::B(view! { <p class="banner banner-error">"No such action."</p> }))
            }
            Some(Err(e)) => Some(EitherOf3::C(
                view! { <p class="banner banner-error" role="alert">"Cannot read the action: " {e.to_string()}</p> },
            )),
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
            {show(operator_sees(&["AWAITING_APPROVAL"]), move || view! { <DecideForm change sha=Signal::derive(shown_sha)/> })}
            {show(operator_sees(&["PENDING", "RETRY", "AWAITING_APPROVAL"]), move || view! {
                <EditForm change text=shown_text.get_untracked().unwrap_or_default()/>
            })}
            {show(operator_sees(&["UNCONFIRMED"]), move || view! { <ResolveForm change/> })}
        </Transition>
        </LiveRegion>
    }
}

#[component]
fn Detail(shown: ShownAction, operator: bool, change: Changes) -> impl IntoView {
    let ShownAction { action: a, logs, artifact, request, decisions, payload_pretty: payload, .. } = shown;
    let id = a.id;
    let status = a.status.clone();
    let can_requeue = matches!(status.as_str(), "FAILED" | "DLQ");
    let can_cancel = matches!(status.as_str(), "PENDING" | "RETRY");
    let time = |t: chrono::DateTime<chrono::Utc>| format!("{} {} UTC", time_text::date(t), time_text::hms_millis(t));
    // Where, under which policy and in which window it may be sent, in one line.
    let route = a.channel.clone().map(|channel| {
        let mut parts = vec![channel, format!("policy {}", a.policy.as_deref().unwrap_or("-"))];
        parts.extend(a.scheduled_for_utc.map(|t| format!("not before {}", time(t))));
        parts.extend(a.not_after_utc.map(|t| format!("not after {}", time(t))));
        parts.join(" · ")
    });
    view! {
        <section class="card" aria-label="Action">
            <h2>"#" {id} " · " <span class="key">{a.idempotency_key.clone()}</span></h2>
            <dl class="facts">
                <div><dt>"Status"</dt><dd data-testid="action-status" class=crate::web::pill_class("status", &status)>{status.clone()}</dd></div>
                <div><dt>"Type"</dt><dd>{a.action_type.clone()}</dd></div>
                <div><dt>"Attempts"</dt><dd data-testid="action-attempts">{a.attempts}</dd></div>
                <div><dt>"Not before"</dt><dd>{time(a.not_before_utc)}</dd></div>
                <div><dt>"Created"</dt><dd>{time(a.created_at_utc)}</dd></div>
                <div><dt>"Updated"</dt><dd>{time(a.updated_at_utc)}</dd></div>
                {a.remote_id.clone().or_else(|| a.remote_url.clone()).map(|remote| view! {
                    <div class="wide"><dt>"Posted"</dt><dd>
                        {match a.remote_url.clone() {
                            Some(url) => Either::Left(view! { <a href=url rel="noopener noreferrer" target="_blank" data-testid="remote-link">{remote}</a> }),
                            None => Either::Right(view! { <span class="key" data-testid="remote-link">{remote}</span> }),
                        }}
                    </dd></div>
                })}
                {a.prepared_sha256.clone().map(|sha| view! {
                    <div class="wide"><dt>"Request SHA-256"</dt><dd class="key" data-testid="prepared-sha256">{sha}</dd></div>
                })}
                {route.map(|route| view! {
                    <div class="wide"><dt>"Channel"</dt><dd data-testid="action-route">{route}</dd></div>
                })}
            </dl>
            {a.last_error.clone().map(|e| view! { <p class="error-text" data-testid="last-error">"Last error: " {e}</p> })}
            {if !operator {
                Either::Left(view! { <p class="meta">"Sign in on the Autonomy page to re-queue or cancel."</p> })
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
        <section class="card" aria-label="Payload">
            <h2>"Payload"</h2>
            <pre class="code" data-testid="payload">{payload}</pre>
        </section>
        {request.map(|r| view! {
            <section class="card" aria-label="Request">
                <h2>"What REAL would send"</h2>
                <p class="meta">"POST " <span class="key">{r.url}</span></p>
                <pre class="code" data-testid="request-body">{r.body}</pre>
                <p class="key" data-testid="request-sha">"SHA-256 " {r.sha256}</p>
            </section>
        })}
        {(!decisions.is_empty()).then(|| view! {
            <section class="card" aria-label="Decisions">
                <h2>"Approvals"</h2>
                <ul class="decisions">
                    {decisions.into_iter().map(|d| view! { <li data-testid="decision">{d}</li> }).collect_view()}
                </ul>
            </section>
        })}
        {artifact.map(|check| view! { <Artifact check/> })}
        <section class="card" aria-label="Execution log">
            <h2>"Execution log"</h2>
            <LogTable logs/>
        </section>
    }
}

#[component]
fn Artifact(check: ArtifactCheck) -> impl IntoView {
    let (word, class, note) = match &check.state {
        ArtifactState::Verified => ("verified", "status-success", "The file's SHA-256 matches the log.".to_string()),
        ArtifactState::Changed { actual_sha256 } => (
            "changed",
            "status-failed",
            format!("The file changed since it was logged: its SHA-256 is now {actual_sha256}."),
        ),
        ArtifactState::Missing => ("missing", "status-failed", "The file is gone.".to_string()),
        ArtifactState::Elsewhere => {
            ("not here", "status-cancelled", "The file is not under this server's AOL_ARTIFACT_DIR.".to_string())
        }
    };
    view! {
        <section class="card" aria-label="PROOF artifact">
            <h2>"PROOF artifact " <span class=format!("pill {class}") data-testid="artifact-state">{word}</span></h2>
            <p class="meta">{note}</p>
            <p class="key" data-testid="artifact-path">{check.path.clone()}</p>
            <p class="key">"SHA-256 " {check.logged_sha256.clone()}</p>
            {check.preview.map(|p| view! { <pre class="code" data-testid="artifact-preview">{p}</pre> })}
        </section>
    }
}

#[component]
fn LogTable(logs: Vec<ExecutionLog>) -> impl IntoView {
    view! {
        <table class="table" data-testid="logs">
            <thead><tr><th>"Time (UTC)"</th><th>"Level"</th><th>"Message"</th></tr></thead>
            <tbody>
                {logs.into_iter().map(|l| view! {
                    <tr>
                        <td>{time_text::hms_millis(l.ts_utc)}</td>
                        <td><span class=crate::web::pill_class("level", &l.level)>{l.level.clone()}</span></td>
                        <td>{l.message.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
