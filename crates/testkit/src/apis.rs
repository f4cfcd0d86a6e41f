//! Conformance cases of the API-definition and API-key stores.

use chrono::Duration;
use keygate_domain::apis::{ApiDefinition, ApiName, Endpoint};
use keygate_domain::{ConflictKind, Error, Id};
use serde_json::json;

use crate::fixtures::{api, api_key, endpoint, now};
use crate::{case, Case, Repositories};

/// An inserted API is found by id and by name, exactly as stored.
async fn api_insert_then_find_by_id_and_name(stores: Repositories) {
    let owner = Id::generate(1);
    let mut orders = api(&owner, "orders");
    // Schemas keep `$`-names, big numbers and member order exactly.
    orders.endpoints[0].schema = serde_json::from_str(
        r##"{"$defs": {"n": {"type": "integer", "maximum": 123456789012345678901234567890}},
            "type": "object", "properties": {"qty": {"$ref": "#/$defs/n"}, "a.b": {"const": 1.0}}}"##,
    )
    .unwrap();
    stores.apis.insert(&orders).await.unwrap();
    let found = stores.apis.find(&orders.id).await.unwrap().unwrap();
    assert_eq!(found, orders);
    assert_eq!(
        found.endpoints[0].schema.to_string(),
        orders.endpoints[0].schema.to_string()
    );
    assert_eq!(
        stores.apis.find_by_name(&orders.name).await.unwrap(),
        Some(orders)
    );
    assert_eq!(
        stores
            .apis
            .find_by_name(&ApiName::parse("nothing").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(stores.apis.find(&Id::generate(1)).await.unwrap(), None);
}

/// Names are unique across all owners.
async fn api_names_are_unique_across_owners(stores: Repositories) {
    stores
        .apis
        .insert(&api(&Id::generate(1), "shared"))
        .await
        .unwrap();
    let again = stores.apis.insert(&api(&Id::generate(1), "shared")).await;
    assert!(
        matches!(again, Err(Error::Conflict(ConflictKind::ApiName))),
        "{again:?}"
    );
}

/// Of 16 racing inserts of one name, exactly one wins; the others are name conflicts.
async fn api_racing_inserts_of_one_name_have_one_winner(stores: Repositories) {
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let stores = stores.clone();
            tokio::spawn(async move { stores.apis.insert(&api(&Id::generate(1), "race")).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => wins += 1,
            Err(Error::Conflict(ConflictKind::ApiName)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
}

/// An owner's APIs list in id order, page by page, and nobody else's.
async fn api_list_for_owner_pages_in_id_order(stores: Repositories) {
    let (alice, bob) = (Id::generate(1), Id::generate(1));
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = api(&alice, &format!("alice-{i}"));
        ids.push(a.id.clone());
        stores.apis.insert(&a).await.unwrap();
        stores
            .apis
            .insert(&api(&bob, &format!("bob-{i}")))
            .await
            .unwrap();
    }
    ids.sort();
    let mut seen: Vec<Id> = Vec::new();
    loop {
        let page = stores
            .apis
            .list_for_owner(&alice, seen.last().cloned(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        assert!(page.iter().all(|a| a.owner_id == alice));
        seen.extend(page.into_iter().map(|a| a.id));
    }
    assert_eq!(seen, ids);
}

/// An update applies only against the revision it read.
async fn api_update_is_compare_and_set(stores: Repositories) {
    let original = api(&Id::generate(1), "versioned");
    stores.apis.insert(&original).await.unwrap();
    let mut next = original.clone();
    next.revision = 2;
    next.endpoints.push(Endpoint {
        name: endpoint("more"),
        schema: json!({"required": ["x"]}),
        indexes: Vec::new(),
    });
    assert!(
        !stores.apis.update(&next, 7).await.unwrap(),
        "stale revision"
    );
    assert_eq!(
        stores.apis.find(&original.id).await.unwrap(),
        Some(original.clone())
    );
    assert!(stores.apis.update(&next, 1).await.unwrap());
    assert_eq!(
        stores.apis.find(&original.id).await.unwrap(),
        Some(next.clone())
    );
    assert!(
        !stores.apis.update(&next, 1).await.unwrap(),
        "spent revision"
    );
    let mut ghost = api(&Id::generate(1), "ghost");
    ghost.revision = 2;
    assert!(!stores.apis.update(&ghost, 1).await.unwrap(), "no such API");
}

/// Of 8 racing updates from one revision, exactly one applies.
async fn api_racing_updates_have_one_winner(stores: Repositories) {
    let original = api(&Id::generate(1), "contended");
    stores.apis.insert(&original).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (stores, mut next) = (stores.clone(), original.clone());
            next.revision = 2;
            next.endpoints[0].schema = json!({"title": format!("writer {i}")});
            tokio::spawn(async move { stores.apis.update(&next, 1).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

/// Deleting an API frees its name and takes it off its owner's list.
async fn api_delete_frees_the_name(stores: Repositories) {
    let owner = Id::generate(1);
    let gone = api(&owner, "gone");
    stores.apis.insert(&gone).await.unwrap();
    assert!(stores.apis.delete(&gone.id).await.unwrap());
    assert!(!stores.apis.delete(&gone.id).await.unwrap());
    assert_eq!(stores.apis.find(&gone.id).await.unwrap(), None);
    assert!(stores
        .apis
        .list_for_owner(&owner, None, 10)
        .await
        .unwrap()
        .is_empty());
    stores.apis.insert(&api(&owner, "gone")).await.unwrap();
}

/// A key is found by its public id; a second key with that public id is a conflict.
async fn keys_insert_find_by_public_id_and_refuse_a_duplicate(stores: Repositories) {
    let owned = api(&Id::generate(1), "keyed");
    let key = api_key(&owned, "Ab3dEf7h", "digest-1");
    stores.api_keys.insert(&key).await.unwrap();
    assert_eq!(
        stores.api_keys.find_by_public_id("Ab3dEf7h").await.unwrap(),
        Some(key)
    );
    assert_eq!(
        stores.api_keys.find_by_public_id("ab3def7h").await.unwrap(),
        None,
        "public ids are case-sensitive"
    );
    let twin = stores
        .api_keys
        .insert(&api_key(&owned, "Ab3dEf7h", "digest-2"))
        .await;
    assert!(matches!(twin, Err(Error::Conflict(_))), "{twin:?}");
}

/// Keys list per API in issue order; revocation keeps the first time and only touches the
/// named API's key; deleting an API's keys spares the others.
async fn keys_list_revoke_and_delete_for_api(stores: Repositories) {
    let (first, second) = (
        api(&Id::generate(1), "first"),
        api(&Id::generate(1), "second"),
    );
    let a = api_key(&first, "aaaaaaaa", "d-a");
    let mut b = api_key(&first, "bbbbbbbb", "d-b");
    b.expires_at = Some(now() + Duration::days(1));
    let other = api_key(&second, "cccccccc", "d-c");
    for key in [&a, &b, &other] {
        stores.api_keys.insert(key).await.unwrap();
    }
    let listed = stores.api_keys.list_for_api(&first.id).await.unwrap();
    assert_eq!(listed, vec![a.clone(), b.clone()]);

    assert_eq!(
        stores
            .api_keys
            .revoke(&second.id, &a.id, now())
            .await
            .unwrap(),
        None,
        "a key is revoked through its own API only"
    );
    let at = now();
    let revoked = stores
        .api_keys
        .revoke(&first.id, &a.id, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    let again = stores
        .api_keys
        .revoke(&first.id, &a.id, at + Duration::seconds(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.revoked_at,
        Some(at),
        "the first revocation time stays"
    );
    assert_eq!(
        stores
            .api_keys
            .find_by_public_id("aaaaaaaa")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(at)
    );

    assert_eq!(stores.api_keys.delete_for_api(&first.id).await.unwrap(), 2);
    assert!(stores
        .api_keys
        .list_for_api(&first.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        stores.api_keys.find_by_public_id("bbbbbbbb").await.unwrap(),
        None
    );
    assert_eq!(
        stores.api_keys.find_by_public_id("cccccccc").await.unwrap(),
        Some(other)
    );
}

/// One key is deleted through its own API only; the API's other keys stay.
async fn keys_delete_one(stores: Repositories) {
    let (first, second) = (
        api(&Id::generate(1), "one-of-two"),
        api(&Id::generate(1), "elsewhere"),
    );
    let a = api_key(&first, "dddddddd", "d-d");
    let b = api_key(&first, "eeeeeeee", "d-e");
    for key in [&a, &b] {
        stores.api_keys.insert(key).await.unwrap();
    }
    assert!(!stores.api_keys.delete(&second.id, &a.id).await.unwrap());
    assert!(stores.api_keys.delete(&first.id, &a.id).await.unwrap());
    assert!(!stores.api_keys.delete(&first.id, &a.id).await.unwrap());
    assert_eq!(
        stores.api_keys.find_by_public_id("dddddddd").await.unwrap(),
        None
    );
    assert_eq!(
        stores.api_keys.list_for_api(&first.id).await.unwrap(),
        vec![b]
    );
}

/// Every case of this module; a case left out of this list fails the build (dead code).
/// The APIs with an index still being built are found in id order, paged with `after` and
/// `limit`; an API whose indexes are all ready (or that has none) is not among them, nor one
/// whose last building index became ready, nor a deleted one.
async fn api_with_building_indexes_lists_only_those_in_id_order(stores: Repositories) {
    use keygate_domain::apis::{FieldIndex, IndexState};
    let owner = Id::generate(0);
    let index = |state| FieldIndex {
        field: "n".into(),
        state,
    };
    let mut building = Vec::new();
    for name in ["b-one", "b-two", "b-three"] {
        let mut api = api(&owner, name);
        api.endpoints[0].indexes = vec![index(IndexState::Building)];
        stores.apis.insert(&api).await.unwrap();
        building.push(api);
    }
    let mut ready = api(&owner, "ready");
    ready.endpoints[0].indexes = vec![index(IndexState::Ready)];
    stores.apis.insert(&ready).await.unwrap();
    stores.apis.insert(&api(&owner, "plain")).await.unwrap();
    building.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let ids = |apis: &[ApiDefinition]| apis.iter().map(|a| a.id.clone()).collect::<Vec<_>>();

    let all = stores.apis.with_building_indexes(None, 10).await.unwrap();
    assert_eq!(ids(&all), ids(&building));
    let first = stores.apis.with_building_indexes(None, 2).await.unwrap();
    assert_eq!(ids(&first), ids(&building[..2]));
    let rest = stores
        .apis
        .with_building_indexes(Some(building[1].id.clone()), 2)
        .await
        .unwrap();
    assert_eq!(ids(&rest), ids(&building[2..]));

    let mut finished = building[0].clone();
    finished.endpoints[0].indexes = vec![index(IndexState::Ready)];
    finished.revision += 1;
    assert!(stores
        .apis
        .update(&finished, building[0].revision)
        .await
        .unwrap());
    assert!(stores.apis.delete(&building[2].id).await.unwrap());
    let left = stores.apis.with_building_indexes(None, 10).await.unwrap();
    assert_eq!(ids(&left), ids(&building[1..2]));
}

pub(crate) const CASES: &[Case] = &[
    case!(api_insert_then_find_by_id_and_name),
    case!(api_names_are_unique_across_owners),
    case!(api_racing_inserts_of_one_name_have_one_winner),
    case!(api_list_for_owner_pages_in_id_order),
    case!(api_update_is_compare_and_set),
    case!(api_racing_updates_have_one_winner),
    case!(api_delete_frees_the_name),
    case!(keys_insert_find_by_public_id_and_refuse_a_duplicate),
    case!(keys_list_revoke_and_delete_for_api),
    case!(keys_delete_one),
    case!(api_with_building_indexes_lists_only_those_in_id_order),
];
