//! The repository conformance suite, run against the embedded store.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use keygate_domain::Repositories;
use keygate_embedded::EmbeddedStore;

/// A fresh store in its own temporary directory, kept for the life of the test process.
async fn fresh() -> Repositories {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = Arc::new(EmbeddedStore::open(&dir).unwrap());
    Repositories::of(store)
}

keygate_testkit::conformance_tests!(fresh());

#[tokio::test]
async fn a_second_process_cannot_open_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let _first = EmbeddedStore::open(dir.path()).unwrap();
    assert!(EmbeddedStore::open(dir.path()).is_err());
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let alice = keygate_testkit::fixtures::user("alice", "alice@example.com");
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        keygate_domain::accounts::UserRepository::insert(&store, &alice)
            .await
            .unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let found = keygate_domain::accounts::UserRepository::find_by_id(&store, &alice.id)
        .await
        .unwrap();
    assert_eq!(found, Some(alice));
}
