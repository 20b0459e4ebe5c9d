//! Times as the pages print them, always UTC. Written out by hand rather
//! than with chrono's `format`, whose format-string parser would otherwise
//! ship in the browser's wasm.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `2026-11-26`
pub fn date(t: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// `14:05`
pub fn hm(t: DateTime<Utc>) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `14:05:09`
pub fn hms(t: DateTime<Utc>) -> String {
    format!("{}:{:02}", hm(t), t.second())
}

/// `14:05:09.123`
pub fn hms_millis(t: DateTime<Utc>) -> String {
    format!("{}.{:03}", hms(t), t.timestamp_subsec_millis())
}

/// `2026-11-26 14:05:09`
pub fn date_hms(t: DateTime<Utc>) -> String {
    format!("{} {}", date(t), hms(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn same_text_as_chrono_format() {
        let t = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap() + chrono::TimeDelta::milliseconds(89);
        assert_eq!(date_hms(t), t.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(hms_millis(t), t.format("%H:%M:%S%.3f").to_string());
        assert_eq!(hm(t), t.format("%H:%M").to_string());
    }
}
