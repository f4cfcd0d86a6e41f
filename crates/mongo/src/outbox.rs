//! The outbox on MongoDB: a claim takes one due, unleased message at a time with a conditional
//! `findOneAndUpdate` that sets its lease, so several instances never take one message at once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::mail::{Outbox, QueuedMail};
use keygate_domain::{Id, Result};
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReturnDocument;

use crate::collections::OUTBOX;
use crate::documents::{bson_time, mail_document, mail_of, object_id};
use crate::store::MongoStore;

#[async_trait]
impl Outbox for MongoStore {
    async fn enqueue(&self, mail: &QueuedMail) -> Result<()> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        self.run(outbox.insert_one(mail_document(mail)?)).await?;
        Ok(())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        let mut claimed = Vec::new();
        while claimed.len() < limit {
            let due = doc! {
                "next_attempt_at": {"$lte": bson_time(now)},
                "$or": [{"lease_until": Bson::Null}, {"lease_until": {"$lte": bson_time(now)}}],
            };
            let taken = self
                .run(
                    outbox
                        .find_one_and_update(
                            due,
                            doc! {"$set": {"lease_until": bson_time(lease_until)}},
                        )
                        .sort(doc! {"next_attempt_at": 1})
                        .return_document(ReturnDocument::After),
                )
                .await?;
            match taken {
                Some(document) => claimed.push(mail_of(&document)?),
                None => break,
            }
        }
        Ok(claimed)
    }

    async fn remove(&self, id: &Id, claimed_until: DateTime<Utc>) -> Result<bool> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        let removed = self
            .run(
                outbox.delete_one(
                    doc! {"_id": object_id(id)?, "lease_until": bson_time(claimed_until)},
                ),
            )
            .await?;
        Ok(removed.deleted_count == 1)
    }

    async fn retry_later(
        &self,
        id: &Id,
        claimed_until: DateTime<Utc>,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        let changed = self
            .run(outbox.update_one(
                doc! {"_id": object_id(id)?, "lease_until": bson_time(claimed_until)},
                doc! {"$set": {
                    "attempts": i64::from(attempts),
                    "next_attempt_at": bson_time(next_attempt_at),
                    "lease_until": Bson::Null,
                }},
            ))
            .await?;
        Ok(changed.matched_count == 1)
    }

    async fn queued(&self) -> Result<u64> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        self.run(outbox.count_documents(doc! {})).await
    }
}
