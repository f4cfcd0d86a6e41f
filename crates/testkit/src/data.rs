//! Conformance cases of the key-value store.

use chrono::Duration;
use keygate_domain::data::{DataEntry, DataKey};
use keygate_domain::{ConflictKind, Error, Id};
use serde_json::{json, Value};

use crate::fixtures::now;
use crate::{case, Case, Repositories};

fn entry(user_id: &Id, key: &str, value: Value) -> DataEntry {
    DataEntry {
        user_id: user_id.clone(),
        key: DataKey::new(key).unwrap(),
        value,
        created_at: now(),
        updated_at: now(),
    }
}

fn key(text: &str) -> DataKey {
    DataKey::new(text).unwrap()
}

/// An inserted entry is found again; a second insert of its key is a key conflict.
async fn data_insert_then_find_and_refuse_a_duplicate(stores: Repositories) {
    let user = Id::generate(1);
    let first = entry(&user, "colour", json!("blue"));
    stores.data.insert(&first).await.unwrap();
    assert_eq!(
        stores.data.find(&user, &key("colour")).await.unwrap(),
        Some(first)
    );
    let again = stores
        .data
        .insert(&entry(&user, "colour", json!("red")))
        .await;
    assert!(
        matches!(again, Err(Error::Conflict(ConflictKind::DataKey))),
        "{again:?}"
    );
    assert_eq!(
        stores
            .data
            .find(&user, &key("colour"))
            .await
            .unwrap()
            .unwrap()
            .value,
        json!("blue")
    );
    assert_eq!(
        stores.data.find(&user, &key("Colour")).await.unwrap(),
        None,
        "keys are case-sensitive"
    );
}

/// Two users' keys never meet, even when equal.
async fn data_keys_are_private_to_their_owner(stores: Repositories) {
    let (alice, bob) = (Id::generate(1), Id::generate(1));
    stores
        .data
        .insert(&entry(&alice, "k", json!(1)))
        .await
        .unwrap();
    stores
        .data
        .insert(&entry(&bob, "k", json!(2)))
        .await
        .unwrap();
    assert_eq!(
        stores
            .data
            .find(&alice, &key("k"))
            .await
            .unwrap()
            .unwrap()
            .value,
        json!(1)
    );
    assert!(stores.data.delete(&bob, &key("k")).await.unwrap().is_some());
    assert!(stores.data.find(&alice, &key("k")).await.unwrap().is_some());
    let alices = stores.data.find(&alice, &key("k")).await.unwrap().unwrap();
    let bobs_view = DataEntry {
        user_id: bob.clone(),
        ..alices
    };
    assert!(stores
        .data
        .replace_value(&bobs_view, &json!(3), now())
        .await
        .unwrap()
        .is_none());
}

/// Every kind of JSON value, and every kind of key, comes back exactly as stored.
async fn data_values_and_keys_round_trip_exactly(stores: Repositories) {
    let user = Id::generate(1);
    let values = [
        json!(9_007_199_254_740_992_i64),
        json!(-9_007_199_254_740_992_i64),
        json!(-42),
        json!(0.1),
        json!(-1.5e-7),
        json!(1.0),
        json!(true),
        json!(false),
        Value::Null,
        json!(""),
        json!("ünïcødé ✓ 漢字 🔑"),
        json!([]),
        json!({}),
        json!([1, [2, [3, {"a": null}]], "x"]),
        json!({"z": 1, "a": {"$dollar": true, "dot.ted": [1.25, "s"], "": "empty name"}, "m": []}),
    ];
    let keys = [
        "plain",
        "a/b/c",
        "dots.and.more",
        "$starts",
        "with space",
        "ключ",
        "🔑",
        &"k".repeat(256),
    ];
    for (i, value) in values.iter().enumerate() {
        let name = format!("{}-{i}", keys[i % keys.len()]);
        let name: String = name.chars().take(256).collect();
        stores
            .data
            .insert(&entry(&user, &name, value.clone()))
            .await
            .unwrap();
        let found = stores.data.find(&user, &key(&name)).await.unwrap().unwrap();
        assert_eq!(&found.value, value, "value of {name}");
        assert_eq!(
            found.value.to_string(),
            value.to_string(),
            "exact text of {name}"
        );
        assert_eq!(found.key.as_str(), name);
    }
}

/// Replacing a value keeps the creation time and stamps the change; a missing key is `None`.
async fn data_replace_changes_the_value_and_update_time(stores: Repositories) {
    let user = Id::generate(1);
    let original = entry(&user, "k", json!({"v": 1}));
    stores.data.insert(&original).await.unwrap();
    let later = now() + Duration::seconds(30);
    let replaced = stores
        .data
        .replace_value(&original, &json!([2]), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced.value, json!([2]));
    assert_eq!(replaced.created_at, original.created_at);
    assert_eq!(replaced.updated_at, later);
    assert_eq!(
        stores.data.find(&user, &key("k")).await.unwrap(),
        Some(replaced.clone())
    );
    // Compare-and-set: the entry as first stored is no longer there.
    assert!(stores
        .data
        .replace_value(&original, &json!(3), later)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        stores.data.find(&user, &key("k")).await.unwrap(),
        Some(replaced.clone())
    );
    let missing = entry(&user, "missing", json!(1));
    assert!(stores
        .data
        .replace_value(&missing, &json!(1), later)
        .await
        .unwrap()
        .is_none());
    assert!(
        stores
            .data
            .find(&user, &key("missing"))
            .await
            .unwrap()
            .is_none(),
        "replace never creates"
    );
}

/// Of 8 racing replacements of one entry as read, exactly one applies (compare-and-set).
async fn data_racing_replacements_have_one_winner(stores: Repositories) {
    let user = Id::generate(1);
    let original = entry(&user, "contested-value", json!(0));
    stores.data.insert(&original).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (stores, original) = (stores.clone(), original.clone());
            tokio::spawn(async move {
                stores
                    .data
                    .replace_value(&original, &json!(i + 1), now() + Duration::seconds(1))
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

/// Deleting removes the key once; a second delete finds nothing.
async fn data_delete_removes_once(stores: Repositories) {
    let user = Id::generate(1);
    stores
        .data
        .insert(&entry(&user, "k", json!(1)))
        .await
        .unwrap();
    let stored = entry(&user, "k", json!(1));
    assert_eq!(
        stores.data.delete(&user, &key("k")).await.unwrap(),
        Some(stored.size() as u64)
    );
    assert_eq!(stores.data.delete(&user, &key("k")).await.unwrap(), None);
    assert_eq!(stores.data.find(&user, &key("k")).await.unwrap(), None);
    stores
        .data
        .insert(&entry(&user, "k", json!(2)))
        .await
        .unwrap();
}

/// Listing walks keys in byte order, after a given key, within a prefix, up to a limit.
async fn data_list_in_key_order_with_prefix_and_after(stores: Repositories) {
    let user = Id::generate(1);
    let other = Id::generate(1);
    for name in ["b", "a/2", "a/10", "a", "ab", "a/1", "é", "Z", "a0"] {
        stores
            .data
            .insert(&entry(&user, name, json!(name)))
            .await
            .unwrap();
    }
    stores
        .data
        .insert(&entry(&other, "a/0", json!(0)))
        .await
        .unwrap();
    let keys = |entries: Vec<keygate_domain::data::ListedEntry>| {
        entries
            .into_iter()
            .map(|e| e.key.as_str().to_owned())
            .collect::<Vec<_>>()
    };

    let all = keys(stores.data.list(&user, None, None, 100).await.unwrap());
    assert_eq!(
        all,
        vec!["Z", "a", "a/1", "a/10", "a/2", "a0", "ab", "b", "é"]
    );
    let page = keys(
        stores
            .data
            .list(&user, None, Some("a/10".into()), 3)
            .await
            .unwrap(),
    );
    assert_eq!(page, vec!["a/2", "a0", "ab"]);
    let prefixed = keys(
        stores
            .data
            .list(&user, Some("a/".into()), None, 100)
            .await
            .unwrap(),
    );
    assert_eq!(prefixed, vec!["a/1", "a/10", "a/2"]);
    let prefixed_after = keys(
        stores
            .data
            .list(&user, Some("a/".into()), Some("a/1".into()), 1)
            .await
            .unwrap(),
    );
    assert_eq!(prefixed_after, vec!["a/10"]);
    let before_prefix = keys(
        stores
            .data
            .list(&user, Some("b".into()), Some("a".into()), 10)
            .await
            .unwrap(),
    );
    assert_eq!(before_prefix, vec!["b"]);
    assert!(stores
        .data
        .list(&user, Some("zzz".into()), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(stores
        .data
        .list(&Id::generate(1), None, None, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Erasing a user's data spares everyone else's.
async fn data_delete_all_spares_other_users(stores: Repositories) {
    let (alice, bob) = (Id::generate(1), Id::generate(1));
    for name in ["x", "y", "z"] {
        stores
            .data
            .insert(&entry(&alice, name, json!(1)))
            .await
            .unwrap();
    }
    stores
        .data
        .insert(&entry(&bob, "x", json!(2)))
        .await
        .unwrap();
    stores.data.delete_all_for_user(&alice).await.unwrap();
    assert!(stores
        .data
        .list(&alice, None, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        stores.data.list(&bob, None, None, 10).await.unwrap().len(),
        1
    );
}

/// Of racing inserts of one key, exactly one wins.
async fn data_racing_inserts_of_one_key_have_one_winner(stores: Repositories) {
    let user = Id::generate(1);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (data, e) = (stores.data.clone(), entry(&user, "contested", json!(i)));
        tasks.push(tokio::spawn(async move { data.insert(&e).await }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(Error::Conflict(ConflictKind::DataKey)) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(won, 1);
}

/// Every case of this module; a case left out of this list fails the build (dead code).
pub(crate) const CASES: &[Case] = &[
    case!(data_racing_replacements_have_one_winner),
    case!(data_insert_then_find_and_refuse_a_duplicate),
    case!(data_keys_are_private_to_their_owner),
    case!(data_values_and_keys_round_trip_exactly),
    case!(data_replace_changes_the_value_and_update_time),
    case!(data_delete_removes_once),
    case!(data_list_in_key_order_with_prefix_and_after),
    case!(data_delete_all_spares_other_users),
    case!(data_racing_inserts_of_one_key_have_one_winner),
];
