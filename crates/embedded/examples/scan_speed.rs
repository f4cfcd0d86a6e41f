//! Measurements of the store alone, run by hand on the release build (never timed in a test):
//! `cargo run --release -p keygate-embedded --example scan_speed`.
//!
//! Writes `BULK_RECORDS` (0) records with indexes on `tag` and `n` to one endpoint and
//! `SCAN_RECORDS` (10 000) to another, then prints the best of `SCAN_ROUNDS` (50) scans of the
//! second with a condition no record meets, per record; then how long opening the file takes,
//! as it is and once its scan blocks must be built again (a file written before them).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use keygate_domain::apis::records::{ListBounds, QueryPlan, RecordQuery, RecordRepository};
use keygate_embedded::EmbeddedStore;
use keygate_testkit::fixtures::{api, endpoint, record, unindexed};
use redb::TableDefinition;
use serde_json::json;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let records = setting("SCAN_RECORDS", 10_000);
    let bulk = setting("BULK_RECORDS", 0);
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let owner = keygate_domain::Id::generate_ordered(chrono::Utc::now());
    let api = api(&owner, "scale");
    let written: Vec<_> = (0..bulk + records)
        .map(|i| {
            let name = if i < bulk { "items" } else { "scan" };
            let body = json!({"tag": format!("t{}", i % 1000), "n": i, "pad": "the quick brown fox jumps over"});
            record(&api, name, body)
        })
        .collect();
    for chunk in written.chunks(256) {
        let mut tasks = Vec::new();
        for r in chunk {
            let (store, r) = (store.clone(), r.clone());
            let indexed: Vec<String> = if r.endpoint.as_str() == "items" {
                vec!["tag".into(), "n".into()]
            } else {
                Vec::new()
            };
            tasks.push(tokio::spawn(
                async move { store.insert(&r, &indexed).await },
            ));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }
    let query = RecordQuery::parse(&[("missing".into(), "1".into())]).unwrap();
    let plan = QueryPlan::new(query, &unindexed("scan"), true, None).unwrap();
    let bounds = ListBounds {
        limit: 20,
        max_bytes: usize::MAX,
        max_examined: usize::MAX,
        max_examined_bytes: usize::MAX,
    };
    let mut best = f64::MAX;
    for _ in 0..setting("SCAN_ROUNDS", 50) {
        let started = Instant::now();
        let page = store
            .list(&api.id, &endpoint("scan"), &plan, bounds)
            .await
            .unwrap();
        assert!(page.records.is_empty());
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "{} records in the file, {records} scanned: best {:.3} ms, {:.4} µs a record",
        bulk + records,
        best * 1e3,
        best / records as f64 * 1e6
    );
    drop(store);

    let started = Instant::now();
    drop(EmbeddedStore::open(dir.path()).unwrap());
    println!("open: {:.2} s", started.elapsed().as_secs_f64());
    {
        let db = redb::Database::open(dir.path().join("keygate.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, u64>::new("store_format"))
            .unwrap()
            .remove("record_scan_blocks")
            .unwrap();
        txn.commit().unwrap();
    }
    let started = Instant::now();
    drop(EmbeddedStore::open(dir.path()).unwrap());
    println!(
        "open, building every scan block again: {:.2} s",
        started.elapsed().as_secs_f64()
    );
}
