//! Conformance cases of the storage-usage store.

use keygate_domain::usage::{UsageChange, UsageLimits};
use keygate_domain::Id;

use crate::{case, Case, Repositories};

fn limits(entries: u64, bytes: u64) -> UsageLimits {
    UsageLimits {
        max_entries: entries,
        max_bytes: bytes,
        max_apis: 2,
    }
}

/// APIs count against their own limit, atomically, beside entries and bytes.
async fn usage_counts_apis_against_their_own_limit(stores: Repositories) {
    let owner = Id::generate(1);
    let roomy = limits(100, 10_000);
    let usage = &stores.usage;
    for _ in 0..2 {
        assert!(usage
            .try_change(&owner, UsageChange::api_added(100), roomy)
            .await
            .unwrap());
    }
    assert!(
        !usage
            .try_change(&owner, UsageChange::api_added(1), roomy)
            .await
            .unwrap(),
        "a third API"
    );
    assert!(
        usage
            .try_change(&owner, UsageChange::added(100), roomy)
            .await
            .unwrap(),
        "entries are counted apart from APIs"
    );
    assert!(usage
        .try_change(&owner, UsageChange::api_added(100).reversed(), roomy)
        .await
        .unwrap());
    assert!(
        usage
            .try_change(&owner, UsageChange::api_added(100), roomy)
            .await
            .unwrap(),
        "room for one again"
    );
    // Racing creations never pass the limit.
    let racer = Id::generate(1);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (stores, racer) = (stores.clone(), racer.clone());
            tokio::spawn(async move {
                stores
                    .usage
                    .try_change(&racer, UsageChange::api_added(1), roomy)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 2);
}

/// Growth applies while it fits both limits; past either, nothing changes; shrinking always
/// applies, never below zero; forgetting starts the account over.
async fn usage_grows_within_its_limits_and_shrinks_freely(stores: Repositories) {
    let (alice, bob) = (Id::generate(1), Id::generate(1));
    let small = limits(2, 100);
    let usage = &stores.usage;
    assert!(usage
        .try_change(&alice, UsageChange::added(60), small)
        .await
        .unwrap());
    assert!(
        !usage
            .try_change(&alice, UsageChange::added(60), small)
            .await
            .unwrap(),
        "bytes"
    );
    assert!(usage
        .try_change(&alice, UsageChange::added(40), small)
        .await
        .unwrap());
    assert!(
        !usage
            .try_change(&alice, UsageChange::added(0), small)
            .await
            .unwrap(),
        "entries"
    );
    assert!(
        usage
            .try_change(&bob, UsageChange::added(100), small)
            .await
            .unwrap(),
        "per account"
    );
    assert!(usage
        .try_change(&alice, UsageChange::removed(60), small)
        .await
        .unwrap());
    assert!(usage
        .try_change(&alice, UsageChange::added(60), small)
        .await
        .unwrap());
    assert!(!usage
        .try_change(&alice, UsageChange::resized(60, 61), small)
        .await
        .unwrap());
    // Shrinking past zero (a give-back counted twice) leaves zero, not a debt.
    for _ in 0..4 {
        assert!(usage
            .try_change(&alice, UsageChange::removed(100), small)
            .await
            .unwrap());
    }
    assert!(usage
        .try_change(&alice, UsageChange::added(100), small)
        .await
        .unwrap());
    assert!(usage
        .try_change(&alice, UsageChange::added(0), small)
        .await
        .unwrap());
    assert!(!usage
        .try_change(&alice, UsageChange::added(0), small)
        .await
        .unwrap());
    usage.forget(&alice).await.unwrap();
    assert!(usage
        .try_change(&alice, UsageChange::added(100), small)
        .await
        .unwrap());
}

/// Of 16 racing additions under a limit of 10 entries, exactly 10 apply.
async fn racing_additions_never_pass_the_limit(stores: Repositories) {
    let owner = Id::generate(1);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (stores, owner) = (stores.clone(), owner.clone());
            tokio::spawn(async move {
                stores
                    .usage
                    .try_change(&owner, UsageChange::added(1), limits(10, 1_000))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        applied += usize::from(task.await.unwrap());
    }
    assert_eq!(applied, 10);
}

/// Every case of this module; a case left out of this list fails the build (dead code).
pub(crate) const CASES: &[Case] = &[
    case!(usage_counts_apis_against_their_own_limit),
    case!(usage_grows_within_its_limits_and_shrinks_freely),
    case!(racing_additions_never_pass_the_limit),
];
