//! The action page's parts that only show data, drawn by the server (see
//! `web::server_html`): the action's facts, and below its card the payload,
//! the request, the approvals, the PROOF artifact and the execution log.

use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{Action, ArtifactCheck, ArtifactState, ExecutionLog, PostView, RequestPreview};
use crate::web::server_html::Html;
use crate::web::time_text;

/// The action card's heading, facts and last error.
pub fn facts(a: &Action) -> Html {
    let time = |t: chrono::DateTime<chrono::Utc>| format!("{} {} UTC", time_text::date(t), time_text::hms_millis(t));
    // Where, under which policy and in which window it may be sent, in one line.
    let route = a.channel.clone().map(|channel| {
        let mut parts = vec![channel, format!("policy {}", a.policy.as_deref().unwrap_or("-"))];
        // In the zone the times were given in, where one was.
        let given = |t| match a.time_zone.as_deref().and_then(|z| crate::engine::zones::shown_in(t, z)) {
            Some(local) => format!("{local} ({})", time(t)),
            None => time(t),
        };
        parts.extend(a.scheduled_for_utc.map(|t| format!("not before {}", given(t))));
        parts.extend(a.not_after_utc.map(|t| format!("not after {}", given(t))));
        parts.join(" · ")
    });
    let remote = a.remote_id.clone().or_else(|| a.remote_url.clone()).map(|remote| {
        // Only a link people can follow becomes one (never `javascript:`).
        let link = match a.remote_url.clone().filter(|u| crate::model::is_web_link(u)) {
            Some(url) => Either::Left(
                view! { <a href=url rel="noopener noreferrer" target="_blank" data-testid="remote-link">{remote}</a> },
            ),
            None => Either::Right(view! { <span class="key" data-testid="remote-link">{remote}</span> }),
        };
        view! { <div class="wide"><dt>"Posted"</dt><dd>{link}</dd></div> }
    });
    Html::render(view! {
        <h2>"#" {a.id} " · " <span class="key">{a.key().to_string()}</span></h2>
        <dl class="facts">
            <div><dt>"Status"</dt><dd data-testid="action-status" class=crate::web::pill_class("status", &a.status)>{a.status.clone()}</dd></div>
            <div><dt>"Type"</dt><dd>{a.action_type.clone()}</dd></div>
            <div><dt>"Attempts"</dt><dd data-testid="action-attempts">{a.attempts}</dd></div>
            <div><dt>"Not before"</dt><dd>{time(a.not_before_utc)}</dd></div>
            <div><dt>"Created"</dt><dd>{time(a.created_at_utc)}</dd></div>
            <div><dt>"Updated"</dt><dd>{time(a.updated_at_utc)}</dd></div>
            <div><dt>"Enqueued by"</dt><dd data-testid="enqueued-by">{a.enqueued_by.clone().unwrap_or_else(|| "(not recorded)".into())}</dd></div>
            {a.edited_by.clone().map(|by| view! { <div><dt>"Last changed by"</dt><dd data-testid="edited-by">{by}</dd></div> })}
            {remote}
            {a.prepared_sha256.clone().map(|sha| view! {
                <div class="wide"><dt>"Request SHA-256"</dt><dd class="key" data-testid="prepared-sha256">{sha}</dd></div>
            })}
            {route.map(|route| view! {
                <div class="wide"><dt>"Channel"</dt><dd data-testid="action-route">{route}</dd></div>
            })}
        </dl>
        {a.last_error.clone().map(|e| view! { <p class="error-text" data-testid="last-error">"Last error: " {e}</p> })}
    })
}

/// What an action's page shows below its card.
pub struct Record<'a> {
    /// Whose page it is.
    pub action: i64,
    pub payload: &'a str,
    pub request: Option<&'a RequestPreview>,
    /// Why there is no request to show, when there should be one.
    pub request_problem: Option<&'a str>,
    /// The post as people will see it.
    pub post: Option<&'a PostView>,
    /// Each approval or rejection, as a line.
    pub decisions: Vec<String>,
    pub artifact: Option<&'a ArtifactCheck>,
    pub logs: &'a [ExecutionLog],
    /// Its events in the audit trail: who did what, when.
    pub audit: &'a [crate::model::AuditRow],
}

pub fn record(r: Record<'_>) -> Html {
    let post = r.post.map(|p| {
        view! {
            <section class="card" aria-label="Post">
                <h2>"The post"</h2>
                {crate::web::post_html::post(p)}
            </section>
        }
    });
    let request = r.request.map(|r| {
        let count =
            if r.requests == 1 { "one request".to_string() } else { format!("{} requests, in order", r.requests) };
        view! {
            <section class="card" aria-label="Request">
                <h2>"What REAL would send"</h2>
                <p class="meta">{count} ", to " <span class="key">{r.url.clone()}</span></p>
                <pre class="code" data-testid="request-body">{crate::web::post_html::pretty(&r.body)}</pre>
                <p class="key" data-testid="request-sha">"SHA-256 " {r.sha256.clone()}</p>
            </section>
        }
    });
    let problem = r.request_problem.map(|why| {
        view! {
            <section class="card" aria-label="Request">
                <h2>"What REAL would send"</h2>
                <p class="error-text" data-testid="request-problem">"It cannot be built now: " {why.to_string()}</p>
            </section>
        }
    });
    let decisions = (!r.decisions.is_empty()).then(|| {
        let lines = r.decisions.into_iter().map(|d| view! { <li data-testid="decision">{d}</li> }).collect_view();
        view! {
            <section class="card" aria-label="Decisions">
                <h2>"Approvals"</h2>
                <ul class="decisions">{lines}</ul>
            </section>
        }
    });
    Html::render(view! {
        {post}
        <section class="card" aria-label="Payload">
            <h2>"Payload"</h2>
            <pre class="code" data-testid="payload">{r.payload.to_string()}</pre>
        </section>
        {request}
        {problem}
        {decisions}
        {r.artifact.map(artifact)}
        <section class="card" aria-label="Execution log">
            <h2>"Execution log"</h2>
            {log_table(r.logs)}
        </section>
        <section class="card" aria-label="Audit trail">
            <h2>"Audit trail"</h2>
            <p class="meta">"Who did what to this action, each event chained to the one before (aol audit verify checks the chain)."</p>
            {timeline(r.audit, r.action)}
        </section>
    })
}

fn artifact(check: &ArtifactCheck) -> impl IntoView {
    let (word, class, note) = match &check.state {
        ArtifactState::Verified => (
            "verified",
            "status-success",
            "Stored with its SUCCESS; its SHA-256 matches the log (aol artifact ID exports it).".to_string(),
        ),
        ArtifactState::Changed { actual_sha256 } => (
            "changed",
            "status-failed",
            format!("The stored bytes are not the ones logged: their SHA-256 is {actual_sha256}."),
        ),
        ArtifactState::Missing => ("missing", "status-failed", "It is not in the store.".to_string()),
        ArtifactState::Elsewhere => (
            "file",
            "status-cancelled",
            "Written to a file before artifacts moved into the database; not read here.".to_string(),
        ),
    };
    view! {
        <section class="card" aria-label="PROOF artifact">
            <h2>"PROOF artifact " <span class=format!("pill {class}") data-testid="artifact-state">{word}</span></h2>
            <p class="meta">{note}</p>
            <p class="key" data-testid="artifact-path">{check.reference.clone()}</p>
            <p class="key">"SHA-256 " {check.logged_sha256.clone()}</p>
            {check.preview.clone().map(|p| view! { <pre class="code" data-testid="artifact-preview">{p}</pre> })}
        </section>
    }
}

fn log_table(logs: &[ExecutionLog]) -> impl IntoView {
    if logs.is_empty() {
        return Either::Left(view! { <p class="empty" data-testid="no-logs">"Nothing logged yet."</p> });
    }
    let rows = logs
        .iter()
        .map(|l| {
            view! {
                <tr>
                    <td>{time_text::hms_millis(l.ts_utc)}</td>
                    <td><span class=crate::web::pill_class("level", &l.level)>{l.level.clone()}</span></td>
                    <td>{l.message.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <table class="table" data-testid="logs">
            <thead><tr><th>"Time (UTC)"</th><th>"Level"</th><th>"Message"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    })
}

/// The events of action `action`, oldest first.
fn timeline(rows: &[crate::model::AuditRow], action: i64) -> impl IntoView {
    if rows.is_empty() {
        return Either::Left(view! { <p class="empty" data-testid="no-audit">"No event recorded."</p> });
    }
    let rows = rows
        .iter()
        .map(|r| {
            let at = r.at_utc.replace('T', " ").chars().take(23).collect::<String>();
            view! {
                <tr>
                    <td>{at}</td>
                    <td>{r.actor.clone()}</td>
                    <td data-testid="audit-event">{r.event.clone()}</td>
                    <td class="key">{r.shown_data(Some(action))}</td>
                    <td class="key" title=r.hash.clone()>{r.hash.chars().take(12).collect::<String>()}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <table class="table" data-testid="audit">
            <thead><tr><th>"Time (UTC)"</th><th>"Who"</th><th>"Event"</th><th>"Details"</th><th>"Hash"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    })
}
