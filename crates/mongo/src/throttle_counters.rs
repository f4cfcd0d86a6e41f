//! Throttle counters on MongoDB, shared by every instance on the database (§12): one document
//! per counter (`_id` = its name), changed by one `findOneAndUpdate` with `$inc`, so two
//! instances counting at once each see a count of their own. A TTL index removes a counter
//! once its window can no longer weigh.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::accounts::ThrottleCounters;
use keygate_domain::{Error, Result};
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReturnDocument;

use crate::collections::THROTTLE_COUNTERS;
use crate::documents::bson_time;
use crate::store::MongoStore;

/// The count a counter document holds (`n`, stored as a 32- or 64-bit integer).
fn count_of(document: &Document) -> Result<i64> {
    match document.get("n") {
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        None => Ok(0),
        Some(_) => Err(Error::Internal("stored throttle counter: bad n".into())),
    }
}

#[async_trait]
impl ThrottleCounters for MongoStore {
    async fn add(&self, counter: &str, amount: i64, expires_at: DateTime<Utc>) -> Result<i64> {
        let counters = self.database().collection::<Document>(THROTTLE_COUNTERS);
        let increment = doc! {
            "$inc": {"n": amount},
            "$max": {"expires_at": bson_time(expires_at)},
        };
        let change = || {
            counters
                .find_one_and_update(doc! {"_id": counter}, increment.clone())
                .return_document(ReturnDocument::After)
        };
        if let Some(changed) = self.run(change()).await? {
            return count_of(&changed);
        }
        // The window's first hit: make the counter (racing makers agree: one inserts, the
        // others find it), then count on it. An upserting increment would let two racing
        // instances both start at 1 on some servers.
        let made = self
            .run(
                counters
                    .update_one(
                        doc! {"_id": counter},
                        doc! {"$setOnInsert": {"n": 0_i64, "expires_at": bson_time(expires_at)}},
                    )
                    .upsert(true),
            )
            .await;
        match made {
            Ok(_) | Err(Error::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
        match self.run(change()).await? {
            Some(changed) => count_of(&changed),
            None => Err(Error::Unavailable(
                "a throttle counter vanished as it was made".into(),
            )),
        }
    }

    async fn get(&self, counter: &str) -> Result<i64> {
        let counters = self.database().collection::<Document>(THROTTLE_COUNTERS);
        let found = self.run(counters.find_one(doc! {"_id": counter})).await?;
        found.as_ref().map_or(Ok(0), count_of)
    }

    async fn remove(&self, counters: &[String]) -> Result<()> {
        let collection = self.database().collection::<Document>(THROTTLE_COUNTERS);
        self.run(collection.delete_many(doc! {"_id": {"$in": counters}}))
            .await
            .map(|_| ())
    }
}
