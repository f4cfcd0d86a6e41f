//! Every repository method has a conformance case: the whole suite runs through the metrics
//! decorator, whose label list the compiler keeps complete, and each label must have been
//! called. A new port method therefore needs its port, both adapters and the metrics list
//! (the compiler asks for those) and a case (this test asks for it).
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use keygate_domain::Repositories;
use keygate_embedded::EmbeddedStore;
use keygate_server::store_metrics::{MeasuredStore, StoreMetrics, OPERATIONS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_repository_method_is_exercised_by_a_conformance_case() {
    assert!(
        std::env::var("KEYGATE_CASE").is_err(),
        "KEYGATE_CASE would run part of the suite: unset it for this test"
    );
    let metrics = Arc::new(StoreMetrics::default());
    let root = std::env::temp_dir().join(format!("keygate-coverage-{}", std::process::id()));
    keygate_testkit::run_all(|| {
        let metrics = metrics.clone();
        let dir = fresh_dir(&root);
        async move {
            let store = Arc::new(EmbeddedStore::open(&dir).unwrap());
            Repositories::of(Arc::new(MeasuredStore::new(store, metrics)))
        }
    })
    .await;
    let _ = std::fs::remove_dir_all(&root);
    let uncovered: Vec<&str> = OPERATIONS
        .iter()
        .copied()
        .filter(|operation| metrics.calls(operation) == 0)
        .collect();
    assert!(
        uncovered.is_empty(),
        "no conformance case calls {uncovered:?}: add one to crates/testkit"
    );
}

/// A fresh directory under `root`.
fn fresh_dir(root: &std::path::Path) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = root.join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
