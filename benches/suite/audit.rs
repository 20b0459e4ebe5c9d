//! The audit trail: appending events (1,000 a transaction, as an enqueue
//! batch does), and `aol audit verify` over the whole chain, at the size
//! given (1,000,000 rows in the full suite).

use std::time::Instant;

use aol::storage::{AuditCheck, AuditEntry};

use crate::common::{Backend, TestDb};
use crate::report::{Results, Target};

const PER_TRANSACTION: usize = 1_000;

pub async fn run(backend: Backend, rows: usize, verify_runs: usize, results: &mut Results) {
    let t = TestDb::migrated(backend).await;
    let db = crate::db_name(backend);
    let entries: Vec<AuditEntry> = (0..PER_TRANSACTION)
        .map(|i| {
            let data =
                serde_json::json!({"level": "INFO", "message": format!("attempt 1 started (PROOF) #{i}"), "epoch": 7});
            AuditEntry::new("aol:daemon", Some(i as i64 + 1), "attempt_started", data)
        })
        .collect();
    let mut rates = Vec::new();
    for _ in 0..rows / PER_TRANSACTION {
        let started = Instant::now();
        t.db.audit_append(&entries, chrono::Utc::now()).await.unwrap();
        rates.push(PER_TRANSACTION as f64 / started.elapsed().as_secs_f64());
    }
    results.add(db, "audit append, 1,000 events a transaction", Some(rows as i64), &rates, "events/s", Target::None);
    let mut times = Vec::new();
    for _ in 0..verify_runs {
        let started = Instant::now();
        let check = t.db.audit_verify().await.unwrap();
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(check, AuditCheck::Intact { rows: rows as i64, head: t.db.audit_head().await.unwrap().1 });
    }
    results.add(db, "aol audit verify, whole chain", Some(rows as i64), &times, "s", Target::None);
    t.remove().await;
}
