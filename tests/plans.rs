//! The plans of the statements every tick runs, on a queue with history:
//! each must find its rows through its index, never read or sort the whole
//! queue. SQLite gathers no statistics by itself, and without them it once
//! sorted every PENDING action at each claim; PostgreSQL plans from the
//! statistics autovacuum keeps (gathered here with ANALYZE).

mod common;

use aol::storage::{key_statements, tick_statements, Dialect};
use common::{Backend, TestCtx};

/// 20,000 finished actions, 5,000 queued, and 100 of those with a deadline.
async fn seed(ctx: &TestCtx) {
    ctx.execute_raw(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000) \
         INSERT INTO aol_actions (idempotency_key, action_type, payload_json, status, attempts, not_before_utc, \
           created_at_utc, updated_at_utc) \
         SELECT 'k' || i, 'POST_SOCIAL', '{\"text\":\"x\"}', CASE WHEN i % 5 = 0 THEN 'PENDING' ELSE 'SUCCESS' END, \
           1, '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z' FROM n",
    )
    .await;
    ctx.execute_raw("UPDATE aol_actions SET not_after_utc = '2026-12-02T00:00:00Z' WHERE id % 250 = 0").await;
    // PostgreSQL's autovacuum gathers statistics; AOL never asks SQLite to.
    if let Backend::Postgres = ctx.backend {
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
            for (i, value) in values.iter().enumerate().rev() {
                sql = sql.replace(&format!("${}", i + 1), value);
            }
        }
        out.push((name, plan_of(ctx, &sql).await));
    }
    out
}

async fn tick_statements_use_their_indexes(ctx: TestCtx) {
    seed(&ctx).await;
    for (name, plan) in plans(&ctx).await {
        let index = match name {
            "claim" => "aol_actions_due_idx",
            _ => "aol_actions_deadline_idx",
        };
        assert!(plan.contains(index), "{}: {name} does not use {index}:\n{plan}", ctx.backend_name());
        for whole in ["SCAN aol_actions\n", "TEMP B-TREE", "Seq Scan on aol_actions", "Sort"] {
            assert!(
                !format!("{plan}\n").contains(whole),
                "{}: {name} reads or sorts the queue:\n{plan}",
                ctx.backend_name()
            );
        }
    }
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
    seed(&ctx).await;
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
            (Backend::Postgres, "actions by keys") => "aol_actions_idempotency_key_key",
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

on_both_databases!(tick_statements_use_their_indexes, key_lookups_use_the_key_index);
