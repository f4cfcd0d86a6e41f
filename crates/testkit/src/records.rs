//! Conformance cases of the record store.

use keygate_domain::apis::records::{
    ListBounds, Position, QueryPlan, Record, RecordBody, RecordQuery,
};
use keygate_domain::Id;
use serde_json::{json, Value};

use crate::fixtures::{api, endpoint, record};
use crate::{case, Case, Repositories};

fn filter(field: &str, value: &str) -> (String, String) {
    (field.to_owned(), value.to_owned())
}

/// A plan that reads the endpoint whole, newest first, checking `filters`, after `before`.
fn scan(filters: &[(String, String)], before: Option<Id>) -> QueryPlan {
    let mut plan = QueryPlan::new(
        RecordQuery::parse(filters).unwrap(),
        &crate::fixtures::unindexed("items"),
        true,
        None,
    )
    .unwrap();
    plan.after = before.map(|id| Position { key: None, id });
    plan
}

/// Bounds that only the count limits.
fn bounds(limit: usize) -> ListBounds {
    ListBounds {
        limit,
        max_bytes: usize::MAX,
        max_examined: usize::MAX,
        max_examined_bytes: usize::MAX,
    }
}

fn body(text: &str) -> RecordBody {
    RecordBody::from_stored(text.to_owned()).unwrap()
}

fn ids(records: &[Record]) -> Vec<Id> {
    records.iter().map(|r| r.id.clone()).collect()
}

/// An inserted record is found again exactly: number text, member order, non-ASCII names.
async fn records_insert_find_and_round_trip_exactly(stores: Repositories) {
    let owned = api(&Id::generate(1), "exact");
    let text = r#"{"z": 1, "a": 1.0, "big": 123456789012345678901234567890, "neg": -1.5e-7,
                   "ключ": "значение", "emoji 🔑": [true, null, {"nested": 0.1}], "a.b": {}}"#;
    let data: Value = serde_json::from_str(text).unwrap();
    let stored = record(&owned, "items", data.clone());
    stores.records.insert(&stored, &[]).await.unwrap();
    let found = stores
        .records
        .find(&owned.id, &endpoint("items"), &stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, stored);
    assert_eq!(found.data.as_str(), data.to_string());
}

/// A record belongs to one API and one endpoint: looked up anywhere else it is not there.
async fn records_are_scoped_to_api_and_endpoint(stores: Repositories) {
    let (mine, theirs) = (
        api(&Id::generate(1), "mine"),
        api(&Id::generate(1), "theirs"),
    );
    let stored = record(&mine, "items", json!({"n": 1}));
    stores.records.insert(&stored, &[]).await.unwrap();
    let records = &stores.records;
    assert!(records
        .find(&theirs.id, &endpoint("items"), &stored.id)
        .await
        .unwrap()
        .is_none());
    assert!(records
        .find(&mine.id, &endpoint("other"), &stored.id)
        .await
        .unwrap()
        .is_none());
    assert!(records
        .list(&mine.id, &endpoint("other"), &scan(&[], None), bounds(10))
        .await
        .unwrap()
        .records
        .is_empty());
    assert_eq!(
        records
            .delete(&theirs.id, &endpoint("items"), &stored.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        ids(&records
            .list(&mine.id, &endpoint("items"), &scan(&[], None), bounds(10))
            .await
            .unwrap()
            .records),
        vec![stored.id]
    );
}

/// Lists run newest first, page after page, each record exactly once.
async fn records_list_newest_first_page_by_page(stores: Repositories) {
    let owned = api(&Id::generate(1), "paged");
    let mut made = Vec::new();
    for i in 0..7 {
        let r = record(&owned, "items", json!({"i": i}));
        stores.records.insert(&r, &[]).await.unwrap();
        made.push(r.id);
    }
    made.reverse();
    let mut seen: Vec<Id> = Vec::new();
    loop {
        let page = stores
            .records
            .list(
                &owned.id,
                &endpoint("items"),
                &scan(&[], seen.last().cloned()),
                bounds(3),
            )
            .await
            .unwrap()
            .records;
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        seen.extend(ids(&page));
    }
    assert_eq!(seen, made);
}

/// Records inserted while a client pages do not make it skip or repeat any record that was
/// there when it started.
async fn records_paging_neither_skips_nor_repeats_while_others_insert(stores: Repositories) {
    let owned = api(&Id::generate(1), "busy");
    let mut before = Vec::new();
    for i in 0..6 {
        let r = record(&owned, "items", json!({"i": i}));
        stores.records.insert(&r, &[]).await.unwrap();
        before.push(r.id);
    }
    before.reverse();
    let mut seen: Vec<Id> = Vec::new();
    loop {
        let page = stores
            .records
            .list(
                &owned.id,
                &endpoint("items"),
                &scan(&[], seen.last().cloned()),
                bounds(2),
            )
            .await
            .unwrap()
            .records;
        if page.is_empty() {
            break;
        }
        seen.extend(ids(&page));
        stores
            .records
            .insert(&record(&owned, "items", json!({"late": true})), &[])
            .await
            .unwrap();
    }
    assert_eq!(seen, before, "newer records appear on page one only");
}

/// `?field=value` filters: numbers by value, strings by text, several at once, long values.
async fn records_filters_match_top_level_scalars(stores: Repositories) {
    let owned = api(&Id::generate(1), "filtered");
    let long = "x".repeat(300);
    let rows = [
        json!({"name": "ann", "qty": 5, "ok": true}),
        json!({"name": "bob", "qty": 5.0, "ok": false}),
        json!({"name": "cat", "qty": "5", "ok": true, "note": long}),
        json!({"name": "dan", "qty": 6, "nested": {"qty": 5}}),
        json!({"name": "eve", "qty": [5], "note": null}),
    ];
    let mut made = Vec::new();
    for row in rows {
        let r = record(&owned, "items", row);
        stores.records.insert(&r, &[]).await.unwrap();
        made.push(r);
    }
    let names = |found: Vec<Record>| -> Vec<String> {
        found
            .into_iter()
            .map(|r| {
                r.data.to_object().unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let list = |filters: Vec<(String, String)>, limit: usize| {
        let stores = stores.clone();
        let api_id = owned.id.clone();
        async move {
            stores
                .records
                .list(
                    &api_id,
                    &endpoint("items"),
                    &scan(&filters, None),
                    bounds(limit),
                )
                .await
                .unwrap()
                .records
        }
    };
    assert_eq!(
        names(list(vec![filter("qty", "5")], 10).await),
        ["cat", "bob", "ann"]
    );
    assert_eq!(
        names(list(vec![filter("qty", "5"), filter("ok", "true")], 10).await),
        ["cat", "ann"]
    );
    assert_eq!(names(list(vec![filter("name", "dan")], 10).await), ["dan"]);
    assert_eq!(names(list(vec![filter("note", &long)], 10).await), ["cat"]);
    assert_eq!(names(list(vec![filter("note", "null")], 10).await), ["eve"]);
    assert!(list(vec![filter("name", "Ann")], 10).await.is_empty());
    assert!(list(vec![filter("missing", "1")], 10).await.is_empty());
    // Filters and paging together: the page after "cat" holds the next matches only.
    let first = list(vec![filter("qty", "5")], 1).await;
    let rest = stores
        .records
        .list(
            &owned.id,
            &endpoint("items"),
            &scan(&[filter("qty", "5")], Some(first[0].id.clone())),
            bounds(10),
        )
        .await
        .unwrap()
        .records;
    assert_eq!(names(rest), ["bob", "ann"]);
}

/// A replacement applies only against the revision it read.
async fn records_replace_is_compare_and_set(stores: Repositories) {
    let owned = api(&Id::generate(1), "cas");
    let original = record(&owned, "items", json!({"v": 1}));
    stores.records.insert(&original, &[]).await.unwrap();
    let mut next = original.clone();
    next.revision = 2;
    next.data = body(r#"{"v":2,"big":18446744073709551616}"#);
    assert!(!stores.records.replace(&next, 5, &[]).await.unwrap());
    assert!(stores.records.replace(&next, 1, &[]).await.unwrap());
    assert!(!stores.records.replace(&next, 1, &[]).await.unwrap());
    let found = stores
        .records
        .find(&owned.id, &endpoint("items"), &original.id)
        .await
        .unwrap();
    assert_eq!(found, Some(next.clone()));
    let mut ghost = record(&owned, "items", json!({}));
    ghost.revision = 2;
    assert!(
        !stores.records.replace(&ghost, 1, &[]).await.unwrap(),
        "no such record"
    );
    // The filter index follows the new document.
    assert!(stores
        .records
        .list(
            &owned.id,
            &endpoint("items"),
            &scan(&[filter("v", "1")], None),
            bounds(10)
        )
        .await
        .unwrap()
        .records
        .is_empty());
    assert_eq!(
        stores
            .records
            .list(
                &owned.id,
                &endpoint("items"),
                &scan(&[filter("v", "2")], None),
                bounds(10)
            )
            .await
            .unwrap()
            .records
            .len(),
        1
    );
}

/// Of 8 racing replacements from one revision, exactly one applies.
async fn records_racing_replacements_have_one_winner(stores: Repositories) {
    let owned = api(&Id::generate(1), "race");
    let original = record(&owned, "items", json!({"v": 0}));
    stores.records.insert(&original, &[]).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (stores, mut next) = (stores.clone(), original.clone());
            next.revision = 2;
            next.data = body(&format!(r#"{{"v":{i}}}"#));
            tokio::spawn(async move { stores.records.replace(&next, 1, &[]).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

/// A record is deleted once, and the deletion says how large it was.
async fn records_delete_removes_once(stores: Repositories) {
    let owned = api(&Id::generate(1), "deleting");
    let doomed = record(&owned, "items", json!({"name": "x"}));
    stores.records.insert(&doomed, &[]).await.unwrap();
    let records = &stores.records;
    assert_eq!(
        records
            .delete(&owned.id, &endpoint("items"), &doomed.id)
            .await
            .unwrap(),
        Some(doomed.size() as u64)
    );
    assert_eq!(
        records
            .delete(&owned.id, &endpoint("items"), &doomed.id)
            .await
            .unwrap(),
        None
    );
    assert!(records
        .find(&owned.id, &endpoint("items"), &doomed.id)
        .await
        .unwrap()
        .is_none());
}

/// Batch deletion removes at most its limit per call, across endpoints, and spares other APIs.
async fn records_delete_batch_for_api_is_bounded(stores: Repositories) {
    let (doomed, kept) = (
        api(&Id::generate(1), "doomed"),
        api(&Id::generate(1), "kept"),
    );
    for i in 0..5 {
        let endpoint_name = if i % 2 == 0 { "items" } else { "other" };
        stores
            .records
            .insert(&record(&doomed, endpoint_name, json!({"i": i})), &[])
            .await
            .unwrap();
    }
    let survivor = record(&kept, "items", json!({}));
    stores.records.insert(&survivor, &[]).await.unwrap();
    // Each record is {"i":<digit>}: 7 bytes of compact JSON.
    for expected in [2, 2, 1, 0] {
        let removed = stores
            .records
            .delete_batch_for_api(&doomed.id, 2, u64::MAX)
            .await
            .unwrap();
        assert_eq!((removed.count, removed.bytes), (expected, expected * 7));
    }
    assert!(stores
        .records
        .find(&kept.id, &endpoint("items"), &survivor.id)
        .await
        .unwrap()
        .is_some());
}

/// Batch deletion stops once it has removed its byte bound (at least one record).
async fn records_delete_batch_for_api_stops_at_its_byte_bound(stores: Repositories) {
    let doomed = api(&Id::generate(1), "bytes");
    for i in 0..5 {
        let r = record(&doomed, "items", json!({"i": i}));
        stores.records.insert(&r, &[]).await.unwrap();
    }
    // 7 bytes each: a bound of 10 stops after the second record of a batch.
    let mut counts = Vec::new();
    loop {
        let removed = stores
            .records
            .delete_batch_for_api(&doomed.id, 100, 10)
            .await
            .unwrap();
        if removed.count == 0 {
            break;
        }
        assert_eq!(removed.bytes, removed.count * 7);
        counts.push(removed.count);
    }
    assert_eq!(counts, [2, 2, 1]);
}

/// A page stops at its byte bound with at least one record, and says where it stopped; the
/// next page goes on from there, so nothing is skipped.
async fn records_list_stops_at_its_byte_bound(stores: Repositories) {
    let owned = api(&Id::generate(1), "heavy");
    let mut made = Vec::new();
    for i in 0..5 {
        let r = record(&owned, "items", json!({"pad": "x".repeat(100), "i": i}));
        stores.records.insert(&r, &[]).await.unwrap();
        made.push(r.id.clone());
    }
    made.reverse();
    let size = record(&owned, "items", json!({"pad": "x".repeat(100), "i": 0})).size();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = stores
            .records
            .list(
                &owned.id,
                &endpoint("items"),
                &scan(&[], before.clone()),
                ListBounds {
                    max_bytes: 2 * size + 1,
                    ..bounds(10)
                },
            )
            .await
            .unwrap();
        assert!(page.records.len() <= 2, "{} records", page.records.len());
        seen.extend(ids(&page.records));
        match page.stopped_at {
            Some(last) => {
                assert_eq!(Some(&last.id), page.records.last().map(|r| &r.id));
                before = Some(last.id);
            }
            None => break,
        }
    }
    assert_eq!(seen, made);
}

/// A body nested to the domain's limit, and one as deep as a client could send, is stored,
/// found, listed and deleted: depth never breaks a store's decoding.
async fn records_deep_bodies_are_stored_and_deleted(stores: Repositories) {
    let owned = api(&Id::generate(1), "deep");
    let depth = 126;
    let text = format!(r#"{{"d":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    let mut deep = record(&owned, "items", json!({}));
    deep.data = body(&text);
    stores.records.insert(&deep, &[]).await.unwrap();
    let found = stores
        .records
        .find(&owned.id, &endpoint("items"), &deep.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.data.as_str(), text);
    let listed = stores
        .records
        .list(
            &owned.id,
            &endpoint("items"),
            &scan(&[filter("d", "1")], None),
            bounds(10),
        )
        .await
        .unwrap();
    assert!(listed.records.is_empty());
    let removed = stores
        .records
        .delete_batch_for_api(&owned.id, 10, u64::MAX)
        .await
        .unwrap();
    assert_eq!((removed.count, removed.bytes), (1, text.len() as u64));
}

/// A filtered list never examines more than its bound: where it stops early it says where,
/// and following those cursors finds every match, once.
async fn records_filtered_lists_are_bounded_and_resumable(stores: Repositories) {
    let owned = api(&Id::generate(1), "sparse");
    let mut matching = Vec::new();
    for i in 0..30 {
        let r = record(&owned, "items", json!({"hit": i % 10 == 0, "i": i}));
        stores.records.insert(&r, &[]).await.unwrap();
        if i % 10 == 0 {
            matching.push(r.id.clone());
        }
    }
    matching.reverse();
    let mut seen = Vec::new();
    let mut before = None;
    for _ in 0..20 {
        let page = stores
            .records
            .list(
                &owned.id,
                &endpoint("items"),
                &scan(&[filter("hit", "true")], before.clone()),
                ListBounds {
                    max_examined: 4,
                    ..bounds(10)
                },
            )
            .await
            .unwrap();
        seen.extend(ids(&page.records));
        match page.stopped_at {
            Some(last) => before = Some(last.id),
            None => break,
        }
    }
    assert_eq!(seen, matching);
}

/// Every case of this module; a case left out of this list fails the build (dead code).
pub(crate) const CASES: &[Case] = &[
    case!(records_insert_find_and_round_trip_exactly),
    case!(records_are_scoped_to_api_and_endpoint),
    case!(records_list_newest_first_page_by_page),
    case!(records_paging_neither_skips_nor_repeats_while_others_insert),
    case!(records_filters_match_top_level_scalars),
    case!(records_replace_is_compare_and_set),
    case!(records_racing_replacements_have_one_winner),
    case!(records_delete_removes_once),
    case!(records_delete_batch_for_api_is_bounded),
    case!(records_delete_batch_for_api_stops_at_its_byte_bound),
    case!(records_list_stops_at_its_byte_bound),
    case!(records_deep_bodies_are_stored_and_deleted),
    case!(records_filtered_lists_are_bounded_and_resumable),
];
