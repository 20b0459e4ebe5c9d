//! The plans of the statements every tick runs, on a queue with history:
//! each must find its rows through its index, never read or sort the whole
//! queue. SQLite gathers no statistics by itself, and without them it once
//! sorted every PENDING action at each claim; PostgreSQL plans from the
//! statistics autovacuum keeps (gathered here with ANALYZE), which right
//! after a burst of enqueues still describe the table before it.

mod common;

use aol::storage::{key_statements, retention_statements, tick_statements, Dialect};
use common::{Backend, TestCtx};

/// When PostgreSQL's statistics were gathered, against the seed.
#[derive(Clone, Copy)]
enum Stats {
    /// After it, as autovacuum does within a minute.
    After,
    /// Before it, on the empty table: the moment after a burst of enqueues.
    Before,
}

/// 20,000 finished actions, 5,000 queued, and 100 of those with a deadline.
async fn seed(ctx: &TestCtx, stats: Stats) {
    if let (Backend::Postgres, Stats::Before) = (&ctx.backend, stats) {
        ctx.execute_raw("ANALYZE").await;
    }
    ctx.execute_raw(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000) \
         INSERT INTO aol_actions (idempotency_key, action_type, payload_json, status, attempts, not_before_utc, \
           created_at_utc, updated_at_utc) \
         SELECT 'k' || i, 'POST_SOCIAL', '{\"text\":\"x\"}', CASE WHEN i % 5 = 0 THEN 'PENDING' ELSE 'SUCCESS' END, \
           1, '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z' FROM n",
    )
    .await;
    if let Backend::Postgres = ctx.backend {
        ctx.execute_raw(common::POSTGRES_LOOKUP_OF_SEEDED).await;
    }
    ctx.execute_raw("UPDATE aol_actions SET not_after_utc = '2026-12-02T00:00:00Z' WHERE id % 250 = 0").await;
    // PostgreSQL's autovacuum gathers statistics; AOL never asks SQLite to.
    if let (Backend::Postgres, Stats::After) = (&ctx.backend, stats) {
        ctx.execute_raw("ANALYZE").await;
    }
}

fn dialect(ctx: &TestCtx) -> Dialect {
    match ctx.backend {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres => Dialect::Postgres,
    }
}

/// The plan of `sql` (its placeholders already written in on PostgreSQL), as one text.
async fn plan_of(ctx: &TestCtx, sql: &str) -> String {
    match ctx.backend {
        Backend::Sqlite => {
            let rows: Vec<(i64, i64, i64, String)> = ctx.fetch_all_raw(&format!("EXPLAIN QUERY PLAN {sql}")).await;
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
        Backend::Postgres => {
            let rows: Vec<(String,)> = ctx.fetch_all_raw(&format!("EXPLAIN {sql}")).await;
            rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
        }
    }
}

/// Each tick statement's plan, as one text per statement.
async fn plans(ctx: &TestCtx) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (name, sql) in tick_statements(dialect(ctx)) {
        let mut sql = sql.to_string();
        if let Backend::Postgres = ctx.backend {
            // The values a tick binds, written in: lease, owner, epoch,
            // now, then the statement's own.
            let values: &[&str] = match name {
                "claim" => &["'aol-daemon'", "'a'", "1", "'2026-12-03T00:00:00Z'", "1000"],
                "chores_due" => &["1", "'2026-12-03T00:00:00Z'", "'2026-12-02T00:00:00Z'", "'2026-12-02T00:00:00Z'"],
                _ => &["'aol-daemon'", "'a'", "1", "'2026-12-03T00:00:00Z'", "'late'"],
            };
            sql = written_in(&sql, values);
        }
        out.push((name, plan_of(ctx, &sql).await));
    }
    out
}

/// `sql` with `values` written in for its placeholders `$1`, `$2`, … (from
/// the last, so that `$1` does not take the start of `$10`).
fn written_in(sql: &str, values: &[&str]) -> String {
    let mut sql = sql.to_string();
    for (i, value) in values.iter().enumerate().rev() {
        sql = sql.replace(&format!("${}", i + 1), value);
    }
    sql
}

/// Fails if `plan` reads or sorts the whole queue or every log line.
fn assert_no_whole_read(ctx: &TestCtx, name: &str, plan: &str) {
    let wholes = [
        "SCAN aol_actions\n",
        "SCAN aol_execution_logs\n",
        "TEMP B-TREE",
        "Seq Scan on aol_actions",
        "Seq Scan on aol_execution_logs",
        "Sort",
    ];
    for whole in wholes {
        assert!(
            !format!("{plan}\n").contains(whole),
            "{}: {name} reads or sorts a whole table:\n{plan}",
            ctx.backend_name()
        );
    }
}

/// The plan of the query in PostgreSQL function `name`, planned with the
/// settings the function declares, its arguments written in: what the
/// claim's subquery runs (EXPLAIN of the claim shows only the call).
async fn function_plan(ctx: &TestCtx, name: &str, args: &[(&str, &str)]) -> String {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&ctx.url).await.unwrap();
    let (mut body, settings): (String, Option<Vec<String>>) =
        sqlx::query_as("SELECT prosrc, proconfig FROM pg_proc WHERE proname = $1")
            .bind(name)
            .fetch_one(&mut c)
            .await
            .unwrap();
    for setting in settings.unwrap_or_default() {
        let (key, value) = setting.split_once('=').unwrap();
        sqlx::query(&format!("SET {key} = {value}")).execute(&mut c).await.unwrap();
    }
    for (arg, value) in args {
        body = body.replace(arg, value);
    }
    let rows: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {body}")).fetch_all(&mut c).await.unwrap();
    rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
}

async fn check_tick_statements(ctx: &TestCtx, stats: Stats) {
    seed(ctx, stats).await;
    for (name, plan) in plans(ctx).await {
        let index = match (name, &ctx.backend) {
            // The claim's due actions come from aol_due_ids (below), then
            // are looked up by id.
            ("claim", Backend::Postgres) => "aol_actions_pkey",
            ("claim", Backend::Sqlite) => "aol_actions_due_idx",
            _ => "aol_actions_deadline_idx",
        };
        assert!(plan.contains(index), "{}: {name} does not use {index}:\n{plan}", ctx.backend_name());
        assert_no_whole_read(ctx, name, &plan);
    }
    if let Backend::Postgres = ctx.backend {
        let args = [("due_at", "'2026-12-03T00:00:00Z'::timestamptz"), ("how_many", "1000")];
        let plan = function_plan(ctx, "aol_due_ids", &args).await;
        assert!(plan.contains("Index Scan using aol_actions_due_idx"), "aol_due_ids:\n{plan}");
        assert_no_whole_read(ctx, "aol_due_ids", &plan);
    }
}

async fn tick_statements_use_their_indexes(ctx: TestCtx) {
    check_tick_statements(&ctx, Stats::After).await;
}

/// Right after a burst of enqueues, before autovacuum has looked at the
/// table, PostgreSQL expected a handful of due rows and planned the claim to
/// read and sort every one of them.
async fn tick_statements_use_their_indexes_on_stale_statistics(ctx: TestCtx) {
    check_tick_statements(&ctx, Stats::Before).await;
}

/// The lookups by a list of keys (one JSON parameter, so one statement text
/// for any number of keys) go through each table's key index.
async fn key_lookups_use_the_key_index(ctx: TestCtx) {
    ctx.execute_raw(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
         INSERT INTO aol_retired_keys (idempotency_key, action_id, status, finished_at_utc, retired_at_utc) \
         SELECT 'old' || i, i, 'SUCCESS', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z' FROM n",
    )
    .await;
    seed(&ctx, Stats::After).await;
    let keys = match ctx.backend {
        Backend::Sqlite => "'[\"k5\", \"k10\", \"old5\", \"old10\"]'",
        Backend::Postgres => "'[\"k5\", \"k10\", \"old5\", \"old10\"]'::jsonb",
    };
    for (name, sql) in key_statements(dialect(&ctx)) {
        let sql = sql.replace("$1", keys);
        let plan = plan_of(&ctx, &sql).await;
        let index = match (&ctx.backend, name) {
            (Backend::Sqlite, "actions by keys") => "sqlite_autoindex_aol_actions_1",
            (Backend::Sqlite, _) => "sqlite_autoindex_aol_retired_keys_1",
            (Backend::Postgres, "actions by keys") => "aol_action_lookup_key",
            (Backend::Postgres, _) => "aol_retired_keys_pkey",
        };
        assert!(plan.contains(index), "{}: {name} does not use {index}:\n{plan}", ctx.backend_name());
        assert!(
            !plan.contains("Seq Scan on aol_actions"),
            "{}: {name} reads every action:\n{plan}",
            ctx.backend_name()
        );
        let found: Vec<(String,)> =
            ctx.fetch_all_raw(&format!("SELECT idempotency_key FROM ({sql}) AS f ORDER BY 1")).await;
        let expected = if name == "actions by keys" { ["k10", "k5"] } else { ["old10", "old5"] };
        let expected: Vec<(String,)> = expected.iter().map(|k| (k.to_string(),)).collect();
        assert_eq!(found, expected, "{}: {name}", ctx.backend_name());
    }
}

/// Retention takes the oldest rows through their time index and stops at
/// its limit: with a month of history, a plan that reads every finished
/// action (and their log lines) to sort them held SQLite's one writer for
/// most of a second at each call.
async fn retention_reads_the_oldest_rows_through_their_index(ctx: TestCtx) {
    seed(&ctx, Stats::After).await;
    ctx.execute_raw(
        "INSERT INTO aol_execution_logs (action_id, ts_utc, level, message) \
         SELECT id, created_at_utc, 'INFO', 'ended' FROM aol_actions",
    )
    .await;
    // The lines' statistics too, as autovacuum gathers them.
    if let Backend::Postgres = ctx.backend {
        ctx.execute_raw("ANALYZE").await;
    }
    for (name, sql) in retention_statements() {
        let sql = match ctx.backend {
            // Before, how many, then the statuses.
            Backend::Postgres => {
                written_in(sql, &["'2026-12-02T00:00:00Z'", "500", "'SUCCESS'", "'FAILED'", "'CANCELLED'", "'EXPIRED'"])
            }
            Backend::Sqlite => sql.to_string(),
        };
        let plan = plan_of(&ctx, &sql).await;
        let index = match name {
            "old log lines" => "aol_execution_logs_ts_idx",
            _ => "aol_actions_status_updated_idx",
        };
        assert!(plan.contains(index), "{}: {name} does not use {index}:\n{plan}", ctx.backend_name());
        // What chooses the rows: PostgreSQL then deletes them by a scan of
        // these small tables, by their ids in big ones.
        let marker = if let Backend::Postgres = ctx.backend { "Subquery Scan" } else { "SUBQUERY" };
        let (_, choice) = plan.split_once(marker).unwrap_or_else(|| panic!("{name}: no subquery in\n{plan}"));
        assert_no_whole_read(&ctx, name, choice);
    }
}

on_both_databases!(
    tick_statements_use_their_indexes,
    tick_statements_use_their_indexes_on_stale_statistics,
    key_lookups_use_the_key_index,
    retention_reads_the_oldest_rows_through_their_index
);
