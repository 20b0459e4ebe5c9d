//! Actions attempted and succeeded per minute over the last hour: inline SVG
//! drawn by the server, no chart library.

use leptos::prelude::*;

use crate::model::TickBucket;

// Whole-number coordinates: the bars are whole pixels of the view box.
const WIDTH: i64 = 600;
const HEIGHT: i64 = 120;

pub fn activity_chart(buckets: &[TickBucket]) -> impl IntoView {
    let peak = buckets.iter().map(|b| b.attempted).max().unwrap_or(0).max(1);
    let slot = WIDTH / (buckets.len() as i64).max(1);
    let bar = |value: i64| value * (HEIGHT - 14) / peak;
    let total_attempted: i64 = buckets.iter().map(|b| b.attempted).sum();
    let total_succeeded: i64 = buckets.iter().map(|b| b.succeeded).sum();
    let total_ticks: i64 = buckets.iter().map(|b| b.ticks).sum();
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = i as i64 * slot;
            let (a, s) = (bar(b.attempted), bar(b.succeeded));
            let label = format!(
                "{}: {} ticks, {} attempted, {} succeeded",
                crate::web::time_text::hm(b.minute_utc) + " UTC",
                b.ticks,
                b.attempted,
                b.succeeded
            );
            view! {
                <g>
                    <title>{label}</title>
                    <rect class="bar-attempted" x=x + 1 y=HEIGHT - a width=slot - 2 height=a/>
                    <rect class="bar-succeeded" x=x + 1 y=HEIGHT - s width=slot - 2 height=s/>
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
                <span class="legend legend-succeeded"></span> <strong>{total_succeeded}</strong> " succeeded (per minute; peak " {peak} ")"
            </figcaption>
        </figure>
    }
}
