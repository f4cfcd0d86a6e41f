//! Conformance cases of the account store.

use keygate_domain::accounts::{Email, Username};
use keygate_domain::{ConflictKind, Error, Id};

use crate::fixtures::user;
use crate::{case, Case, Repositories};

/// An inserted account is found by id, by email and by username in any case.
async fn insert_then_find_by_id_email_and_username(stores: Repositories) {
    let alice = user("Alice", "alice@example.com");
    stores.users.insert(&alice).await.unwrap();
    assert_eq!(
        stores.users.find_by_id(&alice.id).await.unwrap(),
        Some(alice.clone())
    );
    let email = Email::new("alice@example.com").unwrap();
    assert_eq!(
        stores.users.find_by_email(&email).await.unwrap(),
        Some(alice.clone())
    );
    let lower = Username::new("alice").unwrap();
    assert_eq!(
        stores.users.find_by_username(&lower).await.unwrap(),
        Some(alice)
    );
    let unknown = Username::new("nobody").unwrap();
    assert_eq!(stores.users.find_by_username(&unknown).await.unwrap(), None);
    assert_eq!(
        stores.users.find_by_id(&Id::generate(0)).await.unwrap(),
        None
    );
}

/// A second account with a taken email is refused as an email conflict.
async fn duplicate_email_is_a_conflict_on_email(stores: Repositories) {
    stores
        .users
        .insert(&user("alice", "same@example.com"))
        .await
        .unwrap();
    let result = stores.users.insert(&user("bob", "same@example.com")).await;
    assert!(
        matches!(result, Err(Error::Conflict(ConflictKind::Email))),
        "{result:?}"
    );
    let bob = Username::new("bob").unwrap();
    assert_eq!(
        stores.users.find_by_username(&bob).await.unwrap(),
        None,
        "nothing half-written"
    );
}

/// Usernames are unique case-insensitively.
async fn duplicate_username_is_a_conflict_whatever_its_case(stores: Repositories) {
    stores
        .users
        .insert(&user("Alice", "a1@example.com"))
        .await
        .unwrap();
    let result = stores.users.insert(&user("aLICE", "a2@example.com")).await;
    assert!(
        matches!(result, Err(Error::Conflict(ConflictKind::Username))),
        "{result:?}"
    );
    let email = Email::new("a2@example.com").unwrap();
    assert_eq!(
        stores.users.find_by_email(&email).await.unwrap(),
        None,
        "nothing half-written"
    );
}

/// Sixteen concurrent inserts of one email: exactly one succeeds, the rest conflict.
async fn racing_inserts_of_one_email_have_one_winner(stores: Repositories) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let users = stores.users.clone();
        tasks.push(tokio::spawn(async move {
            users
                .insert(&user(&format!("racer{i}"), "race@example.com"))
                .await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(Error::Conflict(ConflictKind::Email)) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(won, 1);
}

/// Changing email and username frees the old ones and claims the new ones.
async fn update_moves_unique_keys_and_guards_them(stores: Repositories) {
    let mut alice = user("alice", "alice@example.com");
    let bob = user("bob", "bob@example.com");
    stores.users.insert(&alice).await.unwrap();
    stores.users.insert(&bob).await.unwrap();

    alice.email = Some(Email::new("alice@new.example.com").unwrap());
    alice.username = Some(Username::new("Alicia").unwrap());
    alice.revision = 2;
    assert!(stores.users.update(&alice, 1).await.unwrap());
    let old_email = Email::new("alice@example.com").unwrap();
    assert_eq!(stores.users.find_by_email(&old_email).await.unwrap(), None);
    let new_name = Username::new("alicia").unwrap();
    assert_eq!(
        stores.users.find_by_username(&new_name).await.unwrap(),
        Some(alice.clone())
    );
    let mut carol = user("carol", "alice@example.com");
    stores.users.insert(&carol).await.unwrap();

    let mut stolen = bob.clone();
    stolen.email = alice.email.clone();
    let result = stores.users.update(&stolen, 1).await;
    assert!(
        matches!(result, Err(Error::Conflict(ConflictKind::Email))),
        "{result:?}"
    );
    carol.username = Some(Username::new("BOB").unwrap());
    let result = stores.users.update(&carol, 1).await;
    assert!(
        matches!(result, Err(Error::Conflict(ConflictKind::Username))),
        "{result:?}"
    );
    assert_eq!(stores.users.find_by_id(&bob.id).await.unwrap(), Some(bob));
}

/// Updating an account that does not exist is `NotFound`.
async fn update_of_a_missing_user_is_not_found(stores: Repositories) {
    let ghost = user("ghost", "ghost@example.com");
    assert!(matches!(
        stores.users.update(&ghost, 1).await,
        Err(Error::NotFound(_))
    ));
}

/// An update applies only against the revision it read: a profile edit racing a password
/// change cannot write the old password hash back.
async fn update_is_compare_and_set_on_the_revision(stores: Repositories) {
    let alice = user("alice", "alice@example.com");
    stores.users.insert(&alice).await.unwrap();
    let mut new_password = alice.clone();
    new_password.password_hash = "$argon2id$new".into();
    new_password.revision = 2;
    let mut stale_profile = alice.clone();
    stale_profile.age = Some(keygate_domain::accounts::Age::new(30).unwrap());
    stale_profile.revision = 2;
    assert!(stores.users.update(&new_password, 1).await.unwrap());
    assert!(!stores.users.update(&stale_profile, 1).await.unwrap());
    let stored = stores.users.find_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, "$argon2id$new");
    assert_eq!(stored.age, None);
    assert_eq!(stored.revision, 2);
}

/// Of 8 racing updates from one revision, exactly one applies.
async fn racing_updates_of_one_account_have_one_winner(stores: Repositories) {
    let alice = user("alice", "alice@example.com");
    stores.users.insert(&alice).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (stores, mut next) = (stores.clone(), alice.clone());
            next.password_hash = format!("$argon2id$writer{i}");
            next.revision = 2;
            tokio::spawn(async move { stores.users.update(&next, 1).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

/// A deleted account's email and username can be registered again.
async fn delete_frees_email_and_username(stores: Repositories) {
    let alice = user("alice", "alice@example.com");
    stores.users.insert(&alice).await.unwrap();
    assert!(stores.users.delete(&alice.id).await.unwrap());
    assert!(!stores.users.delete(&alice.id).await.unwrap());
    assert_eq!(stores.users.find_by_id(&alice.id).await.unwrap(), None);
    stores
        .users
        .insert(&user("ALICE", "alice@example.com"))
        .await
        .unwrap();
}

/// Listing walks every account once, in id order, page by page.
async fn list_pages_in_id_order(stores: Repositories) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let u = user(&format!("user{i}"), &format!("user{i}@example.com"));
        ids.push(u.id.clone());
        stores.users.insert(&u).await.unwrap();
    }
    ids.sort();
    let mut seen: Vec<Id> = Vec::new();
    loop {
        let page = stores.users.list(seen.last().cloned(), 2).await.unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        seen.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(seen, ids);
}

/// A healthy store answers `ping`.
async fn ping_succeeds_on_a_healthy_store(stores: Repositories) {
    stores.users.ping().await.unwrap();
}

/// A verified address and a pending one (§12) round-trip; the pending one claims nothing:
/// another account may take it, and it does not find the account.
async fn a_pending_email_round_trips_and_claims_nothing(stores: Repositories) {
    let mut alice = user("Alice", "alice@example.com");
    alice.email_verified = true;
    alice.pending_email = Some(Email::new("next@example.com").unwrap());
    stores.users.insert(&alice).await.unwrap();
    assert_eq!(
        stores.users.find_by_id(&alice.id).await.unwrap(),
        Some(alice.clone())
    );
    let next = Email::new("next@example.com").unwrap();
    assert_eq!(stores.users.find_by_email(&next).await.unwrap(), None);
    stores
        .users
        .insert(&user("Bob", "next@example.com"))
        .await
        .unwrap();
    let mut moved = alice.clone();
    moved.email = moved.pending_email.take();
    moved.revision += 1;
    assert!(matches!(
        stores.users.update(&moved, alice.revision).await,
        Err(Error::Conflict(ConflictKind::Email))
    ));
}

/// Every case of this module; a case left out of this list fails the build (dead code).
pub(crate) const CASES: &[Case] = &[
    case!(update_is_compare_and_set_on_the_revision),
    case!(racing_updates_of_one_account_have_one_winner),
    case!(insert_then_find_by_id_email_and_username),
    case!(duplicate_email_is_a_conflict_on_email),
    case!(duplicate_username_is_a_conflict_whatever_its_case),
    case!(racing_inserts_of_one_email_have_one_winner),
    case!(update_moves_unique_keys_and_guards_them),
    case!(update_of_a_missing_user_is_not_found),
    case!(delete_frees_email_and_username),
    case!(list_pages_in_id_order),
    case!(ping_succeeds_on_a_healthy_store),
    case!(a_pending_email_round_trips_and_claims_nothing),
];
