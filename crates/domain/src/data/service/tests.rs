//! Unit tests of the key-value use cases against mocks of the ports.

use super::*;
use crate::data::ports::MockDataRepository;
use crate::error::ConflictKind;
use mockall::predicate::{always, eq};
use serde_json::{json, Value};

use crate::test_support::{fixed_clock, now, owner};

fn service(repo: MockDataRepository) -> DataService {
    let clock = fixed_clock();
    let mut usage = crate::usage::MockUsageRepository::new();
    usage.expect_try_change().returning(|_, _, _| Ok(true));
    let quota = Quota::new(Arc::new(usage), crate::usage::UsageLimits::default());
    DataService::new(Arc::new(repo), Arc::new(clock), quota)
}

fn listed(key: &str) -> ListedEntry {
    ListedEntry {
        key: DataKey::new(key).expect("key"),
        created_at: now(),
        updated_at: now(),
    }
}

fn new_entry(key: &str, value: Value) -> NewEntry {
    NewEntry {
        key: DataKey::new(key).expect("key"),
        value,
    }
}

fn replacement(key: &str, value: Value) -> Replacement {
    Replacement {
        key: DataKey::new(key).expect("key"),
        value,
    }
}

#[tokio::test]
async fn create_stores_the_entry_of_its_owner_null_included() {
    let mut repo = MockDataRepository::new();
    repo.expect_insert()
        .withf(|e| e.value == Value::Null && e.key.as_str() == "k" && e.user_id == owner().user_id)
        .times(1)
        .returning(|_| Ok(()));
    service(repo)
        .create(&owner(), new_entry("k", Value::Null))
        .await
        .expect("stored");
}

#[tokio::test]
async fn create_passes_on_a_taken_key() {
    let mut repo = MockDataRepository::new();
    repo.expect_insert()
        .returning(|_| Err(Error::Conflict(ConflictKind::DataKey)));
    assert!(matches!(
        service(repo)
            .create(&owner(), new_entry("k", json!(1)))
            .await,
        Err(Error::Conflict(ConflictKind::DataKey))
    ));
}

#[tokio::test]
async fn reads_updates_and_deletes_only_the_owners_key() {
    let mut repo = MockDataRepository::new();
    let key = DataKey::new("k").expect("key");
    repo.expect_find()
        .with(eq(owner().user_id), eq(key.clone()))
        .returning(|_, _| Ok(None));
    repo.expect_replace_value().never();
    repo.expect_delete()
        .with(eq(owner().user_id), eq(key))
        .returning(|_, _| Ok(None));
    let svc = service(repo);
    assert!(matches!(
        svc.get(&owner(), "k").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        svc.replace(&owner(), replacement("k", json!([1]))).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        svc.delete(&owner(), "k").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        svc.get(&owner(), &"x".repeat(257)).await,
        Err(Error::Validation(_))
    ));
}

#[tokio::test]
async fn list_pages_with_hex_cursors_that_survive_any_key() {
    let mut repo = MockDataRepository::new();
    repo.expect_list()
        .with(
            eq(owner().user_id),
            eq(Some("a/".to_owned())),
            eq(None),
            eq(3),
        )
        .returning(|_, _, _, _| Ok(vec![listed("a/1"), listed("a/2 &?#"), listed("a/3")]));
    repo.expect_list()
        .with(always(), eq(None), eq(Some("a/2 &?#".to_owned())), eq(3))
        .returning(|_, _, _, _| Ok(vec![listed("a/3")]));
    let svc = service(repo);
    let page = PageRequest::new(Some(2), None).expect("page");
    let first = svc
        .list(&owner(), Some("a/".into()), &page)
        .await
        .expect("listed");
    assert_eq!(first.items.len(), 2);
    let cursor = first.next_cursor.expect("more");
    assert!(cursor.bytes().all(|b| b.is_ascii_hexdigit()));
    let next = PageRequest::new(Some(2), Some(cursor)).expect("page");
    let second = svc.list(&owner(), None, &next).await.expect("listed");
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None);
    assert!(matches!(
        PageRequest::new(None, Some("zz".into())),
        Err(Error::Validation(_))
    ));
}

#[tokio::test]
async fn erasing_a_user_removes_all_their_entries() {
    let mut repo = MockDataRepository::new();
    repo.expect_delete_all_for_user()
        .with(eq(owner().user_id))
        .times(1)
        .returning(|_| Ok(()));
    service(repo)
        .erase_user_data(&owner().user_id)
        .await
        .expect("erased");
}
