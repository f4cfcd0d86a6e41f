//! Records on MongoDB. Every query runs on an index: `(api_id, endpoint, _id)` for reads,
//! plain lists and scans of small endpoints, and for declared indexes (§11) one index per
//! slot and tie order, `(api_id, endpoint, ix.i<slot>, _id)`; paging is a range on the slot
//! and `_id`, so nothing is ever skipped inside MongoDB. Conditions an index does not carry
//! are checked here against the body's top-level keys, within the page's bounds.

use std::borrow::Cow;
use std::ops::Bound;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use keygate_domain::apis::records::{
    hex_key, matches_candidate, missing_key, Access, FirstPositions, KeyRange, ListBounds,
    ListedRecords, PageCollector, Position, QueryPlan, Record, RecordRepository, RemovedRecords,
};
use keygate_domain::apis::EndpointName;
use keygate_domain::{Id, Result};
use mongodb::bson::{doc, Bson, Document};

use crate::documents::object_id;
use crate::documents::{index_slots, RecordDocument};
use crate::indexes::slot_field;
use crate::store::MongoStore;

/// How often a deletion re-reads a record that changed between its read and its delete.
const DELETE_ATTEMPTS: usize = 32;

/// An integer field of a document, whichever BSON width the server chose; 0 if absent.
fn integer(document: &Document, field: &str) -> i64 {
    match document.get(field) {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        _ => 0,
    }
}

fn one(api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Document> {
    Ok(doc! {
        "_id": object_id(id)?,
        "api_id": object_id(api_id)?,
        "endpoint": endpoint.as_str(),
    })
}

fn endpoint_filter(api_id: &Id, endpoint: &EndpointName) -> Result<Document> {
    Ok(doc! {"api_id": object_id(api_id)?, "endpoint": endpoint.as_str()})
}

/// The slot condition of a key range, on hex keys: a point is an equality (SecantusDB finds
/// nothing for `{$gte: k, $lte: k}` on an indexed field). Both spellings mean the same on
/// any server; `tests/query_plans.rs` checks each shape is an index scan.
fn range_condition(range: &KeyRange) -> Bson {
    if let Some(key) = range.as_point() {
        return Bson::String(hex_key(key));
    }
    let mut condition = Document::new();
    match &range.start {
        Bound::Included(key) => {
            condition.insert("$gte", hex_key(key));
        }
        Bound::Excluded(key) => {
            condition.insert("$gt", hex_key(key));
        }
        Bound::Unbounded => {
            condition.insert("$gte", "");
        }
    }
    match &range.end {
        Bound::Included(key) => {
            // `$lte: k` as `$lt: k + "g"`: SecantusDB's index walk treats `$lte` as `$lt`, and
            // no stored key lies between the two (keys are prefix-free, hex stops at `f`).
            condition.insert("$lt", format!("{}g", hex_key(key)));
        }
        Bound::Excluded(key) => {
            condition.insert("$lt", hex_key(key));
        }
        Bound::Unbounded => {}
    }
    Bson::Document(condition)
}

/// The key of `field` among a body's field keys (the missing key when it has none).
fn key_among<'k>(keys: &'k [(String, Vec<u8>)], field: &str) -> Cow<'k, [u8]> {
    keys.iter().find(|(name, _)| name == field).map_or_else(
        || Cow::Owned(missing_key()),
        |(_, key)| Cow::Borrowed(key.as_slice()),
    )
}

/// One `find` a list sends: its filter and sort.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryShape {
    /// The filter.
    pub filter: Document,
    /// The sort.
    pub sort: Document,
}

/// The finds that answer `plan`, in the order they are sent (a list stops at the first that
/// fills its page). A small endpoint sorted without an index is read whole instead, on
/// `{api_id, endpoint}` (`records_endpoint_newest`).
pub fn query_shapes(
    api_id: &Id,
    endpoint: &EndpointName,
    plan: &QueryPlan,
) -> Result<Vec<QueryShape>> {
    let base = endpoint_filter(api_id, endpoint)?;
    let newest_first = doc! {"_id": -1};
    match &plan.access {
        Access::Scan => {
            let mut filter = base;
            if plan.query.sort().is_none() {
                if let Some(after) = &plan.after {
                    filter.insert("_id", doc! {"$lt": object_id(&after.id)?});
                }
            }
            Ok(vec![QueryShape {
                filter,
                sort: newest_first,
            }])
        }
        Access::Points { slot, keys, .. } => {
            // One equality walk per key, merged newest first by the caller: an `$in` next to a
            // range on `_id` is a collection scan on some servers (SecantusDB).
            let slot = slot_field(*slot);
            keys.iter()
                .map(|key| {
                    let mut filter = base.clone();
                    filter.insert(slot.as_str(), hex_key(key));
                    if let Some(after) = &plan.after {
                        filter.insert("_id", doc! {"$lt": object_id(&after.id)?});
                    }
                    Ok(QueryShape {
                        filter,
                        sort: newest_first.clone(),
                    })
                })
                .collect()
        }
        Access::Ordered {
            slot,
            ranges,
            descending,
            ..
        } => {
            let slot = slot_field(*slot);
            let direction = if *descending { -1 } else { 1 };
            let ordered: Vec<&KeyRange> = if *descending {
                ranges.iter().rev().collect()
            } else {
                ranges.iter().collect()
            };
            let after = plan
                .after
                .as_ref()
                .and_then(|p| p.key.clone().map(|k| (k, p.id.clone())));
            let mut shapes = Vec::new();
            for range in ordered {
                let mut range = range.clone();
                if let Some((key, id)) = &after {
                    if range.contains(key) {
                        // The rest of the cursor's own key first: older ids of it.
                        let mut ties = base.clone();
                        ties.insert(slot.as_str(), hex_key(key));
                        ties.insert("_id", doc! {"$lt": object_id(id)?});
                        shapes.push(QueryShape {
                            filter: ties,
                            sort: newest_first.clone(),
                        });
                    }
                    // Then only the keys past it.
                    let past = if *descending {
                        KeyRange {
                            start: Bound::Unbounded,
                            end: Bound::Excluded(key.clone()),
                        }
                    } else {
                        KeyRange {
                            start: Bound::Excluded(key.clone()),
                            end: Bound::Unbounded,
                        }
                    };
                    range = range.intersect(&past);
                    if range.is_empty() {
                        continue;
                    }
                }
                let mut filter = base.clone();
                filter.insert(slot.as_str(), range_condition(&range));
                shapes.push(QueryShape {
                    filter,
                    sort: doc! {slot.as_str(): direction, "_id": -1},
                });
            }
            Ok(shapes)
        }
    }
}

/// Offers one document read to the collector, its position keyed by `sort_field` (sorted
/// walks); false once the collector wants no more.
fn offer_document(
    collector: &mut PageCollector<'_>,
    document: RecordDocument,
    sort_field: Option<&str>,
) -> Result<bool> {
    let size = usize::try_from(document.size()).unwrap_or(usize::MAX);
    let record = document.into_record()?;
    let position = Position {
        key: sort_field.map(|f| record.data.field_key(f)).transpose()?,
        id: record.id.clone(),
    };
    let keys = record.data.field_keys()?;
    let key_of = |field: &str| Ok(key_among(&keys, field));
    collector.offer(|| Ok(position), size, key_of, || Ok(record.clone()))
}

impl MongoStore {
    /// Streams the records `filter` selects in `sort` order into the collector; false once it
    /// wants no more. `sort_field` is the field whose key goes into each position (sorted
    /// walks).
    async fn offer_all(
        &self,
        collector: &mut PageCollector<'_>,
        filter: Document,
        sort: Document,
        sort_field: Option<&str>,
    ) -> Result<bool> {
        let mut cursor = self
            .open_shape(collector, QueryShape { filter, sort })
            .await?;
        // Read one document at a time, so a page stops at its bounds instead of holding
        // every record the limit allows.
        while let Some(document) = self.run(cursor.try_next()).await? {
            if !offer_document(collector, document, sort_field)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Opens the find of one query shape, without the stored keys. When the plan reads only
    /// matches (every condition rides the walk, none compares a cut value), each document read
    /// is kept, so it asks for no more than the page wants; otherwise it reads in batches
    /// until the collector's bounds end the read.
    async fn open_shape(
        &self,
        collector: &PageCollector<'_>,
        shape: QueryShape,
    ) -> Result<mongodb::Cursor<RecordDocument>> {
        let records = self.records();
        let find = records
            .find(shape.filter)
            .projection(doc! {"fields": 0, "ix": 0})
            .sort(shape.sort);
        let find = if collector.plan().reads_only_matches() {
            find.limit(i64::try_from(collector.wanted().max(1)).unwrap_or(i64::MAX))
        } else {
            find.batch_size(256)
        };
        self.run(find).await
    }

    /// Runs a plan into the collector.
    async fn walk(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        collector: &mut PageCollector<'_>,
    ) -> Result<()> {
        let plan = collector.plan();
        if let (Access::Scan, Some(sort)) = (&plan.access, plan.query.sort()) {
            return self
                .scan_sorted(api_id, endpoint, collector, &sort.field, sort.descending)
                .await;
        }
        let sort_field = match &plan.access {
            Access::Scan => None,
            Access::Points { .. } => {
                let shapes = query_shapes(api_id, endpoint, plan)?;
                return self.merge_newest_first(collector, shapes).await;
            }
            Access::Ordered { field, .. } => Some(field.as_str()),
        };
        for shape in query_shapes(api_id, endpoint, plan)? {
            if !self
                .offer_all(collector, shape.filter, shape.sort, sort_field)
                .await?
            {
                break;
            }
        }
        Ok(())
    }

    /// Several newest-first finds (one per key of an index), merged newest first into the
    /// collector: one document of each is held at a time.
    async fn merge_newest_first(
        &self,
        collector: &mut PageCollector<'_>,
        shapes: Vec<QueryShape>,
    ) -> Result<()> {
        let mut cursors = Vec::with_capacity(shapes.len());
        let mut heads = Vec::with_capacity(shapes.len());
        for shape in shapes {
            let mut cursor = self.open_shape(collector, shape).await?;
            heads.push(self.run(cursor.try_next()).await?);
            cursors.push(cursor);
        }
        loop {
            // The head with the largest id goes next.
            let next = heads
                .iter()
                .enumerate()
                .filter_map(|(i, head)| head.as_ref().map(|doc| (i, doc.id_text())))
                .max_by(|a, b| a.1.cmp(&b.1))
                .map(|(i, _)| i);
            let Some(i) = next else {
                return Ok(());
            };
            let Some(document) = heads[i].take() else {
                return Ok(());
            };
            heads[i] = self.run(cursors[i].try_next()).await?;
            if !offer_document(collector, document, None)? {
                return Ok(());
            }
        }
    }

    /// A small endpoint sorted by a field: every match's key read, sorted, then the page read.
    async fn scan_sorted(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        collector: &mut PageCollector<'_>,
        field: &str,
        descending: bool,
    ) -> Result<()> {
        let plan = collector.plan();
        if collector.is_counting() {
            // Order does not change a count.
            let filter = endpoint_filter(api_id, endpoint)?;
            return self
                .offer_all(collector, filter, doc! {"_id": -1}, None)
                .await
                .map(|_| ());
        }
        let mut cursor = self
            .run(
                self.records()
                    .find(endpoint_filter(api_id, endpoint)?)
                    .projection(doc! {"fields": 0, "ix": 0}),
            )
            .await?;
        let mut found = FirstPositions::new(collector.wanted(), descending, plan.after.clone());
        while let Some(document) = self.run(cursor.try_next()).await? {
            let record = document.into_record()?;
            let keys = record.data.field_keys()?;
            let key_of = |f: &str| Ok(key_among(&keys, f));
            if matches_candidate(&plan.query, key_of, || Ok(record.clone()))?.0 {
                found.offer(Position {
                    key: Some(record.data.field_key(field)?),
                    id: record.id,
                });
            }
        }
        for position in found.into_sorted() {
            let Some(record) = self.find(api_id, endpoint, &position.id).await? else {
                continue;
            };
            let keys = record.data.field_keys()?;
            let key_of = |f: &str| Ok(key_among(&keys, f));
            let size = record.size();
            if !collector.offer(|| Ok(position), size, key_of, || Ok(record.clone()))? {
                break;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl RecordRepository for MongoStore {
    async fn insert(&self, record: &Record, indexed: &[String]) -> Result<()> {
        let document = RecordDocument::from_record(record, indexed)?;
        self.run(self.records().insert_one(document))
            .await
            .map(|_| ())
    }

    async fn find(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<Record>> {
        self.run(
            self.records()
                .find_one(one(api_id, endpoint, id)?)
                .projection(doc! {"fields": 0, "ix": 0}),
        )
        .await?
        .map(RecordDocument::into_record)
        .transpose()
    }

    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        plan: &QueryPlan,
        bounds: ListBounds,
    ) -> Result<ListedRecords> {
        let mut collector = PageCollector::page(plan, bounds);
        self.walk(api_id, endpoint, &mut collector).await?;
        Ok(collector.into_page())
    }

    async fn count(&self, api_id: &Id, endpoint: &EndpointName, plan: &QueryPlan) -> Result<u64> {
        let mut plan = plan.clone();
        plan.after = None;
        let walked = match &plan.access {
            Access::Points { slot, keys, .. } => Some((
                *slot,
                keys.iter()
                    .map(|k| Bson::String(hex_key(k)))
                    .collect::<Vec<_>>(),
            )),
            Access::Ordered { slot, ranges, .. } => {
                Some((*slot, ranges.iter().map(range_condition).collect()))
            }
            Access::Scan => None,
        };
        if let Some((slot, conditions)) = walked {
            // Every condition rides the walk and none compares a cut value: the index
            // entries are the answer.
            if plan.reads_only_matches() {
                let mut total = 0;
                for condition in conditions {
                    let mut filter = endpoint_filter(api_id, endpoint)?;
                    filter.insert(slot_field(slot), condition);
                    total += self.run(self.records().count_documents(filter)).await?;
                }
                return Ok(total);
            }
        }
        let mut collector = PageCollector::count(&plan);
        self.walk(api_id, endpoint, &mut collector).await?;
        Ok(collector.counted())
    }

    async fn count_up_to(&self, api_id: &Id, endpoint: &EndpointName, at_most: u64) -> Result<u64> {
        let records = self.records();
        let count = records.count_documents(endpoint_filter(api_id, endpoint)?);
        if at_most < u64::MAX {
            self.run(count.limit(at_most)).await
        } else {
            self.run(count).await
        }
    }

    async fn replace(
        &self,
        record: &Record,
        expected_revision: u64,
        indexed: &[String],
    ) -> Result<bool> {
        let mut selector = one(&record.api_id, &record.endpoint, &record.id)?;
        selector.insert(
            "revision",
            i64::try_from(expected_revision).unwrap_or(i64::MAX),
        );
        let document = RecordDocument::from_record(record, indexed)?;
        let result = self
            .run(self.records().replace_one(selector, document))
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn reindex(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        indexed: &[String],
        after: Option<Id>,
        limit: usize,
    ) -> Result<Option<Id>> {
        let mut filter = endpoint_filter(api_id, endpoint)?;
        if let Some(after) = &after {
            filter.insert("_id", doc! {"$gt": object_id(after)?});
        }
        let cursor = self
            .run(
                self.records()
                    .find(filter)
                    .projection(doc! {"fields": 0, "ix": 0})
                    .sort(doc! {"_id": 1})
                    .limit(i64::try_from(limit).unwrap_or(i64::MAX)),
            )
            .await?;
        let batch: Vec<RecordDocument> = self.run(cursor.try_collect()).await?;
        let mut last = None;
        for document in batch {
            let record = document.into_record()?;
            last = Some(record.id.clone());
            let mut selector = one(api_id, endpoint, &record.id)?;
            selector.insert(
                "revision",
                i64::try_from(record.revision).unwrap_or(i64::MAX),
            );
            // A record changed meanwhile was written with the endpoint's current indexes. Each
            // slot is set on its own: a builder holding an older list (another instance's)
            // never removes a slot declared since.
            let mut slots = Document::new();
            for (slot, key) in index_slots(&record.data, indexed)? {
                slots.insert(format!("ix.{slot}"), key);
            }
            if slots.is_empty() {
                continue;
            }
            self.run(self.records().update_one(selector, doc! {"$set": slots}))
                .await?;
        }
        Ok(last)
    }

    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<u64>> {
        // Delete only the revision read, so the size reported is the size removed even when a
        // write lands in between (and even on a server whose find-and-delete is not atomic).
        let records = self.records().clone_with_type::<Document>();
        for _ in 0..DELETE_ATTEMPTS {
            let found = self
                .run(
                    records
                        .find_one(one(api_id, endpoint, id)?)
                        .projection(doc! {"size": 1, "revision": 1}),
                )
                .await?;
            let Some(found) = found else {
                return Ok(None);
            };
            let mut selector = one(api_id, endpoint, id)?;
            selector.insert("revision", integer(&found, "revision"));
            let result = self.run(records.delete_one(selector)).await?;
            if result.deleted_count == 1 {
                return Ok(Some(u64::try_from(integer(&found, "size")).unwrap_or(0)));
            }
        }
        Err(keygate_domain::Error::Conflict(
            keygate_domain::ConflictKind::Other("a concurrent change to this record".into()),
        ))
    }

    async fn delete_batch_for_api(
        &self,
        api_id: &Id,
        limit: usize,
        max_bytes: u64,
    ) -> Result<RemovedRecords> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self
            .run(
                self.records()
                    .clone_with_type::<Document>()
                    .find(doc! {"api_id": object_id(api_id)?})
                    .projection(doc! {"_id": 1, "size": 1})
                    .limit(limit),
            )
            .await?;
        let batch: Vec<Document> = self.run(cursor.try_collect()).await?;
        let (mut ids, mut bytes) = (Vec::new(), 0_u64);
        for document in &batch {
            if bytes >= max_bytes {
                break;
            }
            if let Some(id) = document.get("_id") {
                ids.push(id.clone());
                bytes += u64::try_from(integer(document, "size")).unwrap_or(0);
            }
        }
        if ids.is_empty() {
            return Ok(RemovedRecords::default());
        }
        let result = self
            .run(self.records().delete_many(doc! {"_id": {"$in": ids}}))
            .await?;
        Ok(RemovedRecords {
            count: result.deleted_count,
            bytes,
        })
    }
}
