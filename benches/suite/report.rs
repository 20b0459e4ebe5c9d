//! The results: one row per figure, printed as a table and written as JSON.

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// "sqlite", "postgres", or "-" for figures that do not depend on it.
    pub database: String,
    pub metric: String,
    /// Rows already in the tables when measured, where that matters.
    pub rows: Option<i64>,
    pub median: f64,
    /// p99 where there are enough samples, else the worst.
    pub p99: Option<f64>,
    pub unit: String,
    /// e.g. "p99 < 1" (same unit); absent when the issue sets none.
    pub target: Option<String>,
    pub pass: Option<bool>,
    pub samples: usize,
}

#[derive(Default, Serialize)]
pub struct Results {
    pub machine: String,
    pub rows: Vec<Row>,
    /// False in the smoke pass: targets are printed, not judged.
    #[serde(skip)]
    pub judge: bool,
}

/// What a figure must meet.
#[derive(Clone, Copy)]
pub enum Target {
    None,
    /// p99 (or the single value) at most this.
    P99Below(f64),
    /// p95 at most this.
    P95Below(f64),
    /// median at most this.
    MedianBelow(f64),
    /// median at least this.
    MedianAbove(f64),
}

impl Results {
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        database: &str,
        metric: &str,
        rows: Option<i64>,
        samples: &[f64],
        unit: &str,
        target: Target,
    ) {
        let s = crate::support::sorted(samples);
        let median = crate::support::quantile(&s, 0.5);
        let p99 = (s.len() > 1).then(|| crate::support::quantile(&s, 0.99));
        let p95 = crate::support::quantile(&s, 0.95);
        let target = if self.judge { target } else { Target::None };
        let (target, pass) = match target {
            Target::None => (None, None),
            Target::P99Below(t) => (Some(format!("p99 < {t}")), Some(p99.unwrap_or(median) < t)),
            Target::P95Below(t) => (Some(format!("p95 < {t}")), Some(p95 < t)),
            Target::MedianBelow(t) => (Some(format!("< {t}")), Some(median < t)),
            Target::MedianAbove(t) => (Some(format!(">= {t}")), Some(median >= t)),
        };
        let row = Row {
            database: database.to_string(),
            metric: metric.to_string(),
            rows,
            median,
            p99,
            unit: unit.to_string(),
            target,
            pass,
            samples: samples.len(),
        };
        println!("{}", line(&row));
        self.rows.push(row);
    }

    pub fn print(&self) {
        println!(
            "\n{:<9} {:<44} {:>9} {:>12} {:>12} {:<9} {:<14} ",
            "database", "metric", "rows", "median", "p99", "unit", "target"
        );
        for row in &self.rows {
            println!("{}", line(row));
        }
    }

    pub fn write_json(&self, path: &std::path::Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_string_pretty(self).unwrap()).unwrap();
        println!("\nwritten to {}", path.display());
    }
}

fn line(row: &Row) -> String {
    let rows = row.rows.map(|r| r.to_string()).unwrap_or_default();
    let p99 = row.p99.map(|p| format!("{p:.3}")).unwrap_or_default();
    let verdict = match row.pass {
        Some(true) => "ok",
        Some(false) => "MISSED",
        None => "",
    };
    format!(
        "{:<9} {:<44} {:>9} {:>12.3} {:>12} {:<9} {:<14} {verdict}",
        row.database,
        row.metric,
        rows,
        row.median,
        p99,
        row.unit,
        row.target.as_deref().unwrap_or("")
    )
}
