//! Any text as an action's payload: parsing and POST_SOCIAL's checks answer
//! Ok or a clear error, never panic.
#![no_main]

use aol::engine::adapters::Adapter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(payload) = aol::engine::queue::parse_payload(text) {
        let adapters = aol::engine::Registry::standard(std::env::temp_dir().join("aol-fuzz-unused"));
        for action_type in adapters.action_types() {
            if let Some(adapter) = adapters.get(action_type) {
                let _ = adapter.validate(&payload);
            }
        }
    }
});
