//! Prometheus metrics. Counters and the tick histogram are kept by this
//! process's daemon as it works; the gauges (queue depth, flags, lease, last
//! tick) are read from the database at each scrape, so every server reports
//! the same truth whichever one holds the lease.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::Engine;
use crate::model::ActionStatus;
use crate::storage::StoreError;

/// Upper bounds (seconds) of the tick-duration buckets: from an idle tick to
/// MAX_TICK_SECONDS and beyond.
const TICK_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0];

pub struct Metrics {
    registry: Registry,
    attempts: IntCounterVec,
    ticks: IntCounterVec,
    tick_seconds: Histogram,
    queue_depth: IntGaugeVec,
    flag: IntGaugeVec,
    lease_epoch: IntGauge,
    lease_holder: IntGaugeVec,
    last_tick_age: Gauge,
    ledger_rows: IntGauge,
    notifications: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        fn add<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, m: M) -> M {
            registry.register(Box::new(m.clone())).expect("metric names are unique");
            m
        }
        let attempts = IntCounterVec::new(
            Opts::new("aol_action_attempts_total", "Action attempts ended by this process, by the status they left"),
            &["outcome"],
        );
        let ticks =
            IntCounterVec::new(Opts::new("aol_ticks_total", "Ticks written by this process, by status"), &["status"]);
        let tick_seconds = Histogram::with_opts(
            HistogramOpts::new("aol_tick_duration_seconds", "How long this process's ticks took")
                .buckets(TICK_BUCKETS.to_vec()),
        );
        let queue_depth =
            IntGaugeVec::new(Opts::new("aol_queue_depth", "Actions in the database, by status"), &["status"]);
        let flag = IntGaugeVec::new(
            Opts::new("aol_flag", "The control flags: paused, killed, proof_mode (1 = set, proof_mode 1 = PROOF)"),
            &["flag"],
        );
        let lease_epoch = IntGauge::new("aol_lease_epoch", "The daemon lease's epoch (fencing token)");
        let lease_holder = IntGaugeVec::new(
            Opts::new("aol_lease_holder", "1 for the daemon holding the lease now (none while it is free)"),
            &["owner", "this_process"],
        );
        let last_tick_age =
            Gauge::new("aol_last_tick_age_seconds", "Seconds since the last tick finished (-1: no tick yet)");
        let ledger_rows = IntGauge::new("aol_ledger_rows", "Rows in the tick ledger");
        let notifications = IntCounterVec::new(
            Opts::new("aol_notifications_total", "Notification deliveries by this process: delivered, failed, dropped"),
            &["outcome"],
        );
        Metrics {
            attempts: add(&registry, attempts.expect("valid metric")),
            ticks: add(&registry, ticks.expect("valid metric")),
            tick_seconds: add(&registry, tick_seconds.expect("valid metric")),
            queue_depth: add(&registry, queue_depth.expect("valid metric")),
            flag: add(&registry, flag.expect("valid metric")),
            lease_epoch: add(&registry, lease_epoch.expect("valid metric")),
            lease_holder: add(&registry, lease_holder.expect("valid metric")),
            last_tick_age: add(&registry, last_tick_age.expect("valid metric")),
            ledger_rows: add(&registry, ledger_rows.expect("valid metric")),
            notifications: add(&registry, notifications.expect("valid metric")),
            registry,
        }
    }

    /// An attempt ended, leaving its action in `status` (SUCCESS, RETRY, DLQ, FAILED).
    pub fn attempt_ended(&self, status: &str) {
        self.attempts.with_label_values(&[status]).inc();
    }

    /// `n` notifications were delivered, failed (to be retried) or dropped.
    pub fn notifications(&self, outcome: &str, n: u64) {
        self.notifications.with_label_values(&[outcome]).inc_by(n);
    }

    /// A tick was written.
    pub fn tick_written(&self, status: &str, seconds: f64) {
        self.ticks.with_label_values(&[status]).inc();
        self.tick_seconds.observe(seconds);
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Engine {
    /// The metrics in Prometheus's text format, gauges read now.
    pub async fn metrics_text(&self) -> Result<String, StoreError> {
        let o = self.overview().await?;
        let m = self.metrics();
        for status in ActionStatus::ALL {
            m.queue_depth.with_label_values(&[status.as_str()]).set(o.count_of(status));
        }
        for (name, on) in [("paused", o.flags.paused), ("killed", o.flags.killed), ("proof_mode", o.flags.proof_mode)] {
            m.flag.with_label_values(&[name]).set(i64::from(on));
        }
        m.lease_holder.reset();
        if let Some(lease) = &o.lease {
            m.lease_epoch.set(lease.epoch);
        }
        if let Some(lease) = o.lease_holder() {
            let mine = if lease.owner == self.identity() { "true" } else { "false" };
            m.lease_holder.with_label_values(&[lease.owner.as_str(), mine]).set(1);
        }
        let age = o.last_tick.as_ref().map_or(-1.0, |t| (o.read_at_utc - t.finished_at_utc).as_seconds_f64());
        m.last_tick_age.set(age);
        m.ledger_rows.set(o.ledger_rows);

        let mut text = Vec::new();
        TextEncoder::new().encode(&m.registry.gather(), &mut text).expect("encoding to memory");
        Ok(String::from_utf8(text).expect("the text format is UTF-8"))
    }
}
