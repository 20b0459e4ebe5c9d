//! Rich posts on the Bluesky reference server (issue 19): links, #tags and
//! @mentions made live by facets whose UTF-8 byte ranges cover exactly
//! their text; languages; images uploaded as blobs whose bytes are the file
//! uploaded to AOL, with alt text; a link card with its thumbnail; a thread
//! whose replies name the root and the parent by URI and CID; and a thread
//! cut by `kill -9` between its posts, resumed with each post made once.

mod common;
mod local_pds;

use std::time::{Duration, Instant};

use aol::engine::channels::part_key;
use aol::engine::Actor;
use aol::engine::Engine;
use aol::model::{Action, FlagCommand};
use common::{run_ticks, TestCtx};
use local_pds::{LocalPds, Relay};
use serde_json::{json, Value};

fn ops() -> Actor {
    Actor::system("test")
}
const CHART: &[u8] = include_bytes!("fixtures/chart.png");
const THUMB: &[u8] = include_bytes!("fixtures/thumb.png");

/// An engine in REAL mode with the armed channel `brand` (policy auto) for
/// the server's account at `url` (the server, or a relay).
async fn setup(ctx: &TestCtx, pds: &LocalPds, url: &str, dir: &std::path::Path) -> Engine {
    let engine = common::engine_in(&ctx.db, &dir.join("artifacts")).await;
    pds.add_channel(&engine, "brand", url, dir).await;
    engine.apply_flag_command(FlagCommand::Real, &ops()).await.unwrap();
    engine
}

async fn enqueue(engine: &Engine, key: &str, payload: Value) -> Action {
    engine.enqueue("POST_SOCIAL", key, payload.as_object().unwrap()).await.unwrap().action
}

async fn reread(engine: &Engine, id: i64) -> Action {
    engine.db().action_get(id).await.unwrap().unwrap()
}

/// The text a facet of `record` covers, by its UTF-8 byte range, and its feature.
fn facet_texts(record: &Value) -> Vec<(String, Value)> {
    let text = record["text"].as_str().unwrap().as_bytes();
    record["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let (start, end) = (f["index"]["byteStart"].as_u64().unwrap(), f["index"]["byteEnd"].as_u64().unwrap());
            let covered = String::from_utf8(text[start as usize..end as usize].to_vec()).unwrap();
            (covered, f["features"][0].clone())
        })
        .collect()
}

async fn a_rich_post_reads_back_with_facets_langs_images_and_a_card(ctx: TestCtx) {
    let pds = LocalPds::start();
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(&ctx, &pds, &pds.url, dir.path()).await;
    let chart = engine.media_add(&Actor::system("test"), CHART).await.unwrap().info.sha256;
    let thumb = engine.media_add(&Actor::system("test"), THUMB).await.unwrap().info.sha256;
    let text = "Café ☕ launch today https://example.com/launch #Launch @bob.test and @nobody.test";
    let rich = enqueue(
        &engine,
        "rich-1",
        json!({"channel": "brand", "text": text, "langs": ["fr"], "images": [{"media": chart, "alt": "the chart"}]}),
    )
    .await;
    let card = enqueue(
        &engine,
        "card-1",
        json!({"channel": "brand", "text": "Read the launch notes",
               "link": {"url": "https://example.com/launch", "title": "We launched", "description": "What is new", "thumb": thumb}}),
    )
    .await;
    run_ticks(&engine, 2).await;
    for id in [rich.id, card.id] {
        let done = reread(&engine, id).await;
        assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    }

    let held = pds.record(&part_key(rich.created_at_utc, rich.id, 0)).await;
    eprintln!("rich post as the PDS holds it ({}): {held:#}", ctx.backend_name());
    let record = &held["value"];
    let bob = &pds.others["bob.test"];
    assert_eq!(
        facet_texts(record),
        vec![
            (
                "https://example.com/launch".into(),
                json!({"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/launch"})
            ),
            ("#Launch".into(), json!({"$type": "app.bsky.richtext.facet#tag", "tag": "Launch"})),
            ("@bob.test".into(), json!({"$type": "app.bsky.richtext.facet#mention", "did": bob})),
        ],
        "@nobody.test is no account: it stays text"
    );
    assert_eq!(record["langs"], json!(["fr"]));
    let image = &record["embed"]["images"][0];
    assert_eq!(record["embed"]["$type"], "app.bsky.embed.images");
    assert_eq!(image["alt"], "the chart");
    assert_eq!(image["aspectRatio"], json!({"width": 60, "height": 48}));
    assert_eq!(
        pds.blob(image["image"]["ref"]["$link"].as_str().unwrap()).await,
        CHART,
        "the blob is the uploaded file"
    );

    // The lookups are kept with the action, and its page says what stays text.
    let done = reread(&engine, rich.id).await;
    let facts: Value = serde_json::from_str(done.facts_json.as_deref().unwrap()).unwrap();
    assert_eq!(facts["mentions"], json!({"bob.test": bob, "nobody.test": null}));
    let view = engine.post_view(&done).await.unwrap().unwrap();
    assert!(view.notes.iter().any(|n| n.starts_with("@nobody.test is not an account")), "{:?}", view.notes);

    let held = pds.record(&part_key(card.created_at_utc, card.id, 0)).await;
    eprintln!("post with a link card as the PDS holds it: {held:#}");
    let external = &held["value"]["embed"]["external"];
    assert_eq!(held["value"]["embed"]["$type"], "app.bsky.embed.external");
    assert_eq!(
        (external["uri"].as_str(), external["title"].as_str()),
        (Some("https://example.com/launch"), Some("We launched"))
    );
    assert_eq!(external["description"], "What is new");
    assert_eq!(pds.blob(external["thumb"]["ref"]["$link"].as_str().unwrap()).await, THUMB);
}

async fn a_post_awaiting_approval_has_its_mentions_looked_up_by_the_daemon(ctx: TestCtx) {
    let pds = LocalPds::start();
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(&ctx, &pds, &pds.url, dir.path()).await;
    engine.policy_set("brand", "POST_SOCIAL", aol::model::Policy::RequireApproval, &ops()).await.unwrap();
    let action = enqueue(&engine, "ask-1", json!({"channel": "brand", "text": "Thanks @bob.test!"})).await;
    assert_eq!(action.status, "AWAITING_APPROVAL");

    // A page never waits on the platform: until the daemon has looked the handle up, there is nothing to approve.
    let before = engine.inbox(20).await.unwrap().remove(0);
    assert!(before.request.is_none());
    assert!(before.problem.as_deref().unwrap().contains("still to be looked up"), "{:?}", before.problem);
    let refused = engine.approve(action.id, None, &ops()).await.unwrap_err().to_string();
    assert!(refused.contains("still to be looked up"), "{refused}");

    run_ticks(&engine, 1).await;
    let item = engine.inbox(20).await.unwrap().remove(0);
    let request = item.request.expect("the request, now that the handle is known");
    assert!(request.body.contains(&pds.others["bob.test"]), "the mention's DID is in the request: {}", request.body);
    assert_eq!(reread(&engine, action.id).await.status, "AWAITING_APPROVAL", "still waiting for a yes");
    engine.approve(action.id, Some(&request.sha256), &ops()).await.unwrap();
    run_ticks(&engine, 1).await;
    let done = reread(&engine, action.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    let record = pds.record(&part_key(action.created_at_utc, action.id, 0)).await;
    assert_eq!(facet_texts(&record["value"])[0].0, "@bob.test");
}

/// The records of `action`'s thread of `n` posts, as the server holds them.
async fn thread_records(pds: &LocalPds, action: &Action, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(pds.record(&part_key(action.created_at_utc, action.id, i)).await);
    }
    out
}

/// Each post after the first replies to the first (root) and the one before (parent).
fn assert_chain(records: &[Value]) {
    let strong = |r: &Value| json!({"uri": r["uri"], "cid": r["cid"]});
    assert!(records[0]["value"].get("reply").is_none(), "the first post replies to nothing");
    for i in 1..records.len() {
        let reply = &records[i]["value"]["reply"];
        assert_eq!(reply["root"], strong(&records[0]), "post {} root", i + 1);
        assert_eq!(reply["parent"], strong(&records[i - 1]), "post {} parent", i + 1);
    }
}

fn thread(round: usize) -> Value {
    json!({"channel": "brand", "text": format!("Launch thread {round}, 1/3 https://example.com"),
           "thread": [{"text": format!("Launch thread {round}, 2/3 #Launch")}, {"text": format!("Launch thread {round}, 3/3")}]})
}

async fn a_thread_replies_to_its_root_and_parent_by_uri_and_cid(ctx: TestCtx) {
    let pds = LocalPds::start();
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(&ctx, &pds, &pds.url, dir.path()).await;
    let action = enqueue(&engine, "thread-1", thread(0)).await;
    run_ticks(&engine, 1).await;
    let done = reread(&engine, action.id).await;
    assert_eq!(done.status, "SUCCESS", "{:?}", done.last_error);
    let records = thread_records(&pds, &action, 3).await;
    eprintln!("a thread as the PDS holds it ({}): {:#}", ctx.backend_name(), Value::Array(records.clone()));
    assert_chain(&records);
    assert_eq!(done.remote_id.as_deref(), records[0]["uri"].as_str(), "the action names its first post");
    let log = engine.db().logs_for_action(action.id).await.unwrap();
    assert!(log.iter().any(|l| l.message.contains("(3 posts)")), "{log:?}");
}

async fn a_thread_cut_by_kill_9_between_its_posts_is_made_once_in_order(ctx: TestCtx) {
    const ROUNDS: usize = 10;
    let pds = LocalPds::start();
    let mut relay = Relay::start(&pds.url).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(&ctx, &pds, &relay.url, dir.path()).await;
    let mut actions = Vec::new();
    for round in 0..ROUNDS {
        let action = enqueue(&engine, &format!("thread-crash-{round}"), thread(round)).await;
        // Posts 1..=k go through; the answer to post k+1 never comes back: the daemon is killed then.
        let k = round % 3;
        *relay.pass.lock().unwrap() = k;
        *relay.hold.lock().unwrap() = true;
        let mut daemon = local_pds::start_daemon(&ctx.url, dir.path());
        for made in 0..=k {
            let answer = tokio::time::timeout(Duration::from_secs(30), relay.posts.recv()).await;
            let (status, body) =
                answer.unwrap_or_else(|_| panic!("round {round}: post {} not sent", made + 1)).unwrap();
            assert_eq!(status, 200, "round {round}: {body}");
        }
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        *relay.hold.lock().unwrap() = false;

        // A new daemon finds the thread it was making, reads it back, and finishes it.
        let mut daemon = local_pds::start_daemon(&ctx.url, dir.path());
        let started = Instant::now();
        let done = loop {
            let a = reread(&engine, action.id).await;
            if a.status == "SUCCESS" || started.elapsed() > Duration::from_secs(30) {
                break a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        while relay.posts.try_recv().is_ok() {}
        assert_eq!(
            done.status,
            "SUCCESS",
            "round {round}: {done:?}\n{}",
            std::fs::read_to_string(dir.path().join("daemon.log")).unwrap()
        );
        actions.push(action);
    }
    let posts = pds.posts().await;
    for (round, action) in actions.iter().enumerate() {
        for i in 1..=3 {
            let text = format!("Launch thread {round}, {i}/3");
            let made =
                posts.iter().filter(|p| p["value"]["text"].as_str().unwrap_or_default().starts_with(&text)).count();
            assert_eq!(made, 1, "round {round}: post {i} made once");
        }
        assert_chain(&thread_records(&pds, action, 3).await);
        let log = engine.db().logs_for_action(action.id).await.unwrap();
        assert!(
            log.iter().any(|l| l.message.starts_with("unconfirmed")),
            "round {round}: the kill left it UNCONFIRMED"
        );
        assert!(log.iter().any(|l| l.message.starts_with("reconciled")), "round {round}: {log:?}");
    }
    eprintln!(
        "bluesky thread crash test ({}): {ROUNDS} kills between posts, {} records, each once",
        ctx.backend_name(),
        posts.len()
    );
}

on_both_databases!(
    a_rich_post_reads_back_with_facets_langs_images_and_a_card,
    a_post_awaiting_approval_has_its_mentions_looked_up_by_the_daemon,
    a_thread_replies_to_its_root_and_parent_by_uri_and_cid,
    a_thread_cut_by_kill_9_between_its_posts_is_made_once_in_order,
);
