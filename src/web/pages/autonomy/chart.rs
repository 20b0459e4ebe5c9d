//! Actions attempted and succeeded per minute over the last hour: inline SVG,
//! no chart library.

use leptos::prelude::*;

use crate::model::TickBucket;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

#[component]
pub fn ActivityChart(buckets: Vec<TickBucket>) -> impl IntoView {
    let peak = buckets.iter().map(|b| b.attempted).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / buckets.len().max(1) as f64;
    let bar = |value: i64| value as f64 / peak * (HEIGHT - 14.0);
    let total_attempted: i64 = buckets.iter().map(|b| b.attempted).sum();
    let total_succeeded: i64 = buckets.iter().map(|b| b.succeeded).sum();
    let total_ticks: i64 = buckets.iter().map(|b| b.ticks).sum();
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = i as f64 * slot;
            let (a, s) = (bar(b.attempted), bar(b.succeeded));
            let label = format!(
                "{}: {} ticks, {} attempted, {} succeeded",
                b.minute_utc.format("%H:%M UTC"),
                b.ticks,
                b.attempted,
                b.succeeded
            );
            view! {
                <g>
                    <title>{label}</title>
                    <rect class="bar-attempted" x=x + 1.0 y=HEIGHT - a width=slot - 2.0 height=a/>
                    <rect class="bar-succeeded" x=x + 1.0 y=HEIGHT - s width=slot - 2.0 height=s/>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid="activity-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img"
                aria-label="Actions attempted and succeeded per minute, last hour">
                <line class="axis" x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT/>
                {bars}
            </svg>
            <figcaption>
                "Last hour: " <strong data-testid="activity-ticks">{total_ticks}</strong> " ticks, "
                <span class="legend legend-attempted"></span> <strong data-testid="activity-attempted">{total_attempted}</strong> " attempted, "
                <span class="legend legend-succeeded"></span> <strong>{total_succeeded}</strong> " succeeded (per minute; peak " {peak as i64} ")"
            </figcaption>
        </figure>
    }
}
