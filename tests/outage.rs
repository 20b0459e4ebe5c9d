//! Reliability: the database goes away for 10 s in the middle of a run, under
//! a real `aol serve` (dashboard and daemon in one process). PostgreSQL is
//! reached through a TCP proxy this test cuts; a SQLite file is write-locked by
//! another connection. The server stays up and says what is wrong, then
//! carries on by itself, and nothing is lost or done twice.

mod common;
mod reliability;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, TestCtx};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const OUTAGE: Duration = Duration::from_secs(10);
const TOKEN: &str = "outage-operator-token-0123456789";

/// A TCP proxy to PostgreSQL that the test can cut: while cut, every open
/// connection is dropped and new ones are closed at once.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<watch::Sender<bool>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(watch::Sender::new(false));
        let watch_cut = cut.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let mut is_cut = watch_cut.subscribe();
                if *is_cut.borrow() {
                    continue; // dropped: closed at once
                }
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = is_cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Proxy { addr, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

fn start_server(url: &str, port: u16, log: &std::path::Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("AOL_PROOF_MODE", "1")
        .args(["--tick-interval-seconds", "0.05", "--max-actions-per-tick", "3"])
        .args(["--lease-ttl-seconds", "2", "--heartbeat-seconds", "0.5"])
        .args(["--max-retries", reliability::MAX_RETRIES])
        .env("DATABASE_URL", url)
        .env("AOL_OPERATOR_TOKEN", TOKEN)
        // The page is read without signing in (the session lookup would need the database).
        .env("AOL_PUBLIC_READ", "1")
        .env("RUST_LOG", "info")
        .env_remove("AOL_MAX_TICKS")
        .env_remove("OPENAI_API_KEY")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start aol serve")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn success_count(ctx: &TestCtx) -> i64 {
    ctx.db.action_counts().await.unwrap().iter().find(|c| c.status == "SUCCESS").map_or(0, |c| c.count)
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn the_server_rides_out_a_database_outage(ctx: TestCtx) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let actions = 400;
    reliability::enqueue_posts(&ctx, "outage", actions).await;

    // PostgreSQL through the proxy; SQLite directly (the lock is the outage).
    let proxy = match ctx.backend {
        Backend::Postgres => Some(Proxy::start("127.0.0.1:5432".parse().unwrap()).await),
        Backend::Sqlite => None,
    };
    let url = match &proxy {
        Some(p) => ctx.url.replacen("127.0.0.1:5432", &p.addr.to_string(), 1),
        None => ctx.url.clone(),
    };
    assert_ne!(proxy.is_some(), url == ctx.url, "the server must reach PostgreSQL through the proxy: {url}");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_server(&url, port, &log);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();
    let started = Instant::now();
    while !http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
        reliability::assert_running(&mut server, &log);
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_until("the daemon works", Duration::from_secs(20), || async { success_count(&ctx).await >= 20 }).await;

    // The outage.
    let lock = match &proxy {
        Some(p) => {
            p.set_cut(true);
            None
        }
        None => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&ctx.url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.unwrap();
            Some(conn)
        }
    };
    let cut_at = Instant::now();
    let done_at_cut = success_count(&ctx).await;
    // A statement waits up to 5 s for a locked database or a connection
    // before it fails: look after that.
    tokio::time::sleep(Duration::from_secs(7)).await;

    // Meanwhile the server is up, and says what is wrong.
    assert!(server.try_wait().unwrap().is_none(), "the server exited during the outage");
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert!(health.status().is_success());
    let page = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    match ctx.backend {
        Backend::Postgres => {
            let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
            assert_eq!(ready.status(), 503, "/readyz during the outage");
            assert!(page.contains("Cannot read AOL"), "the page says it cannot read the state: {page}");
        }
        Backend::Sqlite => {
            assert!(page.contains("cannot write to the database"), "the page says the daemon is stuck: {page}");
        }
    }
    let words = std::fs::read_to_string(&log).unwrap();
    assert!(words.contains("ERROR"), "the server log names the trouble: {words}");
    tokio::time::sleep(OUTAGE.saturating_sub(cut_at.elapsed())).await;
    let done_in_outage = success_count(&ctx).await - done_at_cut;

    // Back: it carries on by itself.
    match (&proxy, lock) {
        (Some(p), _) => p.set_cut(false),
        (None, Some(mut conn)) => {
            sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
        }
        (None, None) => unreachable!(),
    }
    let back = Instant::now();
    wait_until("/readyz after the outage", Duration::from_secs(30), || {
        let http = http.clone();
        let url = format!("{base}/readyz");
        async move { http.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    let before = success_count(&ctx).await;
    wait_until("the daemon works again", Duration::from_secs(30), || async { success_count(&ctx).await > before })
        .await;
    let resumed_after = back.elapsed();
    let mut servers = [(server, log.clone())];
    reliability::wait_drained(&ctx, &mut servers, Duration::from_secs(120)).await;
    let page = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("cannot write to the database") && !page.contains("Cannot read AOL"), "{page}");
    server = servers.into_iter().next().unwrap().0;
    let _ = server.kill();
    let _ = server.wait();

    let outcome = reliability::assert_all_succeeded_once(&ctx, actions).await;
    reliability::report(&format!(
        "outage ({}): database away {OUTAGE:?}, {done_in_outage} actions finished meanwhile; the daemon \
         resumed {resumed_after:.1?} after it came back; final statuses {:?}",
        ctx.backend_name(),
        outcome.by_status
    ));
}

on_both_databases!(the_server_rides_out_a_database_outage);

/// PostgreSQL ends every connection of AOL's pool while they sit idle (a
/// restart, an administrator): the next enqueues open new ones unseen, as a
/// pooled connection that sat idle is pinged before it is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ended_while_idle_are_replaced_unseen() {
    common::run_on(Backend::Postgres, |ctx| async move {
        use aol::storage::NewAction;
        use sqlx::Connection as _;
        let now = chrono::Utc::now();
        let insert = |key: String| {
            let db = ctx.db.clone();
            async move { db.action_insert(&NewAction::pending(&key, "POST_SOCIAL", r#"{"text":"hi"}"#, now), now).await }
        };
        insert("before".into()).await.unwrap();
        let mut admin = sqlx::PgConnection::connect(&ctx.url).await.unwrap();
        let ended: i64 = sqlx::query_scalar(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert!(ended >= 1, "the pool had a connection to end");
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        for i in 0..20 {
            insert(format!("after-{i}")).await.unwrap_or_else(|e| panic!("enqueue {i} after the connections ended: {e}"));
        }
    })
    .await;
}
