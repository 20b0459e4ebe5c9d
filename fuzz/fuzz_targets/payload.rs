//! Any text as an action's payload: parsing, POST_SOCIAL's checks, and each
//! platform's limits (its text counted, its links, tags and mentions found)
//! answer Ok or a clear error, never panic.
#![no_main]

use aol::engine::channels::MediaMap;
use libfuzzer_sys::fuzz_target;

fn channel(kind: &str) -> aol::model::Channel {
    let t = chrono::DateTime::from_timestamp(0, 0).unwrap();
    aol::model::Channel {
        name: kind.into(),
        kind: kind.into(),
        base_url: "https://x.example".into(),
        handle: Some("brand.example".into()),
        secret_env: Some("AOL_SECRET_X".into()),
        secret_file: None,
        armed: true,
        created_at_utc: t,
        updated_at_utc: t,
        max_per_hour: None,
        max_per_day: None,
        min_spacing_seconds: None,
        wait_until_utc: None,
        require_alt: true,
        max_characters: None,
        chars_per_url: None,
        max_media: None,
        max_image_bytes: None,
        posting_window: None,
    }
}

fuzz_target!(|text: &str| {
    if let Ok(payload) = aol::engine::queue::parse_payload(text) {
        let adapters = aol::engine::Registry::standard();
        for action_type in adapters.action_types() {
            if let Some(adapter) = adapters.get(action_type) {
                if adapter.validate_naming_media(&payload).is_ok() {
                    for kind in ["bluesky", "mastodon", "webhook"] {
                        let _ = adapter.check_for_channel(&payload, &channel(kind), &MediaMap::new());
                    }
                }
            }
        }
    }
});
