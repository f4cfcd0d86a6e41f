//! Throttle counters on a MongoDB-compatible server (§12): increments racing from many tasks
//! each see a count of their own, a counter reads back, takes amounts below zero, and is
//! removed; a TTL index expires them.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use keygate_domain::accounts::ThrottleCounters;
use keygate_domain::Id;
use keygate_mongo::{MongoSettings, MongoStore};
use mongodb::bson::Document;

fn url() -> String {
    std::env::var("MONGODB_URI").unwrap_or_else(|_| {
        panic!("MONGODB_URI is not set: run `make test`, which starts a MongoDB-compatible server")
    })
}

#[tokio::test]
async fn racing_increments_each_see_their_own_count() {
    let database = format!("kg_throttle_{}", Id::generate(0));
    let store = Arc::new(
        MongoStore::connect(&MongoSettings {
            url: url(),
            database: database.clone(),
            operation_timeout: Duration::from_secs(10),
        })
        .await
        .unwrap(),
    );
    let expires = Utc::now() + chrono::Duration::minutes(5);
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.add("login-account:x:1", 1, expires).await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=40).collect::<Vec<i64>>(), "every count once");
    assert_eq!(store.get("login-account:x:1").await.unwrap(), 40);
    assert_eq!(store.get("login-account:y:1").await.unwrap(), 0);
    assert_eq!(
        store.add("login-account:y:1", -1, expires).await.unwrap(),
        -1
    );
    store
        .remove(&["login-account:x:1".into(), "login-account:y:1".into()])
        .await
        .unwrap();
    assert_eq!(store.get("login-account:x:1").await.unwrap(), 0);

    let client = mongodb::Client::with_uri_str(url()).await.unwrap();
    let indexes = client
        .database(&database)
        .collection::<Document>("throttle_counters")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        indexes
            .iter()
            .any(|name| name == "throttle_counters_expiry_ttl"),
        "{indexes:?}"
    );
    client.database(&database).drop().await.unwrap();
}
