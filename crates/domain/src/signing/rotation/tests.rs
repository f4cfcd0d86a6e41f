use chrono::TimeZone;

use super::*;
use crate::signing::model::{PrivateKeyDer, PublicJwk};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .expect("valid time")
}

fn key(generation: u64, algorithm: SigningAlgorithm, signs_from: i64) -> SigningKey {
    SigningKey {
        kid: format!("k{generation}"),
        algorithm,
        generation,
        created_at: at(signs_from - 900),
        signs_from: at(signs_from),
        public: PublicJwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some("x".into()),
            y: None,
            n: None,
            e: None,
        },
        private_key: PrivateKeyDer(vec![1, 2, 3]),
    }
}

/// EdDSA, rotation every 30 days, 900 s ahead, 15-minute tokens.
fn schedule() -> KeySchedule {
    KeySchedule {
        algorithm: SigningAlgorithm::EdDSA,
        rotation: Some(Duration::days(30)),
        publish_ahead: Duration::seconds(900),
        token_lifetime: Duration::seconds(900),
    }
}

const DAY: i64 = 24 * 3600;

#[test]
fn the_first_key_signs_at_once() {
    assert_eq!(
        schedule().due(&[], at(0)),
        Some(PlannedKey {
            generation: 1,
            signs_from: at(0)
        })
    );
}

#[test]
fn nothing_is_due_before_the_rotation_time_comes_near() {
    let keys = [key(1, SigningAlgorithm::EdDSA, 0)];
    assert_eq!(schedule().due(&keys, at(30 * DAY - 901)), None);
}

#[test]
fn the_next_key_is_published_ahead_and_signs_when_rotation_is_due() {
    let keys = [key(1, SigningAlgorithm::EdDSA, 0)];
    assert_eq!(
        schedule().due(&keys, at(30 * DAY - 900)),
        Some(PlannedKey {
            generation: 2,
            signs_from: at(30 * DAY)
        })
    );
    // Found late (every instance was down): still published a full publish_ahead first.
    assert_eq!(
        schedule().due(&keys, at(40 * DAY)),
        Some(PlannedKey {
            generation: 2,
            signs_from: at(40 * DAY + 900)
        })
    );
}

#[test]
fn a_waiting_key_is_not_made_twice() {
    let keys = [
        key(1, SigningAlgorithm::EdDSA, 0),
        key(2, SigningAlgorithm::EdDSA, 30 * DAY),
    ];
    assert_eq!(schedule().due(&keys, at(30 * DAY - 100)), None);
    assert_eq!(schedule().rotate(&keys, at(30 * DAY - 100)), None);
}

#[test]
fn no_schedule_means_rotation_only_by_hand() {
    let never = KeySchedule {
        rotation: None,
        ..schedule()
    };
    let keys = [key(1, SigningAlgorithm::EdDSA, 0)];
    assert_eq!(never.due(&keys, at(1000 * DAY)), None);
    assert_eq!(
        never.rotate(&keys, at(5)),
        Some(PlannedKey {
            generation: 2,
            signs_from: at(905)
        })
    );
}

#[test]
fn a_changed_algorithm_gets_a_key_published_ahead_of_signing() {
    let es256 = KeySchedule {
        algorithm: SigningAlgorithm::ES256,
        ..schedule()
    };
    let keys = [key(1, SigningAlgorithm::EdDSA, 0)];
    assert_eq!(
        es256.due(&keys, at(10)),
        Some(PlannedKey {
            generation: 2,
            signs_from: at(910)
        })
    );
}

#[test]
fn hs256_makes_no_keys() {
    let hs256 = KeySchedule {
        algorithm: SigningAlgorithm::HS256,
        ..schedule()
    };
    assert_eq!(hs256.due(&[], at(0)), None);
    assert_eq!(hs256.rotate(&[], at(0)), None);
}

#[test]
fn a_retired_key_stays_published_until_its_last_token_expired() {
    let keys = [
        key(1, SigningAlgorithm::EdDSA, 0),
        key(2, SigningAlgorithm::EdDSA, 1000),
    ];
    let published = |now| {
        schedule()
            .installed(&keys, at(now))
            .into_iter()
            .map(|k| k.key.generation)
            .collect::<Vec<_>>()
    };
    assert_eq!(published(0), [1, 2]);
    // Tokens of key 1 live 900 s after it retires at 1000; 60 s slack for clocks.
    assert_eq!(published(1000 + 959), [1, 2]);
    assert_eq!(published(1000 + 960), [2]);

    let installed = schedule().installed(&keys, at(500));
    assert!(installed[0].signs_at(at(500)));
    assert!(!installed[1].signs_at(at(500)));
    assert!(installed[1].signs_at(at(1000)));
    assert!(!installed[0].signs_at(at(1000)));
}

#[test]
fn keys_gone_for_a_day_are_disposable() {
    let keys = [
        key(1, SigningAlgorithm::EdDSA, 0),
        key(2, SigningAlgorithm::EdDSA, 1000),
    ];
    let gone = 1000 + 960;
    assert!(schedule().disposable(&keys, at(gone + DAY - 1)).is_empty());
    assert_eq!(schedule().disposable(&keys, at(gone + DAY)), [1]);
}
