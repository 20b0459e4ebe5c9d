//! The Audit page as the server draws it: the chain's head and last check,
//! the filter form (a plain GET form), and the events.

use leptos::prelude::*;

use crate::model::{AuditFind, AuditRow};
use crate::web::server_html::Html;

/// Events a page shows.
const PAGE_SIZE: i64 = 100;

/// The names the address may filter by.
const FILTERS: [&str; 6] = ["action", "who", "event", "since", "until", "before"];

/// The filter from the address, and the values to show in the form again.
pub struct Filter {
    pub find: AuditFind,
    fields: Vec<(&'static str, String)>,
}

impl Filter {
    /// `action=7&who=ana&event=approved&since=…&until=…&before=…`; a bad
    /// value is refused with what is wrong.
    pub fn parse(query: &str) -> Result<Filter, String> {
        let mut find = AuditFind { limit: PAGE_SIZE, ..Default::default() };
        let mut fields = Vec::new();
        let time = |v: &str, what: &str| {
            crate::model::parse_utc(v).map(crate::model::audit_time).map_err(|e| format!("{what}: {e}"))
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim().to_string();
            if value.is_empty() {
                continue;
            }
            let Some(name) = FILTERS.into_iter().find(|name| *name == key) else {
                return Err(format!("unknown filter {key:?}: action, who, event, since, until"));
            };
            let number = || value.parse().map_err(|_| format!("{name}: {value:?} is not a number"));
            match name {
                "action" => find.action_id = Some(number()?),
                "who" => find.actor = Some(value.clone()),
                "event" => find.event = Some(value.clone()),
                "since" => find.since = Some(time(&value, name)?),
                "until" => find.until = Some(time(&value, name)?),
                _ => find.before_id = Some(number()?),
            }
            fields.push((name, value));
        }
        Ok(Filter { find, fields })
    }

    fn value(&self, name: &str) -> String {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

pub fn page(filter: &Filter, rows: &[AuditRow], head: (i64, String), last: Option<(String, String)>) -> Html {
    let field = |name: &'static str, label: &'static str, hint: &'static str| {
        view! {
            <label class="field"><span>{label}</span>
                <input type="text" name=name value=filter.value(name) placeholder=hint data-testid=format!("audit-{name}")/>
            </label>
        }
    };
    let list = rows
        .iter()
        .map(|r| {
            let action = r.action_id.map(|id| view! { <a href=format!("/actions/{id}")>"#" {id}</a> });
            view! {
                <tr>
                    <td>{r.id}</td>
                    <td>{r.at_utc.replace('T', " ").chars().take(23).collect::<String>()}</td>
                    <td>{r.actor.clone()}</td>
                    <td>{action}</td>
                    <td data-testid="audit-event">{r.event.clone()}</td>
                    <td class="key">{r.shown_data(None)}</td>
                    <td class="key" title=r.hash.clone()>{r.hash.chars().take(12).collect::<String>()}</td>
                </tr>
            }
        })
        .collect_view();
    let older = (rows.len() as i64 == PAGE_SIZE).then(|| rows.last().map(|r| r.id)).flatten();
    let (checked, verdict) = last.unwrap_or_else(|| ("never".into(), "the chain has not been checked yet".into()));
    Html::render(view! {
        <section class="card" aria-label="Chain">
            <p data-testid="audit-head">"Events: " {head.0} " · head " <span class="key">{head.1}</span></p>
            <p class="meta" data-testid="audit-last-check">"Last checked " {checked} ": " {verdict}</p>
        </section>
        <section class="card" aria-label="Events">
            <form class="enqueue-form" method="get" action="/audit" data-testid="audit-filter">
                {field("action", "Action", "e.g. 42")}
                {field("who", "Who", "ana, agent:bot")}
                {field("event", "Event", "approved")}
                {field("since", "Since (UTC)", "2026-11-28 09:00")}
                {field("until", "Until (UTC)", "2026-11-29 09:00")}
                <button class="btn" type="submit">"Filter"</button>
            </form>
            {if rows.is_empty() {
                leptos::either::Either::Left(view! { <p class="empty" data-testid="audit-empty">"No event matches."</p> })
            } else {
                leptos::either::Either::Right(view! {
                    <table class="table" data-testid="audit">
                        <thead><tr><th>"#"</th><th>"Time (UTC)"</th><th>"Who"</th><th>"Action"</th><th>"Event"</th><th>"Details"</th><th>"Hash"</th></tr></thead>
                        <tbody>{list}</tbody>
                    </table>
                })
            }}
            {older.map(|id| view! { <p><a href=format!("/audit?before={id}") data-testid="audit-older">"Older events →"</a></p> })}
        </section>
    })
}
