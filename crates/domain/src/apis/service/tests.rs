//! Unit tests of the API use cases against mocks of the ports.

use std::sync::Arc;

use chrono::Duration;
use mockall::predicate::eq;
use mockall::Sequence;
use serde_json::json;

use super::*;
use crate::apis::{ApiChanges, KeyRequest, NewApi};
use crate::test_support::{now, owner, shop, shop_key, stranger, Mocks};

fn service(mocks: Mocks) -> (ApiService, ApiCaches) {
    let caches = ApiCaches::new(16, Duration::seconds(60));
    (
        ApiService::new(mocks.ports(), caches.clone(), 1_000),
        caches,
    )
}

/// A validator that compiles every schema.
fn accepting() -> crate::schema::MockSchemaValidator {
    let mut schemas = crate::schema::MockSchemaValidator::new();
    schemas
        .expect_compile()
        .returning(|_| Ok(Arc::new(crate::schema::MockCompiledSchema::new())));
    schemas
}

async fn changes(body: serde_json::Value) -> ApiChangeSet {
    ApiChanges(body.as_object().cloned().unwrap_or_default())
        .parse(&accepting())
        .await
        .expect("well-formed changes")
}

async fn form(name: &str) -> ApiDraft {
    NewApi {
        api_name: Some(json!(name)),
        endpoints: Some(json!(["orders"])),
        json_schema: Some(json!({"orders": {"type": "object"}})),
        indexes: None,
    }
    .parse(&accepting())
    .await
    .expect("a valid form")
}

fn with_key_material(mocks: &mut Mocks) {
    mocks
        .secrets
        .expect_new_public_id()
        .returning(|| Ok("AbCd1234".into()));
    mocks
        .secrets
        .expect_new_secret()
        .returning(|| Ok("s".repeat(43)));
    // The count after an issue: one key, well under the cap.
    mocks
        .keys
        .expect_list_for_api()
        .returning(|_| Ok(vec![shop_key()]));
}

#[tokio::test]
async fn a_key_past_the_cap_is_taken_back() {
    let mut mocks = Mocks::new();
    mocks
        .secrets
        .expect_new_public_id()
        .returning(|| Ok("AbCd1234".into()));
    mocks
        .secrets
        .expect_new_secret()
        .returning(|| Ok("s".repeat(43)));
    mocks.apis.expect_find().returning(|_| Ok(Some(shop())));
    mocks.keys.expect_insert().times(1).returning(|_| Ok(()));
    mocks
        .keys
        .expect_list_for_api()
        .returning(|_| Ok(vec![shop_key(), shop_key(), shop_key()]));
    mocks
        .keys
        .expect_delete()
        .withf(|api, _| *api == shop().id)
        .times(1)
        .returning(|_, _| Ok(true));
    let svc = ApiService::new(mocks.ports(), ApiCaches::new(16, Duration::seconds(2)), 2);
    let issued = svc
        .issue_key(
            &owner(),
            shop().id.as_str(),
            KeyRequest::default().parse().expect("valid"),
        )
        .await;
    assert!(matches!(issued, Err(Error::QuotaExceeded(_))), "{issued:?}");
}

#[tokio::test]
async fn create_slugs_the_name_and_issues_a_key_shown_once() {
    let mut mocks = Mocks::new();
    mocks.schemas_finding(vec![]);
    with_key_material(&mut mocks);
    mocks
        .apis
        .expect_insert()
        .withf(|api| api.name.as_str() == "my-api" && api.display_name.as_str() == "My API")
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .keys
        .expect_insert()
        .withf(|key| {
            key.public_id == "AbCd1234"
                && key.digest.as_str() == format!("d-kg_AbCd1234_{}", "s".repeat(43))
                && key.scopes == Scopes::ALL
        })
        .times(1)
        .returning(|_| Ok(()));
    let created = service(mocks)
        .0
        .create(&owner(), form("  My API ").await)
        .await
        .expect("created");
    assert_eq!(created.api.owner_id, owner().user_id);
    assert_eq!(created.key.text, format!("kg_AbCd1234_{}", "s".repeat(43)));
    assert_eq!(created.api.revision, 1);
}

#[tokio::test]
async fn taken_and_reserved_names_get_a_random_suffix() {
    let mut mocks = Mocks::new();
    mocks.schemas_finding(vec![]);
    with_key_material(&mut mocks);
    let mut order = Sequence::new();
    mocks
        .apis
        .expect_insert()
        .times(2)
        .in_sequence(&mut order)
        .returning(|_| Err(Error::Conflict(ConflictKind::ApiName)));
    mocks
        .apis
        .expect_insert()
        .withf(|api| api.name.as_str() == "data-abcd")
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    mocks.keys.expect_insert().returning(|_| Ok(()));
    let created = service(mocks).0.create(&owner(), form("Data").await).await;
    assert_eq!(created.expect("created").api.name.as_str(), "data-abcd");
}

#[tokio::test]
async fn create_gives_up_after_its_name_attempts() {
    let mut mocks = Mocks::new();
    mocks.schemas_finding(vec![]);
    with_key_material(&mut mocks);
    mocks
        .apis
        .expect_insert()
        .times(NAME_ATTEMPTS + 1)
        .returning(|_| Err(Error::Conflict(ConflictKind::ApiName)));
    let result = service(mocks).0.create(&owner(), form("Busy").await).await;
    assert!(matches!(
        result,
        Err(Error::Conflict(ConflictKind::ApiName))
    ));
}

#[tokio::test]
async fn someone_elses_api_is_not_found() {
    let mut mocks = Mocks::new();
    mocks
        .apis
        .expect_find()
        .with(eq(shop().id))
        .returning(|_| Ok(Some(shop())));
    let (service, _) = service(mocks);
    let result = service.get(&stranger(), shop().id.as_str()).await;
    assert!(matches!(result, Err(Error::NotFound("API"))));
    let result = service.delete(&stranger(), shop().id.as_str()).await;
    assert!(matches!(result, Err(Error::NotFound("API"))));
    let result = service.get(&owner(), "Not A Name").await;
    assert!(matches!(result, Err(Error::NotFound("API"))));
}

#[tokio::test]
async fn a_change_retries_when_another_writer_got_there_first() {
    let mut mocks = Mocks::new();
    mocks.schemas_finding(vec![]);
    mocks
        .apis
        .expect_find_by_name()
        .returning(|_| Ok(Some(shop())));
    let mut order = Sequence::new();
    mocks
        .apis
        .expect_update()
        .with(mockall::predicate::always(), eq(1))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(false));
    mocks
        .apis
        .expect_update()
        .withf(|api, expected| {
            *expected == 1
                && api.revision == 2
                && api.endpoints.len() == 2
                && api.display_name.as_str() == "Shop 2"
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(true));
    mocks.keys.expect_list_for_api().returning(|_| Ok(vec![]));
    let changes = changes(json!({
        "display_name": "Shop 2",
        "endpoints": ["orders", "notes"],
        "json_schema": {"notes": {}},
    }))
    .await;
    let (service, caches) = service(mocks);
    caches
        .definitions
        .insert("shop".into(), Arc::new(shop()), now());
    let view = service
        .change(&owner(), "shop", changes)
        .await
        .expect("changed");
    assert_eq!(view.api.revision, 2);
    assert!(
        caches.definitions.is_empty(),
        "record reads on this instance see the change at once"
    );
}

#[tokio::test]
async fn a_new_endpoint_needs_a_schema() {
    let mut mocks = Mocks::new();
    mocks
        .apis
        .expect_find_by_name()
        .returning(|_| Ok(Some(shop())));
    let changes = changes(json!({"endpoints": ["notes"]})).await;
    let Err(Error::Validation(found)) = service(mocks).0.change(&owner(), "shop", changes).await
    else {
        panic!("expected a validation error");
    };
    assert_eq!(found[0].field, "/json_schema/notes");
}

#[tokio::test]
async fn revoking_a_key_forgets_it_at_once() {
    let mut mocks = Mocks::new();
    mocks.apis.expect_find().returning(|_| Ok(Some(shop())));
    mocks
        .keys
        .expect_revoke()
        .with(eq(shop().id), eq(shop_key().id), eq(now()))
        .returning(|_, _, at| {
            Ok(Some(ApiKey {
                revoked_at: Some(at),
                ..shop_key()
            }))
        });
    let (service, caches) = service(mocks);
    let cache = &caches.keys;
    cache.insert(shop_key().public_id, shop_key(), now());
    let revoked = service
        .revoke_key(&owner(), shop().id.as_str(), shop_key().id.as_str())
        .await
        .expect("revoked");
    assert_eq!(revoked.revoked_at, Some(now()));
    assert!(cache.get(&shop_key().public_id, now()).is_none());
}

#[tokio::test]
async fn keys_take_scopes_and_a_future_expiry() {
    let mut mocks = Mocks::new();
    with_key_material(&mut mocks);
    mocks.apis.expect_find().returning(|_| Ok(Some(shop())));
    mocks
        .keys
        .expect_insert()
        .withf(|key| {
            key.scopes.allows(crate::apis::Scope::Read)
                && !key.scopes.allows(crate::apis::Scope::Write)
                && key.expires_at == Some(now() + Duration::hours(1))
        })
        .times(1)
        .returning(|_| Ok(()));
    let (service, _) = service(mocks);
    let in_an_hour = (now() + Duration::hours(1)).to_rfc3339();
    service
        .issue_key(
            &owner(),
            shop().id.as_str(),
            KeyRequest {
                scopes: Some(json!(["read"])),
                expires_at: Some(json!(in_an_hour)),
            }
            .parse()
            .expect("valid"),
        )
        .await
        .expect("issued");
    let past = KeyRequest {
        expires_at: Some(json!(now().to_rfc3339())),
        ..KeyRequest::default()
    }
    .parse()
    .expect("well-formed");
    let Err(Error::Validation(found)) = service.issue_key(&owner(), "shop", past).await else {
        panic!("expected a validation error");
    };
    assert_eq!(found[0].field, "/expires_at");
}

#[tokio::test]
async fn erasing_a_user_removes_keys_records_in_batches_then_apis() {
    let mut mocks = Mocks::new();
    let mut order = Sequence::new();
    mocks
        .apis
        .expect_list_for_owner()
        .with(eq(owner().user_id), eq(None), eq(100))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(vec![shop()]));
    mocks
        .keys
        .expect_list_for_api()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(vec![shop_key()]));
    mocks
        .keys
        .expect_delete_for_api()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(1));
    mocks
        .records
        .expect_delete_batch_for_api()
        .with(eq(shop().id), eq(DELETE_BATCH), eq(DELETE_BATCH_BYTES))
        .times(2)
        .in_sequence(&mut order)
        .returning(|_, _, _| {
            Ok(crate::apis::records::RemovedRecords {
                count: DELETE_BATCH as u64,
                bytes: 1000,
            })
        });
    mocks
        .records
        .expect_delete_batch_for_api()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(crate::apis::records::RemovedRecords::default()));
    mocks
        .apis
        .expect_delete()
        .with(eq(shop().id))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(true));
    mocks
        .records
        .expect_delete_batch_for_api()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(crate::apis::records::RemovedRecords::default()));
    mocks
        .apis
        .expect_list_for_owner()
        .with(eq(owner().user_id), eq(Some(shop().id)), eq(100))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(vec![]));
    let (service, caches) = service(mocks);
    caches.keys.insert(shop_key().public_id, shop_key(), now());
    caches
        .definitions
        .insert("shop".into(), Arc::new(shop()), now());
    service
        .erase_user_data(&owner().user_id)
        .await
        .expect("erased");
    assert!(caches.keys.is_empty());
    assert!(
        caches.definitions.is_empty(),
        "the deleted API is forgotten"
    );
}
