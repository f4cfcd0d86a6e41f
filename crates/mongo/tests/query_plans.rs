//! Every record query shape of §11 runs on an index: each find the adapter sends is put to
//! MongoDB's `explain`, whose winning plan must scan one of the records indexes and never the
//! collection, nor sort in memory (docs/operations.md lists the shapes and their indexes).
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use keygate_domain::apis::records::{QueryPlan, Record, RecordBody, RecordQuery, RecordRepository};
use keygate_domain::apis::{Endpoint, EndpointName, FieldIndex, IndexState};
use keygate_domain::Id;
use keygate_mongo::{query_shapes, MongoSettings, MongoStore};
use mongodb::bson::{doc, Bson, Document};

fn url() -> String {
    std::env::var("MONGODB_URI").unwrap_or_else(|_| {
        panic!("MONGODB_URI is not set: run `make test`, which starts a MongoDB-compatible server")
    })
}

/// Every stage name and index name in an explain plan tree.
fn stages(plan: &Document, names: &mut Vec<String>, indexes: &mut Vec<String>) {
    if let Ok(stage) = plan.get_str("stage") {
        names.push(stage.to_owned());
    }
    if let Ok(index) = plan.get_str("indexName") {
        indexes.push(index.to_owned());
    }
    for (_, value) in plan {
        match value {
            Bson::Document(child) => stages(child, names, indexes),
            Bson::Array(children) => {
                for child in children {
                    if let Bson::Document(child) = child {
                        stages(child, names, indexes);
                    }
                }
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_query_shape_runs_on_a_records_index() {
    let database = format!("kg_plans_{}", Id::generate(0));
    let store = MongoStore::connect(&MongoSettings {
        url: url(),
        database: database.clone(),
        operation_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    let api_id = Id::generate(1);
    let endpoint = Endpoint {
        name: EndpointName::new("items", "endpoint").unwrap(),
        schema: serde_json::json!({}),
        indexes: ["n", "tag"]
            .into_iter()
            .map(|field| FieldIndex {
                field: field.into(),
                state: IndexState::Ready,
            })
            .collect(),
    };
    let indexed = endpoint.indexed_fields();
    let now = chrono::Utc::now();
    let mut last = None;
    for i in 0..40 {
        let record = Record {
            id: Id::generate_ordered(now + chrono::Duration::microseconds(i)),
            api_id: api_id.clone(),
            endpoint: endpoint.name.clone(),
            data: RecordBody::from_stored(format!(r#"{{"n":{},"tag":"t{}"}}"#, i % 7, i % 3))
                .unwrap(),
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        store.insert(&record, &indexed).await.unwrap();
        last = Some(record);
    }
    let last = last.unwrap();
    let client = mongodb::Client::with_uri_str(url()).await.unwrap();
    let db = client.database(&database);
    // SecantusDB's planner reports a sort as served by an index only when the index's leading
    // field is the sort field, so behind an equality prefix it always shows a blocking SORT;
    // mongod walks `(api_id, endpoint, ix.i<n>, _id)` in sort order. The index itself must be
    // the one docs/operations.md names either way.
    let build = db.run_command(doc! {"buildInfo": 1}).await.unwrap();
    let sorts_in_memory_anyway = build.contains_key("secantusVersion");
    let queries: &[&[(&str, &str)]] = &[
        &[],
        &[("tag", "t1")],
        &[("n[in]", "1,2,3")],
        &[("tag[exists]", "false")],
        &[("sort", "n")],
        &[("sort", "-n")],
        &[("n[gt]", "2"), ("sort", "n")],
        &[("n[gte]", "2"), ("n[lt]", "5"), ("sort", "-n")],
        &[("n[ne]", "3"), ("sort", "n")],
        &[("tag", "t2"), ("n", "4")],
    ];
    let mut checked = 0;
    for query in queries {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        let parsed = RecordQuery::parse(&pairs).unwrap();
        let sorted = parsed.sort().is_some();
        // The first page, and a later one (from a cursor in the middle).
        let cursor = if sorted {
            format!(
                "{}.{}",
                keygate_domain::apis::records::hex_key(&[2, 3]),
                last.id
            )
        } else {
            last.id.to_string()
        };
        for after in [None, Some(cursor.as_str())] {
            let plan = QueryPlan::new(parsed.clone(), &endpoint, false, after).unwrap();
            for shape in query_shapes(&api_id, &endpoint.name, &plan).unwrap() {
                let explained = db
                    .run_command(doc! {
                        "explain": {"find": "records", "filter": shape.filter.clone(),
                                    "sort": shape.sort.clone()},
                        "verbosity": "queryPlanner",
                    })
                    .await
                    .unwrap();
                let winning = explained
                    .get_document("queryPlanner")
                    .and_then(|planner| planner.get_document("winningPlan"))
                    .unwrap_or_else(|e| panic!("{query:?}: no winning plan ({e}): {explained}"));
                let (mut names, mut indexes) = (Vec::new(), Vec::new());
                stages(winning, &mut names, &mut indexes);
                let blocking_sort = names.iter().any(|n| n == "SORT");
                assert!(
                    names.iter().any(|n| n == "IXSCAN")
                        && !names.iter().any(|n| n == "COLLSCAN")
                        && (!blocking_sort || sorts_in_memory_anyway),
                    "{query:?} after {after:?}: {:?} → {winning}",
                    shape.filter
                );
                // The slot's index in the tie order the sort needs (SecantusDB, which sorts in
                // memory anyway, may take the slot's other one).
                let expected: Vec<String> = match shape.filter.keys().find(|k| k.starts_with("ix."))
                {
                    Some(slot) => {
                        let n = &slot["ix.i".len()..];
                        let descending = shape.sort.get_i32(slot.as_str()) == Ok(-1);
                        let (wanted, other) = if descending {
                            ("oldest", "newest")
                        } else {
                            ("newest", "oldest")
                        };
                        let mut names = vec![format!("records_slot{n}_ties_{wanted}")];
                        if sorts_in_memory_anyway {
                            names.push(format!("records_slot{n}_ties_{other}"));
                        }
                        names
                    }
                    None => vec!["records_endpoint_newest".to_owned()],
                };
                assert!(
                    indexes.iter().any(|i| expected.contains(i)),
                    "{query:?} after {after:?}: {indexes:?}, expected {expected:?}: {winning}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} shapes explained");
}

/// An account's newest events and an administrator's filtered view (§13) are index reads:
/// each find the audit log sends is put to `explain`.
#[tokio::test]
async fn every_audit_listing_runs_on_an_index() {
    use keygate_domain::audit::{Action, Actor, AuditEvent, AuditQuery, AuditRepository};
    use keygate_mongo::{audit_index, audit_shape};

    let database = format!("kg_audit_plans_{}", Id::generate(0));
    let store = MongoStore::connect(&MongoSettings {
        url: url(),
        database: database.clone(),
        operation_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    let (account, other) = (Id::generate(1), Id::generate(2));
    let now = chrono::Utc::now();
    for i in 0..40 {
        let action = [
            Action::LoginSucceeded,
            Action::LoginFailed,
            Action::ApiCreated,
        ][i % 3];
        let event = AuditEvent::new(
            action,
            Actor::user(&account),
            now + chrono::Duration::microseconds(i as i64),
        )
        .account(if i % 2 == 0 { &account } else { &other });
        store.append_event(&event).await.unwrap();
    }
    let client = mongodb::Client::with_uri_str(url()).await.unwrap();
    let db = client.database(&database);
    let before = Id::generate_ordered(now + chrono::Duration::microseconds(20));
    let queries = [
        AuditQuery {
            account_id: Some(account.clone()),
            ..AuditQuery::default()
        },
        AuditQuery {
            account_id: Some(account.clone()),
            actions: Some(vec![Action::LoginFailed, Action::LoginSucceeded]),
            since: Some(now),
            ..AuditQuery::default()
        },
        AuditQuery {
            actions: Some(vec![Action::ApiCreated]),
            ..AuditQuery::default()
        },
        AuditQuery {
            since: Some(now),
            until: Some(now + chrono::Duration::seconds(1)),
            ..AuditQuery::default()
        },
    ];
    for query in &queries {
        for after in [None, Some(&before)] {
            let shape = audit_shape(query, after).unwrap();
            let explained = db
                .run_command(doc! {
                    "explain": {"find": "audit_events", "filter": shape.filter.clone(),
                                "sort": shape.sort.clone(), "limit": 51,
                                "hint": audit_index(query)},
                    "verbosity": "queryPlanner",
                })
                .await
                .unwrap();
            let winning = explained
                .get_document("queryPlanner")
                .and_then(|planner| planner.get_document("winningPlan"))
                .unwrap_or_else(|e| panic!("{query:?}: no winning plan ({e}): {explained}"));
            let (mut names, mut indexes) = (Vec::new(), Vec::new());
            stages(winning, &mut names, &mut indexes);
            assert!(
                names.iter().any(|n| n == "IXSCAN") && !names.iter().any(|n| n == "COLLSCAN"),
                "{query:?} after {after:?}: {:?} → {winning}",
                shape.filter
            );
            let expected = if query.account_id.is_some() {
                "audit_events_account"
            } else if query.actions.is_some() {
                "audit_events_action"
            } else {
                "_id_"
            };
            assert_eq!(audit_index(query), expected);
            assert!(
                indexes.iter().any(|i| i == expected),
                "{query:?}: {indexes:?}, expected {expected}: {winning}"
            );
        }
    }
}
