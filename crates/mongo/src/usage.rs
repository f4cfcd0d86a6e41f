//! Per-account storage totals on MongoDB: one document per account (`_id` = account id),
//! changed by one conditional `$inc`, so the limit check and the change are one atomic step.

use async_trait::async_trait;
use keygate_domain::usage::{UsageChange, UsageLimits, UsageRepository};
use keygate_domain::{Id, Result};
use mongodb::bson::{doc, Document};

use crate::collections::USAGE;
use crate::documents::object_id;
use crate::store::MongoStore;

#[async_trait]
impl UsageRepository for MongoStore {
    async fn try_change(
        &self,
        user_id: &Id,
        change: UsageChange,
        limits: UsageLimits,
    ) -> Result<bool> {
        let usage = self.database().collection::<Document>(USAGE);
        let id = object_id(user_id)?;
        let mut filter = doc! {"_id": id};
        if !change.only_shrinks() {
            let cap = |limit: u64, delta: i64| i64::try_from(limit).unwrap_or(i64::MAX) - delta;
            filter.insert(
                "entries",
                doc! {"$lte": cap(limits.max_entries, change.entries)},
            );
            filter.insert("bytes", doc! {"$lte": cap(limits.max_bytes, change.bytes)});
            if change.apis > 0 {
                // Totals written before APIs were counted have no `apis`: none were, then.
                filter.insert(
                    "$or",
                    vec![
                        doc! {"apis": {"$lte": cap(limits.max_apis, change.apis)}},
                        doc! {"apis": {"$exists": false}},
                    ],
                );
            }
        }
        let increment =
            doc! {"$inc": {"entries": change.entries, "bytes": change.bytes, "apis": change.apis}};
        let mut updated = self
            .run(usage.update_one(filter.clone(), increment.clone()))
            .await?;
        if updated.matched_count == 0 {
            // No totals yet, or a growth past the limits: make sure they exist, try once more.
            self.run(
                usage
                    .update_one(
                        doc! {"_id": id},
                        doc! {"$setOnInsert": {"entries": 0_i64, "bytes": 0_i64, "apis": 0_i64}},
                    )
                    .upsert(true),
            )
            .await?;
            updated = self.run(usage.update_one(filter, increment)).await?;
        }
        if updated.matched_count == 1 && change.only_shrinks() {
            // Totals never go below zero, even if a give-back was counted twice.
            self.run(usage.update_one(
                doc! {"_id": id, "entries": {"$lt": 0_i64}},
                doc! {"$set": {"entries": 0_i64}},
            ))
            .await?;
            self.run(usage.update_one(
                doc! {"_id": id, "bytes": {"$lt": 0_i64}},
                doc! {"$set": {"bytes": 0_i64}},
            ))
            .await?;
            self.run(usage.update_one(
                doc! {"_id": id, "apis": {"$lt": 0_i64}},
                doc! {"$set": {"apis": 0_i64}},
            ))
            .await?;
        }
        Ok(updated.matched_count == 1)
    }

    async fn forget(&self, user_id: &Id) -> Result<()> {
        let usage = self.database().collection::<Document>(USAGE);
        self.run(usage.delete_one(doc! {"_id": object_id(user_id)?}))
            .await
            .map(|_| ())
    }
}
