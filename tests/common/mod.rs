//! Test support: a fresh, migrated database per test, on SQLite (a temporary
//! file) or on the machine's PostgreSQL (a new database, dropped afterwards).
//!
//! PostgreSQL is reached at `AOL_TEST_POSTGRES_URL`
//! [postgres://postgres@127.0.0.1:5432/postgres]; a test fails, it is not
//! skipped, when PostgreSQL is down.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use aol::storage::Db;
use sqlx::{Connection, Executor, PgConnection};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// On PostgreSQL, the lookup rows (migrations 0021, 0022) of actions that a
/// test or a seed wrote with its own INSERT: AOL's enqueue writes them in the
/// statement that writes their actions.
pub const POSTGRES_LOOKUP_OF_SEEDED: &str =
    "INSERT INTO aol_action_lookup (action_id, idempotency_key, action_type, enqueued_by) \
     SELECT id, idempotency_key, action_type, enqueued_by FROM aol_actions a \
     WHERE NOT EXISTS (SELECT 1 FROM aol_action_lookup l WHERE l.idempotency_key = a.idempotency_key)";

/// A database made for one test, with what it takes to remove it.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { name: String },
}

pub fn postgres_admin_url() -> String {
    std::env::var("AOL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Swaps the database name at the end of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    /// An empty database (no migrations run yet) and its URL.
    pub async fn empty(backend: Backend) -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("aol.db").display());
                let db = Db::connect(&url).await.expect("open SQLite");
                TestDb { db, url, cleanup: Cleanup::Sqlite(dir) }
            }
            Backend::Postgres => {
                let name = format!("aol_test_{}_{}_{:08x}", std::process::id(), n, rand_suffix());
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create database");
                conn.close().await.ok();
                let url = with_database(&admin, &name);
                let db = Db::connect(&url).await.expect("open PostgreSQL");
                TestDb { db, url, cleanup: Cleanup::Postgres { name } }
            }
        }
    }

    /// A migrated database, as the server would have it.
    pub async fn migrated(backend: Backend) -> TestDb {
        let t = TestDb::empty(backend).await;
        t.db.migrate().await.expect("migrate");
        t
    }

    pub async fn remove(self) {
        self.db.close().await;
        match self.cleanup {
            Cleanup::Sqlite(dir) => drop(dir),
            Cleanup::Postgres { name } => {
                let mut conn = PgConnection::connect(&postgres_admin_url()).await.expect("connect to drop");
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .expect("drop test database");
            }
        }
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

/// Runs `test` on a fresh migrated database and removes the database even when
/// the test panics (the panic is then passed on).
pub async fn run_on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestCtx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let t = TestDb::migrated(backend).await;
    let ctx = TestCtx { db: t.db.clone(), url: t.url.clone(), backend };
    let result = tokio::spawn(test(ctx)).await;
    t.remove().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// What a test gets: the database handle and its URL (for child processes).
#[derive(Clone)]
pub struct TestCtx {
    pub db: Db,
    pub url: String,
    pub backend: Backend,
}

impl TestCtx {
    /// "SQLite" or "PostgreSQL", for messages.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// Runs `sql` on its own connection, outside AOL's code (test set-up only:
    /// states AOL itself would take long to reach).
    pub async fn execute_raw(&self, sql: &str) {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql).execute(&mut c).await.unwrap();
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql).execute(&mut c).await.unwrap();
            }
        }
    }

    /// Reads rows with `sql` on its own connection, outside AOL's code (to
    /// check what AOL's own reads report).
    pub async fn fetch_all_raw<T>(&self, sql: &str) -> Vec<T>
    where
        T: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
            }
        }
    }
}

/// Declares each listed `async fn name(ctx: TestCtx)` as two tests,
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::common::run_on($crate::common::Backend::Sqlite, super::$name).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::common::run_on($crate::common::Backend::Postgres, super::$name).await;
                }
            }
        )+
    };
}

/// Runs the daemon in this process for `ticks` ticks, 1 ms apart, each
/// allowed up to 20 s.
pub async fn run_ticks(engine: &aol::engine::Engine, ticks: u64) {
    let settings = aol::engine::DaemonSettings {
        max_ticks: Some(ticks),
        tick_interval: std::time::Duration::from_millis(1),
        max_tick: std::time::Duration::from_secs(20),
        ..Default::default()
    };
    aol::engine::daemon::run(engine, &settings, &tokio_util::sync::CancellationToken::new()).await;
}

/// An engine over `db` with the standard adapters, writing artifacts under
/// `artifact_dir`; its channels may post to this machine (the test servers),
/// and their secret files are in the folder above `artifact_dir`.
pub async fn engine_in(db: &Db, artifact_dir: &std::path::Path) -> aol::engine::Engine {
    use aol::engine::channels::{PlatformSettings, Platforms};
    let settings = PlatformSettings {
        secrets_dir: artifact_dir.parent().map(std::path::Path::to_path_buf),
        private_networks: true,
        ..Default::default()
    };
    let adapters = aol::engine::Registry::with_platforms(Platforms::new(settings));
    aol::engine::Engine::new(db.clone(), aol::engine::Clock::System, adapters).await.expect("engine")
}

/// The standard adapters for a test against this machine's stand-ins:
/// artifacts under `dir/artifacts`, channels' secret files in `dir`,
/// requests cut off after `total` (connecting: 1 s).
pub fn local_registry(dir: &std::path::Path, total: std::time::Duration) -> aol::engine::Registry {
    use aol::engine::channels::{HttpTimeouts, PlatformSettings, Platforms};
    let timeouts = HttpTimeouts { connect: std::time::Duration::from_secs(1), total };
    let settings = PlatformSettings { timeouts, secrets_dir: Some(dir.to_path_buf()), private_networks: true };
    aol::engine::Registry::with_platforms(Platforms::new(settings))
}

/// An engine for tests that write no artifacts.
pub async fn engine(db: &Db) -> aol::engine::Engine {
    engine_in(db, &std::env::temp_dir().join("aol-test-artifacts-unused")).await
}

/// Signs in at `base` with the operator `token` as the dashboard does (same
/// origin); returns the session's whole `Set-Cookie` header.
pub async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> String {
    sign_in_as(http, base, "", token).await
}

/// Signs in at `base` as the person `name` with `password` (no name: the
/// operator token); returns the session's whole `Set-Cookie` header.
pub async fn sign_in_as(http: &reqwest::Client, base: &str, name: &str, password: &str) -> String {
    let login = http
        .post(format!("{base}/ui/login"))
        .header("origin", base)
        .form(&[("name", name), ("secret", password)])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "sign-in: {}", login.status());
    login.headers().get("set-cookie").expect("a session cookie").to_str().unwrap().to_string()
}

/// The operator token of [`TestServer`]s.
pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";

/// The whole HTTP surface (API, health, metrics, dashboard) on a loopback
/// port, over `db`, without a daemon; stops when dropped.
pub struct TestServer {
    pub base: String,
    pub engine: aol::engine::Engine,
    shutdown: tokio_util::sync::CancellationToken,
    _artifacts: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(db: &Db) -> TestServer {
        TestServer::start_with(db, false).await
    }

    /// With `public_read`, anyone may look without signing in (AOL_PUBLIC_READ).
    pub async fn start_with(db: &Db, public_read: bool) -> TestServer {
        let artifacts = tempfile::tempdir().expect("artifact dir");
        let engine = engine_in(db, artifacts.path()).await;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let (changes, _feed) = engine.spawn_change_feed(shutdown.clone());
        let state = aol::web::state::AppState {
            leptos_options: leptos::config::LeptosOptions::builder().output_name("aol").build(),
            engine: engine.clone(),
            changes,
            auth: aol::auth::OperatorAuth::from_token(OPERATOR_TOKEN),
            llm_configured: false,
            allowed_hosts: Default::default(),
            public_read,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = aol::server::router(state);
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await.expect("serve")
        });
        TestServer { base, engine, shutdown, _artifacts: artifacts }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
