//! One action: payload, attempts, logs, its PROOF artifact re-checked against
//! the logged SHA-256, and the operator's re-queue / cancel.

mod server;

use crate::web::show::show;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::model::{ArtifactCheck, ArtifactState, ExecutionLog};
use crate::web::live::{use_live, LiveRegion};
use crate::web::time_text;
use server::{get_action_page, ActionChange, ActionPageData, ChangeAction, ShownAction};

/// `id`: from the path; `None` when it is not a number.
#[component]
pub fn ActionPage(id: Option<i64>) -> impl IntoView {
    let live = use_live();
    let change = ServerAction::<ChangeAction>::new();
    let data = Resource::new(
        move || (live.changes.get(), change.version().get()),
        move |_| async move {
            match id {
                Some(id) => get_action_page(id).await,
                None => Ok(ActionPageData { detail: None, operator: false }),
            }
        },
    );
    let error = move || {
        let failed = |v: Option<Result<crate::model::Action, ServerFnError>>| v.and_then(Result::err);
        failed(change.value().get()).map(|e| e.to_string())
    };

    // One `<Transition>` reads the resource; the parts that show data redraw
    // at every change, while the settle form is built once while the action
    // is UNCONFIRMED, so what the operator types there stays put.
    let unconfirmed = move || {
        data.with(|d| {
            matches!(d, Some(Ok(ActionPageData { detail: Some(s), operator: true }))
                if s.detail.action.status == "UNCONFIRMED")
        })
    };
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
            {show(unconfirmed, move || view! { <ResolveForm id=id.unwrap_or_default() change/> })}
        </Transition>
        </LiveRegion>
    }
}

/// "It was posted" (with an optional link) or "send it again", with a reason.
#[component]
fn ResolveForm(id: i64, change: ServerAction<ChangeAction>) -> impl IntoView {
    let (url, reason) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let send = move |posted: bool| {
        let optional = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let url = if posted { optional(url) } else { None };
        let how = if posted { ActionChange::Posted } else { ActionChange::SendAgain };
        change.dispatch(ChangeAction { id, change: how, url, reason: optional(reason) });
    };
    view! {
        <section class="card" aria-label="Settle" data-testid="resolve">
            <h2>"Was it posted?"</h2>
            <p class="meta">
                "The request may have reached the platform and its answer was lost, so AOL does not send it again by itself. "
                "Check the account, then say what you found."
            </p>
            <div class="controls">
                <input type="url" class="link" data-testid="resolve-url" placeholder="Link to the post (optional)"
                    prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                <input type="text" class="reason" data-testid="resolve-reason" placeholder="Reason (optional, recorded)" maxlength="200"
                    prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                <button class="btn" data-testid="resolve-posted" disabled=move || change.pending().get()
                    on:click=move |_| send(true)>"It was posted"</button>
                <button class="btn btn-danger" data-testid="resolve-resend" disabled=move || change.pending().get()
                    on:click=move |_| send(false)>"Send it again"</button>
            </div>
        </section>
    }
}

#[component]
fn Detail(shown: ShownAction, operator: bool, change: ServerAction<ChangeAction>) -> impl IntoView {
    let ShownAction { detail, payload_pretty: payload } = shown;
    let a = detail.action;
    let id = a.id;
    let status = a.status.clone();
    let can_requeue = matches!(status.as_str(), "FAILED" | "DLQ");
    let can_cancel = matches!(status.as_str(), "PENDING" | "RETRY");
    let time = |t: chrono::DateTime<chrono::Utc>| format!("{} {} UTC", time_text::date(t), time_text::hms_millis(t));
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
            </dl>
            {a.last_error.clone().map(|e| view! { <p class="error-text" data-testid="last-error">"Last error: " {e}</p> })}
            {if !operator {
                Either::Left(view! { <p class="meta">"Sign in on the Autonomy page to re-queue or cancel."</p> })
            } else {
                Either::Right(view! {
                    <div class="controls">
                        {can_requeue.then(|| view! {
                            <button class="btn" data-testid="requeue" on:click=move |_| { change.dispatch(ChangeAction { id, change: ActionChange::Requeue, url: None, reason: None }); }>
                                "Re-queue"
                            </button>
                        })}
                        {can_cancel.then(|| view! {
                            <button class="btn btn-danger" data-testid="cancel" on:click=move |_| { change.dispatch(ChangeAction { id, change: ActionChange::Cancel, url: None, reason: None }); }>
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
        {detail.artifact.map(|check| view! { <Artifact check/> })}
        <section class="card" aria-label="Execution log">
            <h2>"Execution log"</h2>
            <LogTable logs=detail.logs/>
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
