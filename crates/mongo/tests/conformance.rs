//! The repository conformance suite, run against MongoDB: a real server or SecantusDB at
//! `MONGODB_URI` (`make test` provisions one). Fails, never skips, without a server.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use keygate_domain::Repositories;
use keygate_mongo::{MongoSettings, MongoStore};

fn url() -> String {
    std::env::var("MONGODB_URI").unwrap_or_else(|_| {
        panic!("MONGODB_URI is not set: run `make test`, which starts a MongoDB-compatible server")
    })
}

/// A fresh store on a database of its own.
async fn fresh() -> Repositories {
    let database = format!("kg_conformance_{}", keygate_domain::Id::generate(0));
    let store = MongoStore::connect(&MongoSettings {
        url: url(),
        database,
        operation_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    let store = Arc::new(store);
    Repositories::of(store)
}

keygate_testkit::conformance_tests!(fresh());

#[tokio::test]
async fn indexes_are_created_idempotently() {
    let database = format!("kg_indexes_{}", keygate_domain::Id::generate(0));
    let settings = MongoSettings {
        url: url(),
        database,
        operation_timeout: Duration::from_secs(10),
    };
    MongoStore::connect(&settings).await.unwrap();
    MongoStore::connect(&settings).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_timeout() {
    let started = std::time::Instant::now();
    let result = MongoStore::connect(&MongoSettings {
        url: "mongodb://127.0.0.1:9/?directConnection=true".into(),
        database: "unreachable".into(),
        operation_timeout: Duration::from_millis(500),
    })
    .await;
    assert!(matches!(result, Err(keygate_domain::Error::Unavailable(_))));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
