//! The whole enqueue path on an in-memory SQLite database, with any action
//! type, key and payload: Ok or a clear error, never a panic; the same key
//! twice is never two actions.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

struct World {
    runtime: tokio::runtime::Runtime,
    engine: aol::engine::Engine,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let engine = runtime.block_on(async {
            let db = aol::storage::Db::connect("sqlite::memory:").await.unwrap();
            db.migrate().await.unwrap();
            let adapters = aol::engine::Registry::standard();
            aol::engine::Engine::new(db, aol::engine::Clock::System, adapters).await.unwrap()
        });
        World { runtime, engine }
    })
}

fuzz_target!(|input: (&str, &str, &str)| {
    let (action_type, key, payload) = input;
    let Ok(payload) = aol::engine::queue::parse_payload(payload) else { return };
    let w = world();
    w.runtime.block_on(async {
        let first = w.engine.enqueue(action_type, key, &payload).await;
        if let Ok(first) = first {
            let again = w.engine.enqueue(action_type, key, &payload).await.expect("a known key is found again");
            assert!(again.duplicate && again.action.id == first.action.id, "the same key made two actions");
        }
    });
});
