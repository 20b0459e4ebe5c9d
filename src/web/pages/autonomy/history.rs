//! What happened lately, drawn by the server (see `web::server_html`): the
//! flag changes, and the last hour's ticks as a chart and a table.

use leptos::either::Either;
use leptos::prelude::*;

use super::chart::activity_chart;
use crate::model::{FlagChange, TickBucket, TickRow};
use crate::web::server_html::Html;
use crate::web::time_text;

pub fn flag_changes(changes: &[FlagChange]) -> Html {
    if changes.is_empty() {
        return Html::render(view! { <p class="empty">"No change yet."</p> });
    }
    let rows = changes
        .iter()
        .map(|c| {
            view! {
                <tr>
                    <td>{time_text::date_hms(c.changed_at_utc)}</td>
                    <td>{c.changed_by.clone()}</td>
                    <td>{describe_change(c)}</td>
                    <td>{c.reason.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    Html::render(view! {
        <table class="table table-changes" data-testid="flag-changes">
            <thead>
                <tr><th>"When (UTC)"</th><th>"Who"</th><th>"Change"</th><th>"Reason"</th></tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    })
}

pub fn ticks(activity: &[TickBucket], ticks: &[TickRow]) -> Html {
    let table = if ticks.is_empty() {
        Either::Left(view! { <p class="empty">"No tick yet."</p> })
    } else {
        let rows = ticks
            .iter()
            .map(|t| {
                view! {
                    <tr>
                        <td>{t.id}</td>
                        <td>{time_text::hms_millis(t.started_at_utc)}</td>
                        <td><span class=crate::web::pill_class("tick", &t.status)>{t.status.clone()}</span></td>
                        <td>{t.actions_attempted}</td>
                        <td>{t.actions_succeeded}</td>
                        <td>{t.notes.clone()}</td>
                    </tr>
                }
            })
            .collect_view();
        Either::Right(view! {
            <table class="table table-ticks" data-testid="ticks">
                <thead>
                    <tr><th>"#"</th><th>"Started (UTC)"</th><th>"Status"</th><th>"Attempted"</th><th>"Succeeded"</th><th>"Notes"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };
    Html::render((activity_chart(activity), table))
}

/// "paused: no → yes", "mode: PROOF → REAL".
fn describe_change(c: &FlagChange) -> String {
    let word = |v: bool| match (c.flag.as_str(), v) {
        ("proof_mode", true) => "PROOF",
        ("proof_mode", false) => "REAL",
        (_, true) => "yes",
        (_, false) => "no",
    };
    let name = if c.flag == "proof_mode" { "mode" } else { c.flag.as_str() };
    format!("{name}: {} → {}", word(c.old_value), word(c.new_value))
}
