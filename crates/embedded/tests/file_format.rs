//! The embedded store's file format does not move: a file written by Keygate at commit
//! dfc586d (before the store had row types of its own) opens, every kind of row reads back as
//! the entity it was written from, and the same rows written today are the same bytes.
//!
//! The fixture was made with `cargo run -p keygate-embedded --example write_format_fixture --
//! DIR` on that commit; `tests/file_format/rows.rs` holds what it wrote.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "file_format/rows.rs"]
mod rows;

use std::path::Path;

use keygate_domain::accounts::{Email, UserRepository, Username};
use keygate_domain::apis::records::{ListBounds, QueryPlan, RecordQuery, RecordRepository};
use keygate_domain::apis::{ApiKeyRepository, ApiName, ApiRepository, EndpointName};
use keygate_domain::data::DataRepository;
use keygate_domain::sessions::SessionRepository;
use keygate_domain::usage::{UsageChange, UsageLimits, UsageRepository};
use keygate_embedded::EmbeddedStore;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

const FIXTURE: &str = "tests/file_format/written-by-dfc586d.redb";
const FILE_NAME: &str = "keygate.redb";

/// A copy of the fixture in a directory of its own (opening may write to the file).
fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    std::fs::copy(&fixture, dir.path().join(FILE_NAME))
        .unwrap_or_else(|e| panic!("the fixture {} cannot be read: {e}", fixture.display()));
    dir
}

#[tokio::test]
async fn a_file_written_before_row_types_reads_back_every_kind_of_row() {
    let dir = fixture_copy();
    let store = EmbeddedStore::open(dir.path()).unwrap();

    for user in rows::users() {
        assert_eq!(
            store.find_by_id(&user.id).await.unwrap().as_ref(),
            Some(&user)
        );
    }
    let [alice, bob] = rows::users();
    let by_email = store
        .find_by_email(&Email::new("bob@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email, Some(bob));
    let by_name = store
        .find_by_username(&Username::new("ALICE").unwrap())
        .await
        .unwrap();
    assert_eq!(by_name.as_ref(), Some(&alice));

    for session in rows::sessions() {
        let found = SessionRepository::find(&store, &session.id).await.unwrap();
        assert_eq!(found, Some(session));
    }
    for token in rows::refresh_tokens() {
        let found = store.find_refresh_token(&token.digest).await.unwrap();
        assert_eq!(found, Some(token));
    }

    for entry in rows::data() {
        let found = DataRepository::find(&store, &entry.user_id, &entry.key)
            .await
            .unwrap();
        assert_eq!(found, Some(entry));
    }
    let listed = DataRepository::list(&store, &alice.id, None, None, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);

    let api = rows::api();
    assert_eq!(
        ApiRepository::find(&store, &api.id).await.unwrap().as_ref(),
        Some(&api)
    );
    let by_api_name = store
        .find_by_name(&ApiName::parse("shop").unwrap())
        .await
        .unwrap();
    assert_eq!(by_api_name.as_ref(), Some(&api));
    let owned = store.list_for_owner(&alice.id, None, 10).await.unwrap();
    assert_eq!(owned, vec![api.clone()]);

    for key in rows::api_keys() {
        let found = store.find_by_public_id(&key.public_id).await.unwrap();
        assert_eq!(found, Some(key));
    }
    assert_eq!(store.list_for_api(&api.id).await.unwrap().len(), 2);

    let orders = EndpointName::new("orders", "endpoint").unwrap();
    for record in rows::records() {
        let found = RecordRepository::find(&store, &api.id, &orders, &record.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.data.as_str(), record.data.as_str());
        assert_eq!(
            (
                found.id,
                found.api_id,
                found.endpoint,
                found.created_at,
                found.updated_at,
                found.revision
            ),
            (
                record.id,
                record.api_id,
                record.endpoint,
                record.created_at,
                record.updated_at,
                record.revision
            )
        );
    }
    let bounds = ListBounds {
        limit: 10,
        max_bytes: 1 << 20,
        max_examined: 100,
        max_examined_bytes: 1 << 20,
    };
    let endpoint = api.endpoint("orders").unwrap();
    let everything = QueryPlan::new(RecordQuery::default(), endpoint, true, None).unwrap();
    let listed = RecordRepository::list(&store, &api.id, &orders, &everything, bounds)
        .await
        .unwrap();
    assert_eq!(listed.records.len(), 2);
    // A file older than scan blocks gets them when it opens: a query no index serves finds
    // its records by their fields.
    let filtered = QueryPlan::new(
        RecordQuery::parse(&[("total[gt]".into(), "100".into())]).unwrap(),
        endpoint,
        true,
        None,
    )
    .unwrap();
    let found = RecordRepository::list(&store, &api.id, &orders, &filtered, bounds)
        .await
        .unwrap();
    let [_, thousand] = rows::records();
    assert_eq!(found.records, vec![thousand]);
    // Records of a file older than record counts are counted when it opens, and rows older
    // than index entries are indexed by a rebuild like any other.
    assert_eq!(
        RecordRepository::count_up_to(&store, &api.id, &orders, 100)
            .await
            .unwrap(),
        2
    );
    let indexed = vec!["total".to_owned()];
    let mut after = None;
    while let Some(last) = RecordRepository::reindex(&store, &api.id, &orders, &indexed, after, 1)
        .await
        .unwrap()
    {
        after = Some(last);
    }
    let mut with_index = endpoint.clone();
    with_index.indexes.push(keygate_domain::apis::FieldIndex {
        field: "total".into(),
        state: keygate_domain::apis::IndexState::Ready,
    });
    let sorted = QueryPlan::new(
        RecordQuery::parse(&[("sort".into(), "-total".into())]).unwrap(),
        &with_index,
        false,
        None,
    )
    .unwrap();
    let by_total = RecordRepository::list(&store, &api.id, &orders, &sorted, bounds)
        .await
        .unwrap();
    assert_eq!(by_total.records.len(), 2);

    // The usage row holds exactly what was charged: one more entry fits under a limit of
    // five, two more do not.
    let limits = UsageLimits {
        max_entries: rows::usage_change().entries.unsigned_abs() + 1,
        ..UsageLimits::default()
    };
    let two = UsageChange {
        entries: 2,
        ..UsageChange::default()
    };
    assert!(!store.try_change(&alice.id, two, limits).await.unwrap());
    let one = UsageChange {
        entries: 1,
        ..UsageChange::default()
    };
    assert!(store.try_change(&alice.id, one, limits).await.unwrap());
}

/// Tables whose values are documents, whose values are ids, and pure indexes.
const DOCUMENT_TABLES: &[&str] = &[
    "users",
    "sessions",
    "refresh_tokens",
    "data",
    "apis",
    "api_keys",
    "records",
    "usage",
];
const TEXT_TABLES: &[&str] = &[
    "users_by_email",
    "users_by_username",
    "apis_by_name",
    "api_keys_by_api",
];
const INDEX_TABLES: &[&str] = &[
    "sessions_by_user",
    "refresh_tokens_by_user",
    "apis_by_owner",
];

/// The JSON of a row: record rows written since indexes exist carry a header of field keys
/// and index entries first (`0x01`, its length as a little-endian u32, the header); the JSON
/// after it is the very row older files hold.
fn json_of(value: &[u8]) -> &[u8] {
    match value.first() {
        Some(1) => {
            let len = u32::from_le_bytes([value[1], value[2], value[3], value[4]]) as usize;
            &value[5 + len..]
        }
        _ => value,
    }
}

/// Every row of every table, as text (record rows: their JSON), in key order.
fn dump(file: &Path) -> Vec<(String, String, String)> {
    let database = redb::Database::open(file).unwrap();
    let txn = database.begin_read().unwrap();
    let mut rows = Vec::new();
    for name in DOCUMENT_TABLES {
        let table = txn
            .open_table(TableDefinition::<&str, &[u8]>::new(name))
            .unwrap();
        for row in table.iter().unwrap() {
            let (key, value) = row.unwrap();
            let value = String::from_utf8(json_of(value.value()).to_vec()).unwrap();
            rows.push(((*name).to_owned(), key.value().to_owned(), value));
        }
    }
    for name in TEXT_TABLES {
        let table = txn
            .open_table(TableDefinition::<&str, &str>::new(name))
            .unwrap();
        for row in table.iter().unwrap() {
            let (key, value) = row.unwrap();
            rows.push((
                (*name).to_owned(),
                key.value().to_owned(),
                value.value().to_owned(),
            ));
        }
    }
    for name in INDEX_TABLES {
        let table = txn
            .open_table(TableDefinition::<&str, ()>::new(name))
            .unwrap();
        for row in table.iter().unwrap() {
            let (key, ()) = (row.unwrap().0, ());
            rows.push(((*name).to_owned(), key.value().to_owned(), String::new()));
        }
    }
    rows
}

#[tokio::test]
async fn the_same_rows_written_today_are_the_same_bytes() {
    let today = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(today.path()).unwrap();
        rows::populate(&store).await;
    }
    let earlier = fixture_copy();
    let written_today = dump(&today.path().join(FILE_NAME));
    let written_earlier = dump(&earlier.path().join(FILE_NAME));
    assert_eq!(
        written_today.len(),
        25,
        "every row of the fixture: {written_today:#?}"
    );
    assert_eq!(written_today, written_earlier);
    // Nothing but the users table holds a password hash.
    for (table, _, value) in &written_today {
        assert_eq!(
            value.contains("argon2id") || value.contains("pbkdf2"),
            table == "users" && !value.is_empty(),
            "{table}: {value}"
        );
    }
}
