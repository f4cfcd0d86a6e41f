//! Conformance cases of record queries (§11): every operator, sort, paging and counting, read
//! through an index and by a scan, each compared with one reference — the domain's own
//! comparison applied to the documents — so every store gives the same answers.

use keygate_domain::apis::records::{
    missing_key, value_key, ListBounds, Position, QueryPlan, Record, RecordQuery,
};
use keygate_domain::apis::{Endpoint, FieldIndex, IndexState};
use keygate_domain::Id;
use serde_json::{json, Value};

use crate::fixtures::{api, endpoint, record, unindexed};
use crate::{case, Case, Repositories};

/// The indexed fields of the endpoint the cases write to.
fn indexed() -> Vec<String> {
    vec!["n".into(), "s".into()]
}

/// `items` with ready indexes on `n` and `s`.
fn with_indexes() -> Endpoint {
    Endpoint {
        indexes: indexed()
            .into_iter()
            .map(|field| FieldIndex {
                field,
                state: IndexState::Ready,
            })
            .collect(),
        ..unindexed("items")
    }
}

fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
    query
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The plan of `query` on `endpoint`, from `cursor`; through an index when `scannable` is
/// false.
fn plan(
    query: &[(&str, &str)],
    endpoint: &Endpoint,
    scannable: bool,
    cursor: Option<&str>,
) -> QueryPlan {
    QueryPlan::new(
        RecordQuery::parse(&pairs(query)).unwrap(),
        endpoint,
        scannable,
        cursor,
    )
    .unwrap_or_else(|e| panic!("{query:?}: {e}"))
}

fn bounds(limit: usize) -> ListBounds {
    ListBounds {
        limit,
        max_bytes: usize::MAX,
        max_examined: usize::MAX,
        max_examined_bytes: usize::MAX,
    }
}

fn key_of(document: &Value, field: &str) -> Vec<u8> {
    document.get(field).map_or_else(missing_key, value_key)
}

/// What the query must return, computed from the documents alone: the matches in the list's
/// order.
fn expected(query: &[(&str, &str)], records: &[(Record, Value)]) -> Vec<Id> {
    let parsed = RecordQuery::parse(&pairs(query)).unwrap();
    let mut matches: Vec<Position> = records
        .iter()
        .filter(|(_, document)| parsed.matches(|field| key_of(document, field)))
        .map(|(record, document)| Position {
            key: parsed.sort().map(|sort| key_of(document, &sort.field)),
            id: record.id.clone(),
        })
        .collect();
    let descending = parsed.sort().is_some_and(|s| s.descending);
    matches.sort_by(|a, b| a.order(b, descending));
    matches.into_iter().map(|p| p.id).collect()
}

/// Every page of `query`, `page` records at a time, following the cursor as the service does.
async fn all_pages(
    stores: &Repositories,
    api_id: &Id,
    query: &[(&str, &str)],
    endpoint_def: &Endpoint,
    scannable: bool,
    page: usize,
) -> Vec<Id> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let planned = plan(query, endpoint_def, scannable, cursor.as_deref());
        let listed = stores
            .records
            .list(api_id, &endpoint("items"), &planned, bounds(page))
            .await
            .unwrap();
        let last = listed.records.last().map(|r| {
            let document: Value = serde_json::from_str(r.data.as_str()).unwrap();
            Position {
                key: planned.query.sort().map(|s| key_of(&document, &s.field)),
                id: r.id.clone(),
            }
        });
        let full = listed.records.len() == page;
        seen.extend(listed.records.into_iter().map(|r| r.id));
        match (listed.stopped_at, last) {
            (Some(stopped), _) => cursor = Some(stopped.to_cursor_key()),
            (None, Some(last)) if full => cursor = Some(last.to_cursor_key()),
            _ => return seen,
        }
    }
}

/// The documents every query case runs over: kinds mixed in one field, missing fields, ties,
/// big integers beyond 2^64, decimals, NUL and non-ASCII text.
fn documents() -> Vec<Value> {
    vec![
        json!({"n": 5, "s": "b"}),
        json!({"n": 5.0, "s": "a"}),
        json!({"n": "5", "s": "a"}),
        json!({"n": 6, "s": "c"}),
        json!({"n": -1.5, "s": "é"}),
        json!({"n": 18446744073709551617_u128, "s": "a\u{0}"}),
        json!({"n": 18446744073709551616_u128}),
        json!({"n": 0.1, "s": ""}),
        json!({"n": true, "s": "true"}),
        json!({"n": null, "s": "null"}),
        json!({"n": [5], "s": {"x": 1}}),
        json!({"s": "b"}),
        json!({"n": "10", "s": "B"}),
        json!({"n": 10, "other": 1}),
        json!({"n": 5, "s": "b"}),
    ]
}

const QUERIES: &[&[(&str, &str)]] = &[
    &[],
    &[("n", "5")],
    &[("n[eq]", "5.0")],
    &[("n", "true")],
    &[("n", "null")],
    &[("n", "18446744073709551617")],
    &[("n[ne]", "5")],
    &[("n[gt]", "5")],
    &[("n[gte]", "5")],
    &[("n[lt]", "5")],
    &[("n[lte]", "5")],
    &[("n[gt]", "0"), ("n[lt]", "10")],
    &[("n[gt]", "18446744073709551616")],
    &[("n[in]", "5,10,true")],
    &[("n[exists]", "true")],
    &[("n[exists]", "false")],
    &[("s[gt]", "a")],
    &[("s[lt]", "b")],
    &[("s", "a"), ("n", "5")],
    &[("s[in]", "a,b"), ("n[gte]", "5")],
    &[("sort", "n")],
    &[("sort", "-n")],
    &[("sort", "s"), ("n[exists]", "true")],
    &[("sort", "-s"), ("s[gte]", "b")],
    &[("n[gt]", "0"), ("sort", "n")],
    &[("n[lte]", "6"), ("sort", "-n"), ("s[ne]", "a")],
    &[("missing", "1")],
    &[("missing[exists]", "false"), ("sort", "-n")],
];

/// Whether a query can be served by the indexes of [`with_indexes`] on a large endpoint.
fn indexable(query: &[(&str, &str)]) -> bool {
    QueryPlan::new(
        RecordQuery::parse(&pairs(query)).unwrap(),
        &with_indexes(),
        false,
        None,
    )
    .is_ok()
}

async fn insert_all(
    stores: &Repositories,
    owned: &keygate_domain::apis::ApiDefinition,
) -> Vec<(Record, Value)> {
    let mut made = Vec::new();
    for document in documents() {
        let r = record(owned, "items", document.clone());
        stores.records.insert(&r, &indexed()).await.unwrap();
        made.push((r, document));
    }
    made
}

/// Every operator, by a scan and (where an index can serve it) through the index, page by
/// page, gives exactly the reference answer.
async fn queries_agree_with_the_reference_by_scan_and_by_index(stores: Repositories) {
    let owned = api(&Id::generate(1), "queries");
    let made = insert_all(&stores, &owned).await;
    let mut served_by_index = 0;
    for query in QUERIES {
        let want = expected(query, &made);
        for page in [1, 4, 50] {
            let scanned =
                all_pages(&stores, &owned.id, query, &unindexed("items"), true, page).await;
            assert_eq!(scanned, want, "scan of {query:?}, pages of {page}");
            if indexable(query) {
                let walked =
                    all_pages(&stores, &owned.id, query, &with_indexes(), false, page).await;
                assert_eq!(walked, want, "index walk of {query:?}, pages of {page}");
            }
        }
        if indexable(query) {
            served_by_index += 1;
        }
        let count = stores
            .records
            .count(
                &owned.id,
                &endpoint("items"),
                &plan(query, &unindexed("items"), true, None),
            )
            .await
            .unwrap();
        assert_eq!(count, want.len() as u64, "count of {query:?}");
        if indexable(query) {
            let planned = plan(query, &with_indexes(), false, None);
            let single_field = planned.query.conditions().len() <= 1;
            if single_field {
                let count = stores
                    .records
                    .count(&owned.id, &endpoint("items"), &planned)
                    .await
                    .unwrap();
                assert_eq!(count, want.len() as u64, "indexed count of {query:?}");
            }
        }
    }
    assert!(
        served_by_index >= 12,
        "only {served_by_index} queries used an index"
    );
    assert_eq!(
        stores
            .records
            .count_up_to(&owned.id, &endpoint("items"), 1_000)
            .await
            .unwrap(),
        made.len() as u64
    );
    assert_eq!(
        stores
            .records
            .count_up_to(&owned.id, &endpoint("items"), 3)
            .await
            .unwrap(),
        3
    );
}

/// Changing or deleting a record moves or removes its index entries: no stale answer.
async fn index_entries_follow_changes_and_deletions(stores: Repositories) {
    let owned = api(&Id::generate(1), "moving");
    let made = insert_all(&stores, &owned).await;
    let (first, _) = &made[0];
    let mut changed = first.clone();
    changed.data =
        keygate_domain::apis::records::RecordBody::from_stored(r#"{"n":99}"#.into()).unwrap();
    changed.revision = 2;
    assert!(stores
        .records
        .replace(&changed, 1, &indexed())
        .await
        .unwrap());
    let (second, _) = &made[3];
    assert!(stores
        .records
        .delete(&owned.id, &endpoint("items"), &second.id)
        .await
        .unwrap()
        .is_some());
    let mut now: Vec<(Record, Value)> = made
        .iter()
        .filter(|(r, _)| r.id != second.id)
        .cloned()
        .collect();
    now[0] = (changed.clone(), json!({"n": 99}));
    for query in [
        &[("n", "5")][..],
        &[("n", "99")],
        &[("n", "6")],
        &[("sort", "-n")],
        &[("s[exists]", "false"), ("sort", "s")],
    ] {
        let walked = all_pages(&stores, &owned.id, query, &with_indexes(), false, 3).await;
        assert_eq!(walked, expected(query, &now), "{query:?} after changes");
    }
    assert_eq!(
        stores
            .records
            .count_up_to(&owned.id, &endpoint("items"), 1_000)
            .await
            .unwrap(),
        now.len() as u64
    );
}

/// Records written before an index was declared are found through it once rebuilt, batch by
/// batch; a sorted walk pages without skipping or repeating while others insert.
async fn reindexed_records_are_found_and_sorted_paging_survives_inserts(stores: Repositories) {
    let owned = api(&Id::generate(1), "rebuilt");
    let mut made = Vec::new();
    for i in 0..23 {
        let document = json!({"n": i % 5, "s": format!("v{i:02}")});
        let r = record(&owned, "items", document.clone());
        stores.records.insert(&r, &[]).await.unwrap();
        made.push((r, document));
    }
    let mut after = None;
    let mut batches = 0;
    while let Some(last) = stores
        .records
        .reindex(&owned.id, &endpoint("items"), &indexed(), after.clone(), 5)
        .await
        .unwrap()
    {
        after = Some(last);
        batches += 1;
    }
    assert_eq!(batches, 5, "23 records in batches of 5");
    for query in [
        &[("n", "3")][..],
        &[("sort", "n")],
        &[("sort", "-s"), ("s[lt]", "v10")],
    ] {
        let walked = all_pages(&stores, &owned.id, query, &with_indexes(), false, 4).await;
        assert_eq!(
            walked,
            expected(query, &made),
            "{query:?} after the rebuild"
        );
    }
    // Page through sort=n while new records arrive: what existed at the start is seen
    // exactly once.
    let mut seen: Vec<Id> = Vec::new();
    let mut cursor: Option<String> = None;
    for round in 0.. {
        let planned = plan(&[("sort", "n")], &with_indexes(), false, cursor.as_deref());
        let listed = stores
            .records
            .list(&owned.id, &endpoint("items"), &planned, bounds(3))
            .await
            .unwrap();
        let Some(last) = listed.records.last() else {
            break;
        };
        let document: Value = serde_json::from_str(last.data.as_str()).unwrap();
        cursor = Some(
            Position {
                key: Some(key_of(&document, "n")),
                id: last.id.clone(),
            }
            .to_cursor_key(),
        );
        let done = listed.records.len() < 3;
        seen.extend(listed.records.into_iter().map(|r| r.id));
        let late = record(&owned, "items", json!({"n": round % 5, "late": true}));
        stores.records.insert(&late, &indexed()).await.unwrap();
        if done {
            break;
        }
    }
    for (record, _) in &made {
        assert_eq!(
            seen.iter().filter(|id| *id == &record.id).count(),
            1,
            "record {} seen once",
            record.id
        );
    }
    let mut unique = seen.clone();
    unique.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "nothing repeated");
}

/// A list request as query pairs.
type Query<'a> = Vec<(&'a str, &'a str)>;

/// Values longer than a key holds (1 000 bytes of a string, 1 000 digits of a number) are
/// compared whole (issue 31 hole 6): `=` finds only the value itself, not every value sharing
/// its first 1 000 bytes, and `[ne]` keeps those; by a scan, through an index, and counted.
async fn long_values_are_compared_whole_by_scan_and_by_index(stores: Repositories) {
    let owned = api(&Id::generate(1), "long");
    let start = "a".repeat(1_000);
    let digits = "7".repeat(1_000);
    let number =
        |tail: &str| -> Value { serde_json::from_str(&format!("{digits}{tail}")).unwrap() };
    let documents = [
        json!({"s": format!("{start}x"), "n": number("1")}),
        json!({"s": format!("{start}y"), "n": number("2")}),
        json!({"s": start.clone(), "n": number("")}),
        json!({"s": format!("{start}x"), "n": 5}),
    ];
    let mut ids = Vec::new();
    for document in documents {
        let r = record(&owned, "items", document);
        stores.records.insert(&r, &indexed()).await.unwrap();
        ids.push(r.id);
    }
    let newest_first = |picked: &[usize]| -> Vec<Id> {
        let mut want: Vec<Id> = picked.iter().map(|&i| ids[i].clone()).collect();
        want.sort_by(|a, b| b.as_str().cmp(a.as_str()));
        want
    };
    let long_x = format!("{start}x");
    let long_1 = format!("{digits}1");
    let y_or_b = format!("{start}y,b");
    let cases: Vec<(Query<'_>, Vec<usize>)> = vec![
        (vec![("s", long_x.as_str())], vec![0, 3]),
        (vec![("s[ne]", long_x.as_str())], vec![1, 2]),
        (vec![("s[in]", y_or_b.as_str())], vec![1]),
        (vec![("s[gt]", long_x.as_str())], vec![1]),
        (vec![("s[lt]", long_x.as_str())], vec![2]),
        (vec![("n", long_1.as_str())], vec![0]),
        (vec![("n[ne]", long_1.as_str())], vec![1, 2, 3]),
        (vec![("n[gte]", long_1.as_str())], vec![0, 1]),
        (vec![("s", long_x.as_str()), ("n", "5")], vec![3]),
        // Sorted: by n, so 5 before the long number (the picks are in the list's order).
        (vec![("s", long_x.as_str()), ("sort", "n")], vec![3, 0]),
        (vec![("s[ne]", long_x.as_str()), ("sort", "-n")], vec![1, 2]),
    ];
    for (query, picked) in &cases {
        let sorted = query.iter().any(|(name, _)| *name == "sort");
        let want = if sorted {
            picked.iter().map(|&i| ids[i].clone()).collect()
        } else {
            newest_first(picked)
        };
        for page in [1, 50] {
            let scanned =
                all_pages(&stores, &owned.id, query, &unindexed("items"), true, page).await;
            assert_eq!(scanned, want, "scan of {query:?}, pages of {page}");
            if indexable(query) {
                let walked =
                    all_pages(&stores, &owned.id, query, &with_indexes(), false, page).await;
                assert_eq!(walked, want, "index walk of {query:?}, pages of {page}");
            }
        }
        for (endpoint_def, scannable) in [(unindexed("items"), true), (with_indexes(), false)] {
            if !scannable && !indexable(query) {
                continue;
            }
            let count = stores
                .records
                .count(
                    &owned.id,
                    &endpoint("items"),
                    &plan(query, &endpoint_def, scannable, None),
                )
                .await
                .unwrap();
            assert_eq!(count, want.len() as u64, "count of {query:?}");
        }
    }
}

/// The record query cases.
pub const CASES: &[Case] = &[
    case!(queries_agree_with_the_reference_by_scan_and_by_index),
    case!(index_entries_follow_changes_and_deletions),
    case!(reindexed_records_are_found_and_sorted_paging_survives_inserts),
    case!(long_values_are_compared_whole_by_scan_and_by_index),
];
