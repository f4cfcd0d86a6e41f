//! Conformance cases of the signing-key store.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::signing::{PrivateKeyDer, PublicJwk, SigningAlgorithm, SigningKey};

use crate::{case, Case, Repositories};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::seconds(secs)
}

fn key(generation: u64, kid: &str, algorithm: SigningAlgorithm) -> SigningKey {
    let public = match algorithm {
        SigningAlgorithm::RS256 => PublicJwk {
            kty: "RSA".into(),
            crv: None,
            x: None,
            y: None,
            n: Some("n-of-the-key".into()),
            e: Some("AQAB".into()),
        },
        SigningAlgorithm::ES256 => PublicJwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some("x-of-the-key".into()),
            y: Some("y-of-the-key".into()),
            n: None,
            e: None,
        },
        _ => PublicJwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some("x-of-the-key".into()),
            y: None,
            n: None,
            e: None,
        },
    };
    SigningKey {
        kid: kid.to_owned(),
        algorithm,
        generation,
        created_at: at(i64::try_from(generation).unwrap() * 100),
        signs_from: at(i64::try_from(generation).unwrap() * 100 + 900),
        public,
        // Every byte value, so no encoding on the way loses one.
        private_key: PrivateKeyDer((0..=255u8).chain([0, 0, 255]).collect()),
    }
}

/// Keys come back whole (private half byte for byte, times, public members), lowest
/// generation first whatever the order they were stored in.
async fn signing_keys_round_trip_in_generation_order(stores: Repositories) {
    let keys = &stores.signing_keys;
    assert!(keys.list_signing_keys().await.unwrap().is_empty());
    let second = key(2, "kid-two", SigningAlgorithm::RS256);
    let first = key(1, "kid-one", SigningAlgorithm::EdDSA);
    let third = key(3, "kid-three", SigningAlgorithm::ES256);
    for k in [&second, &first, &third] {
        assert!(keys.insert_signing_key(k).await.unwrap());
    }
    assert_eq!(
        keys.list_signing_keys().await.unwrap(),
        [first, second, third]
    );
}

/// A generation is stored once: the second of two instances adding it stores nothing.
async fn a_generation_is_stored_once(stores: Repositories) {
    let keys = &stores.signing_keys;
    let mine = key(1, "mine", SigningAlgorithm::EdDSA);
    let theirs = key(1, "theirs", SigningAlgorithm::EdDSA);
    let (a, b) = tokio::join!(
        keys.insert_signing_key(&mine),
        keys.insert_signing_key(&theirs)
    );
    assert_ne!(a.unwrap(), b.unwrap(), "exactly one insert wins");
    let stored = keys.list_signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(["mine", "theirs"].contains(&stored[0].kid.as_str()));
    assert!(!keys.insert_signing_key(&mine).await.unwrap());
}

/// Deleting removes one generation; deleting it again is a no-op.
async fn deleting_a_key_removes_only_it(stores: Repositories) {
    let keys = &stores.signing_keys;
    for generation in 1..=3 {
        let kid = format!("kid-{generation}");
        assert!(keys
            .insert_signing_key(&key(generation, &kid, SigningAlgorithm::EdDSA))
            .await
            .unwrap());
    }
    keys.delete_signing_key(1).await.unwrap();
    keys.delete_signing_key(1).await.unwrap();
    let left: Vec<u64> = keys
        .list_signing_keys()
        .await
        .unwrap()
        .iter()
        .map(|k| k.generation)
        .collect();
    assert_eq!(left, [2, 3]);
}

/// Every case of this module.
pub(crate) const CASES: &[Case] = &[
    case!(signing_keys_round_trip_in_generation_order),
    case!(a_generation_is_stored_once),
    case!(deleting_a_key_removes_only_it),
];
