//! Unit tests of the record use cases against mocks of the ports.

use std::sync::Arc;

use chrono::Duration;
use mockall::predicate::{always, eq};
use mockall::Sequence;
use serde_json::json;

use super::*;
use crate::apis::records::Access;
use crate::apis::records::ListedRecords;
use crate::apis::{ApiKey, Scopes};
use crate::clock::MockClock;
use crate::test_support::{id, now, object, owner, shop, shop_key, stranger, Mocks, SHOP_KEY};

fn service(mocks: Mocks) -> RecordService {
    let caches = ApiCaches::new(16, Duration::seconds(2));
    RecordService::new(mocks.ports(), caches, RecordServiceSettings::default())
}

fn key_caller() -> Caller {
    Caller::Key(SHOP_KEY.to_owned())
}

/// Mocks that find `shop` by name and `key` by its public id.
fn finding(key: ApiKey) -> Mocks {
    let mut mocks = Mocks::new();
    mocks
        .apis
        .expect_find_by_name()
        .returning(|name| Ok((name.as_str() == "shop").then(shop)));
    mocks
        .apis
        .expect_find()
        .returning(|id| Ok((*id == shop().id).then(shop)));
    mocks
        .keys
        .expect_find_by_public_id()
        .returning(move |public_id| Ok((public_id == key.public_id).then(|| key.clone())));
    mocks
}

fn stored(data: serde_json::Value, revision: u64) -> Record {
    Record {
        id: id("6553f1000000000000000005"),
        api_id: shop().id,
        endpoint: shop().endpoints[0].name.clone(),
        data: RecordBody::from_object(&object(data)).expect("a body"),
        created_at: now(),
        updated_at: now(),
        revision,
    }
}

#[tokio::test]
async fn who_may_do_what() {
    let svc = service(finding(shop_key()));
    let outcome = |caller: Caller, api: &'static str, endpoint: &'static str, scope| {
        let svc = &svc;
        async move {
            svc.authorize(&caller, api, endpoint, scope)
                .await
                .map(|_| ())
        }
    };
    let unknown = format!("kg_Unknown1_{}", "a".repeat(43));
    let forged = format!("kg_Pub1icId_{}", "b".repeat(43));
    for (caller, api, endpoint, scope, expected) in [
        (
            Caller::Anonymous,
            "shop",
            "orders",
            Scope::Read,
            "invalid_api_key",
        ),
        (
            Caller::Key("kg_nope".into()),
            "shop",
            "orders",
            Scope::Read,
            "invalid_api_key",
        ),
        (
            Caller::Key(unknown),
            "shop",
            "orders",
            Scope::Read,
            "invalid_api_key",
        ),
        (
            Caller::Key(forged),
            "shop",
            "orders",
            Scope::Read,
            "invalid_api_key",
        ),
        (key_caller(), "nowhere", "orders", Scope::Read, "not_found"),
        (key_caller(), "shop", "nothing", Scope::Read, "not_found"),
        (
            Caller::User(stranger()),
            "shop",
            "orders",
            Scope::Read,
            "not_found",
        ),
        (key_caller(), "shop", "orders", Scope::Write, "ok"),
        (Caller::User(owner()), "shop", "orders", Scope::Write, "ok"),
    ] {
        let result = outcome(caller.clone(), api, endpoint, scope).await;
        let code = match result {
            Ok(()) => "ok",
            Err(Error::InvalidApiKey(_)) => "invalid_api_key",
            Err(Error::NotFound(_)) => "not_found",
            Err(Error::Forbidden(_)) => "forbidden",
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(code, expected, "{caller:?} {api}/{endpoint}");
    }
}

#[tokio::test]
async fn keys_are_refused_for_another_api_a_missing_scope_expiry_and_revocation() {
    let other_api = ApiKey {
        api_id: id("6553f10000000000000000ff"),
        ..shop_key()
    };
    let read_only = ApiKey {
        scopes: Scopes::parse(&["read".into()], "scopes").expect("scopes"),
        ..shop_key()
    };
    let expired = ApiKey {
        expires_at: Some(now()),
        ..shop_key()
    };
    let revoked = ApiKey {
        revoked_at: Some(now() - Duration::seconds(1)),
        ..shop_key()
    };
    for (key, scope, forbidden) in [
        (other_api, Scope::Read, true),
        (read_only.clone(), Scope::Write, true),
        (expired, Scope::Read, false),
        (revoked, Scope::Read, false),
    ] {
        let result = service(finding(key))
            .authorize(&key_caller(), "shop", "orders", scope)
            .await;
        if forbidden {
            assert!(matches!(result, Err(Error::Forbidden(_))), "{result:?}");
        } else {
            assert!(matches!(result, Err(Error::InvalidApiKey(_))), "{result:?}");
        }
    }
    service(finding(read_only))
        .authorize(&key_caller(), "shop", "orders", Scope::Read)
        .await
        .expect("a read-only key reads");
}

#[tokio::test]
async fn a_verified_key_is_trusted_for_the_ttl_only_and_its_secret_always_checked() {
    let mut mocks = Mocks::new();
    mocks
        .apis
        .expect_find_by_name()
        .returning(|_| Ok(Some(shop())));
    mocks
        .keys
        .expect_find_by_public_id()
        .times(2)
        .returning(|_| Ok(Some(shop_key())));
    // Three checks at `now`, then one three seconds later (past the two-second TTL).
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || {
        match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0..=2 => now(),
            _ => now() + Duration::seconds(3),
        }
    });
    mocks.clock = clock;
    let svc = service(mocks);
    for _ in 0..2 {
        svc.authorize(&key_caller(), "shop", "orders", Scope::Read)
            .await
            .expect("authorised");
    }
    let forged = Caller::Key(format!("kg_Pub1icId_{}", "b".repeat(43)));
    assert!(matches!(
        svc.authorize(&forged, "shop", "orders", Scope::Read).await,
        Err(Error::InvalidApiKey(_))
    ));
    // Past the TTL the store is asked again (the second find_by_public_id).
    svc.authorize(&key_caller(), "shop", "orders", Scope::Read)
        .await
        .expect("authorised");
}

#[tokio::test]
async fn records_are_checked_and_schemas_compiled_once_per_revision() {
    let mut mocks = finding(shop_key());
    mocks
        .schemas
        .expect_compile_stored()
        .times(1)
        .returning(|_| {
            let mut compiled = crate::schema::MockCompiledSchema::new();
            compiled.expect_check().returning(|doc, _| {
                Ok(if doc.get("qty").is_some() {
                    vec![]
                } else {
                    vec![FieldViolation::new("", "qty is required")]
                })
            });
            Ok(Arc::new(compiled))
        });
    mocks
        .records
        .expect_insert()
        .withf(|r, _| {
            r.revision == 1 && r.data.as_str().contains("\"qty\"") && r.api_id == shop().id
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = service(mocks);
    let access = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Write)
        .await
        .expect("authorised");
    svc.create(&access, object(json!({"qty": 1})))
        .await
        .expect("created");
    let Err(Error::Validation(found)) = svc
        .create(&access, object(json!({"$set": {"a\u{0}": 1}})))
        .await
    else {
        panic!("expected a validation error");
    };
    let fields: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(
        fields,
        ["/$set", "/$set/a\u{0}", ""],
        "names and schema, all at once"
    );
    let huge = "x".repeat(MAX_RECORD_BYTES);
    assert!(matches!(
        svc.create(&access, object(json!({"qty": 1, "blob": huge})))
            .await,
        Err(Error::TooLarge(_))
    ));
    let read = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Read)
        .await
        .expect("authorised");
    assert!(matches!(
        svc.create(&read, object(json!({"qty": 1}))).await,
        Err(Error::Internal(_))
    ));
}

#[tokio::test]
async fn a_patch_merges_validates_and_retries_after_a_lost_race() {
    let mut mocks = finding(shop_key());
    mocks.schemas_finding(vec![]);
    let mut reads = Sequence::new();
    mocks
        .records
        .expect_find()
        .times(1)
        .in_sequence(&mut reads)
        .returning(|_, _, _| Ok(Some(stored(json!({"a": 1, "b": 2}), 3))));
    mocks
        .records
        .expect_find()
        .times(1)
        .in_sequence(&mut reads)
        .returning(|_, _, _| Ok(Some(stored(json!({"a": 1, "b": 2, "c": 3}), 4))));
    mocks
        .records
        .expect_replace()
        .with(always(), eq(3), always())
        .times(1)
        .returning(|_, _, _| Ok(false));
    mocks
        .records
        .expect_replace()
        .withf(|r, expected, _| {
            *expected == 4 && r.revision == 5 && r.data.as_str() == r#"{"a":9,"c":3}"#
        })
        .times(1)
        .returning(|_, _, _| Ok(true));
    let svc = service(mocks);
    let access = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Write)
        .await
        .expect("authorised");
    let patched = svc
        .patch(
            &access,
            "6553f1000000000000000005",
            object(json!({"a": 9, "b": null})),
        )
        .await
        .expect("patched");
    assert_eq!(patched.revision, 5);
    assert!(matches!(
        svc.patch(&access, "not-an-id", object(json!({}))).await,
        Err(Error::NotFound("record"))
    ));
}

#[tokio::test]
async fn lists_refuse_bad_queries_and_page_by_id() {
    let mut mocks = finding(shop_key());
    mocks
        .records
        .expect_list()
        .withf(|_, _, plan, bounds| {
            plan.query.conditions().len() == 1
                && plan.query.conditions()[0].field() == "qty"
                && plan.access == Access::Scan
                && plan.after.is_none()
                && bounds.limit == 3
        })
        .returning(|_, _, _, _| {
            Ok(ListedRecords {
                records: vec![
                    stored(json!({"qty": 5, "x": 1}), 1),
                    stored(json!({"qty": 5}), 1),
                    stored(json!({"qty": 5}), 1),
                ],
                stopped_at: None,
            })
        });
    // A small endpoint: scanned.
    mocks
        .records
        .expect_count_up_to()
        .returning(|_, _, _| Ok(3));
    let svc = service(mocks);
    let access = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Read)
        .await
        .expect("authorised");
    let listed = svc
        .list(
            &access,
            &[("qty".into(), "5".into()), ("fields".into(), "x".into())],
            &PageRequest::new(Some(2), None).expect("page"),
        )
        .await
        .expect("listed");
    assert_eq!(listed.records.items.len(), 2);
    assert_eq!(listed.records.items[0].data.as_str(), r#"{"x":1}"#);
    assert!(listed.records.next_cursor.is_some());
    assert_eq!(listed.total, None);
    assert!(matches!(
        svc.list(
            &access,
            &[("$where".into(), "1".into())],
            &PageRequest::first()
        )
        .await,
        Err(Error::Validation(_))
    ));
    let many: Vec<(String, String)> = (0..=crate::apis::records::MAX_CONDITIONS)
        .map(|i| (format!("f{i}"), "1".into()))
        .collect();
    assert!(matches!(
        svc.list(&access, &many, &PageRequest::first()).await,
        Err(Error::Validation(_))
    ));
}

#[tokio::test]
async fn a_count_without_conditions_is_the_endpoints_own_count() {
    // Sorted through an index: the walk would read every entry to count what the endpoint's
    // own count already says.
    let indexed = || {
        let mut api = shop();
        api.endpoints[0].indexes.push(crate::apis::FieldIndex {
            field: "qty".into(),
            state: crate::apis::IndexState::Ready,
        });
        api
    };
    let mut mocks = Mocks::new();
    mocks
        .apis
        .expect_find_by_name()
        .returning(move |_| Ok(Some(indexed())));
    let key = shop_key();
    mocks
        .keys
        .expect_find_by_public_id()
        .returning(move |_| Ok(Some(key.clone())));
    mocks.records.expect_count().never();
    mocks
        .records
        .expect_count_up_to()
        .returning(|_, _, at_most| Ok(at_most.min(7)));
    mocks
        .records
        .expect_list()
        .withf(|_, _, plan, _| matches!(plan.access, Access::Ordered { .. }))
        .returning(|_, _, _, _| Ok(ListedRecords::default()));
    let svc = service(mocks);
    let access = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Read)
        .await
        .expect("authorised");
    let listed = svc
        .list(
            &access,
            &[
                ("count".into(), "true".into()),
                ("sort".into(), "-qty".into()),
            ],
            &PageRequest::first(),
        )
        .await
        .expect("listed");
    assert_eq!(listed.total, Some(7));
}

#[tokio::test]
async fn a_large_endpoint_without_an_index_refuses_instead_of_scanning() {
    let mut mocks = finding(shop_key());
    mocks.records.expect_list().never();
    mocks.records.expect_count().never();
    mocks
        .records
        .expect_count_up_to()
        .returning(|_, _, at_most| Ok(at_most));
    let svc = service(mocks);
    let access = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Read)
        .await
        .expect("authorised");
    let refused = svc
        .list(
            &access,
            &[("tag".into(), "t7".into())],
            &PageRequest::first(),
        )
        .await;
    assert!(
        matches!(&refused, Err(Error::IndexRequired { field, .. }) if field == "tag"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_record_past_the_owners_quota_is_refused_and_nothing_stored() {
    let mut mocks = finding(shop_key());
    mocks.schemas_finding(vec![]);
    mocks.usage = crate::usage::MockUsageRepository::new();
    mocks
        .usage
        .expect_try_change()
        .withf(|owner, change, _| *owner == owner_id() && change.entries == 1)
        .returning(|_, _, _| Ok(false));
    mocks.records.expect_insert().never();
    let svc = service(mocks);
    let access = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Write)
        .await
        .expect("authorised");
    assert!(matches!(
        svc.create(&access, object(json!({"qty": 1}))).await,
        Err(Error::QuotaExceeded(_))
    ));
}

fn owner_id() -> Id {
    owner().user_id
}

#[tokio::test]
async fn reads_trust_a_remembered_definition_and_writes_always_read_the_current_one() {
    let mut mocks = Mocks::new();
    // Two reads share one lookup; each of the two writes makes its own.
    mocks
        .apis
        .expect_find_by_name()
        .times(3)
        .returning(|_| Ok(Some(shop())));
    mocks
        .keys
        .expect_find_by_public_id()
        .returning(|_| Ok(Some(shop_key())));
    let svc = service(mocks);
    for scope in [Scope::Read, Scope::Read, Scope::Write, Scope::Write] {
        svc.authorize(&key_caller(), "shop", "orders", scope)
            .await
            .expect("authorised");
    }
}

#[tokio::test]
async fn a_definition_changed_through_this_instance_is_read_again() {
    let mut mocks = Mocks::new();
    mocks
        .apis
        .expect_find_by_name()
        .times(2)
        .returning(|_| Ok(Some(shop())));
    mocks
        .keys
        .expect_find_by_public_id()
        .returning(|_| Ok(Some(shop_key())));
    let caches = ApiCaches::new(16, Duration::seconds(2));
    let svc = RecordService::new(
        mocks.ports(),
        caches.clone(),
        RecordServiceSettings::default(),
    );
    let caller = key_caller();
    let read = || svc.authorize(&caller, "shop", "orders", Scope::Read);
    read().await.expect("authorised");
    read().await.expect("authorised from the cache");
    caches.forget_definition("shop");
    read().await.expect("authorised after a fresh lookup");
}

#[tokio::test]
async fn a_write_that_timed_out_but_landed_stays_charged() {
    let mut mocks = finding(shop_key());
    mocks.schemas_finding(vec![]);
    let mut usage = crate::usage::MockUsageRepository::new();
    usage
        .expect_try_change()
        .withf(|_, change, _| change.entries == 1)
        .times(1)
        .returning(|_, _, _| Ok(true));
    usage
        .expect_try_change()
        .withf(|_, change, _| change.entries < 0)
        .never();
    mocks.usage = usage;
    mocks
        .records
        .expect_insert()
        .returning(|_, _| Err(Error::Unavailable("deadline passed".into())));
    // The store did apply it: found by its id.
    mocks
        .records
        .expect_find()
        .returning(|_, _, _| Ok(Some(stored(json!({"qty": 1}), 1))));
    let svc = service(mocks);
    let access = svc
        .authorize(&key_caller(), "shop", "orders", Scope::Write)
        .await
        .expect("authorised");
    assert!(matches!(
        svc.create(&access, object(json!({"qty": 1}))).await,
        Err(Error::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_write_landing_after_its_api_was_deleted_is_taken_back() {
    let mut mocks = Mocks::new();
    mocks.schemas_finding(vec![]);
    mocks
        .apis
        .expect_find_by_name()
        .returning(|_| Ok(Some(shop())));
    // Gone by the time the write has landed.
    mocks.apis.expect_find().returning(|_| Ok(None));
    mocks
        .records
        .expect_insert()
        .times(1)
        .returning(|_, _| Ok(()));
    mocks
        .records
        .expect_delete()
        .times(1)
        .returning(|_, _, _| Ok(Some(9)));
    let svc = service(mocks);
    let access = svc
        .authorize(&Caller::User(owner()), "shop", "orders", Scope::Write)
        .await
        .expect("authorised");
    assert!(matches!(
        svc.create(&access, object(json!({"qty": 1}))).await,
        Err(Error::NotFound("API"))
    ));
}
