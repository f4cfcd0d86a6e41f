//! Conformance cases of the second-factor store.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::mfa::{SecondFactors, StoredPasskey, TotpFactor, TotpSecret};
use keygate_domain::Id;

use crate::{case, Case, Repositories};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::seconds(secs)
}

fn factors(user: &Id, revision: u64) -> SecondFactors {
    SecondFactors {
        user_id: user.clone(),
        totp: Some(TotpFactor {
            secret: TotpSecret::new((0..=255u8).step_by(13).collect()),
            confirmed: true,
            last_used_step: 60_000_123,
            created_at: at(0),
        }),
        recovery_codes: vec![SecretDigest("a".repeat(64)), SecretDigest("b".repeat(64))],
        passkeys: vec![StoredPasskey {
            id: Id::generate(9),
            name: "Laptop \u{1F511} \"quoted\"".into(),
            credential_id: "AAECAwQFBgcICQ-_".into(),
            credential: r#"{"cred":{"counter":7,"key":[1,2,3]}}"#.into(),
            created_at: at(1),
            last_used_at: Some(at(2)),
        }],
        revision,
    }
}

/// Factors round-trip whole; a write lands only on the revision it read (0: none stored).
async fn factors_round_trip_and_change_only_on_the_revision_read(stores: Repositories) {
    let store = &stores.factors;
    let user = Id::generate(1);
    assert_eq!(store.find_factors(&user).await.unwrap(), None);
    let first = factors(&user, 1);
    assert!(store.put_factors(&first, 0).await.unwrap());
    assert_eq!(
        store.find_factors(&user).await.unwrap(),
        Some(first.clone())
    );
    assert!(
        !store.put_factors(&first, 0).await.unwrap(),
        "already there"
    );

    let second = SecondFactors {
        totp: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
        ..factors(&user, 2)
    };
    assert!(
        !store.put_factors(&second, 5).await.unwrap(),
        "a stale revision"
    );
    assert_eq!(store.find_factors(&user).await.unwrap(), Some(first));
    assert!(store.put_factors(&second, 1).await.unwrap());
    assert_eq!(store.find_factors(&user).await.unwrap(), Some(second));

    let other = Id::generate(2);
    assert_eq!(
        store.find_factors(&other).await.unwrap(),
        None,
        "per account"
    );
    store.delete_factors(&user).await.unwrap();
    assert_eq!(store.find_factors(&user).await.unwrap(), None);
    store.delete_factors(&user).await.unwrap();
}

/// Of racing writes from one revision (two uses of one code), exactly one lands.
async fn racing_writes_from_one_revision_land_once(stores: Repositories) {
    let user = Id::generate(3);
    assert!(stores
        .factors
        .put_factors(&factors(&user, 1), 0)
        .await
        .unwrap());
    let writes: Vec<_> = (0..8)
        .map(|i| {
            let store = stores.factors.clone();
            let candidate = SecondFactors {
                recovery_codes: vec![SecretDigest(format!("{i:064}"))],
                ..factors(&user, 2)
            };
            tokio::spawn(async move { store.put_factors(&candidate, 1).await.unwrap() })
        })
        .collect();
    let mut landed = 0;
    for write in writes {
        if write.await.unwrap() {
            landed += 1;
        }
    }
    assert_eq!(landed, 1);
}

/// The cases of this module.
pub const CASES: &[Case] = &[
    case!(factors_round_trip_and_change_only_on_the_revision_read),
    case!(racing_writes_from_one_revision_land_once),
];
