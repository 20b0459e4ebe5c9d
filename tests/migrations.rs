//! The schema: both dialects have the same migrations, they create the five
//! AOL tables (and the flag history), and they can run again at every start.

mod common;

use aol::storage::{migration_names, Dialect};
use common::{Backend, TestCtx, TestDb};

#[test]
fn both_dialects_have_the_same_migrations() {
    let sqlite = migration_names(Dialect::Sqlite);
    let postgres = migration_names(Dialect::Postgres);
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres must match name for name");
}

const TABLES: [&str; 6] =
    ["aol_control_flags", "aol_flag_changes", "aol_tick_ledger", "aol_lease", "aol_actions", "aol_execution_logs"];

async fn count(ctx: &TestCtx, table: &str) -> i64 {
    let rows: Vec<(i64,)> = ctx.fetch_all_raw(&format!("SELECT COUNT(*) FROM {table}")).await;
    rows[0].0
}

async fn creates_every_table(ctx: TestCtx) {
    for table in TABLES {
        let rows = count(&ctx, table).await;
        let expected = if table == "aol_control_flags" { 1 } else { 0 };
        assert_eq!(rows, expected, "{table}");
    }
}

async fn flags_start_safe(ctx: TestCtx) {
    let flags = ctx.db.flags_get().await.unwrap();
    assert!(!flags.paused);
    assert!(!flags.killed);
    assert!(flags.proof_mode, "a new database starts in PROOF mode");
    assert_eq!(flags.updated_by, "migration");
}

async fn control_flags_holds_exactly_one_row(ctx: TestCtx) {
    let sql = "INSERT INTO aol_control_flags (id, paused, killed, proof_mode, updated_at_utc, updated_by) \
               VALUES (2, FALSE, FALSE, TRUE, $1, 'test')";
    let now = chrono::Utc::now();
    let err = match ctx.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&ctx.url).await.unwrap();
            sqlx::query(sql).bind(now).execute(&pool).await.err()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&ctx.url).await.unwrap();
            sqlx::query(sql).bind(now).execute(&pool).await.err()
        }
    };
    assert!(err.is_some(), "a second flags row was accepted");
    assert_eq!(count(&ctx, "aol_control_flags").await, 1);
}

async fn migrating_again_changes_nothing(ctx: TestCtx) {
    ctx.db
        .flags_set(aol::model::Flag::Paused, true, chrono::Utc::now(), &aol::storage::Actor { who: "t", reason: None })
        .await
        .unwrap();
    ctx.db.migrate().await.expect("second migrate");
    assert!(ctx.db.flags_get().await.unwrap().paused, "migrate must not reset the flags");
    assert_eq!(count(&ctx, "aol_control_flags").await, 1);
}

on_both_databases!(
    creates_every_table,
    flags_start_safe,
    control_flags_holds_exactly_one_row,
    migrating_again_changes_nothing,
);

/// Opening a SQLite path that does not exist yet creates the file.
#[tokio::test]
async fn sqlite_file_is_created_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let db = aol::storage::Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    db.migrate().await.unwrap();
    assert!(path.exists());
    db.close().await;
}

#[tokio::test]
async fn unreachable_postgres_is_a_clear_error() {
    let err = aol::storage::Db::connect("postgres://postgres:pw@127.0.0.1:1/nothing").await.unwrap_err().to_string();
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(!err.contains("pw"), "the password leaked: {err}");
}

/// Keeps the unused-import lint quiet when only some helpers are used.
#[allow(dead_code)]
fn _uses(_: TestDb) {}
