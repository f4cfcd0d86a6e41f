//! How long a scan takes per record examined (run by hand:
//! `cargo test --release -p keygate-embedded --test scan_speed -- --ignored --nocapture`).
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Instant;

use keygate_domain::apis::records::{ListBounds, QueryPlan, RecordQuery, RecordRepository};
use keygate_embedded::EmbeddedStore;
use keygate_testkit::fixtures::{api, endpoint, record, unindexed};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn scan_cost_per_record() {
    let records: usize = std::env::var("SCAN_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let owner = keygate_domain::Id::generate_ordered(chrono::Utc::now());
    let api = api(&owner, "scale");
    let bulk: usize = std::env::var("BULK_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut writes = Vec::new();
    for i in 0..bulk + records {
        let r = record(
            &api,
            if i < bulk { "items" } else { "scan" },
            json!({"tag": format!("t{}", i % 1000), "n": i, "pad": "the quick brown fox jumps over"}),
        );
        writes.push(r);
    }
    for chunk in writes.chunks(256) {
        let mut tasks = Vec::new();
        for r in chunk {
            let store = store.clone();
            let r = r.clone();
            let indexed: Vec<String> = if r.endpoint.as_str() == "items" {
                vec!["tag".into(), "n".into()]
            } else {
                Vec::new()
            };
            tasks.push(tokio::spawn(
                async move { store.insert(&r, &indexed).await },
            ));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    }
    println!("written {} records", bulk + records);
    let query = RecordQuery::parse(&[("missing".into(), "1".into())]).unwrap();
    let plan = QueryPlan::new(query, &unindexed("scan"), true, None).unwrap();
    let bounds = ListBounds {
        limit: 20,
        max_bytes: usize::MAX,
        max_examined: usize::MAX,
        max_examined_bytes: usize::MAX,
    };
    let mut best = f64::MAX;
    for _ in 0..scan_rounds() {
        let started = Instant::now();
        let page = store
            .list(&api.id, &endpoint("scan"), &plan, bounds)
            .await
            .unwrap();
        assert!(page.records.is_empty());
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "{records} records: best scan {:.3} ms, {:.4} µs a record",
        best * 1e3,
        best / records as f64 * 1e6
    );
}

/// How many times the scan is timed (`SCAN_ROUNDS`, 50).
fn scan_rounds() -> usize {
    std::env::var("SCAN_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}
