//! Times as the pages print them, always UTC (the server draws every time a
//! page shows, see `web::server_html`).

use chrono::{DateTime, Utc};

/// `2026-11-26`
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// `14:05`
pub fn hm(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

/// `14:05:09.123`
pub fn hms_millis(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S%.3f").to_string()
}

/// `2026-11-26 14:05:09`
pub fn date_hms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
