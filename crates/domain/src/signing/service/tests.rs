use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::signing::model::{KeyMaterial, PrivateKeyDer};
use crate::test_support::{fixed_clock, now};

/// One database shared by several instances.
#[derive(Default)]
struct SharedStore {
    keys: Mutex<Vec<SigningKey>>,
}

#[async_trait]
impl SigningKeyRepository for SharedStore {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        Ok(self.keys.lock().expect("lock").clone())
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<bool> {
        let mut keys = self.keys.lock().expect("lock");
        if keys.iter().any(|k| k.generation == key.generation) {
            return Ok(false);
        }
        keys.push(key.clone());
        keys.sort_by_key(|k| k.generation);
        Ok(true)
    }

    async fn delete_signing_key(&self, generation: u64) -> Result<()> {
        self.keys
            .lock()
            .expect("lock")
            .retain(|k| k.generation != generation);
        Ok(())
    }
}

#[derive(Default)]
struct CountingGenerator {
    made: AtomicU64,
}

impl SigningKeyGenerator for CountingGenerator {
    fn generate(&self, _: SigningAlgorithm) -> Result<KeyMaterial> {
        let n = self.made.fetch_add(1, Ordering::SeqCst);
        Ok(KeyMaterial {
            kid: format!("kid-{n}"),
            private_key: PrivateKeyDer(vec![n as u8]),
            public: PublicJwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(format!("x{n}")),
                y: None,
                n: None,
                e: None,
            },
        })
    }
}

#[derive(Default)]
struct RecordingInstaller {
    installed: Mutex<Vec<String>>,
}

impl TokenKeyInstaller for RecordingInstaller {
    fn install(&self, keys: &[InstalledKey]) -> Result<()> {
        *self.installed.lock().expect("lock") = keys.iter().map(|k| k.key.kid.clone()).collect();
        Ok(())
    }
}

fn settings(algorithm: SigningAlgorithm) -> SigningSettings {
    SigningSettings {
        algorithm,
        rotation: Some(Duration::days(30)),
        publish_ahead: Duration::seconds(900),
    }
}

fn instance(
    store: Arc<SharedStore>,
    algorithm: SigningAlgorithm,
) -> (SigningKeyService, Arc<RecordingInstaller>) {
    let installer = Arc::new(RecordingInstaller::default());
    let service = SigningKeyService::new(
        store,
        (Arc::new(CountingGenerator::default()), installer.clone()),
        Arc::new(fixed_clock()),
        settings(algorithm),
        Duration::seconds(900),
        crate::test_support::audit_trail().0,
    );
    (service, installer)
}

fn published_kids(service: &SigningKeyService) -> Vec<String> {
    service
        .published()
        .at(now())
        .map(|k| k.kid.clone())
        .collect()
}

#[tokio::test]
async fn the_first_refresh_makes_installs_and_publishes_one_key() {
    let store = Arc::new(SharedStore::default());
    let (service, installer) = instance(store.clone(), SigningAlgorithm::EdDSA);
    service.refresh().await.expect("refreshed");
    assert_eq!(store.keys.lock().expect("lock").len(), 1);
    assert_eq!(*installer.installed.lock().expect("lock"), ["kid-0"]);
    assert_eq!(published_kids(&service), ["kid-0"]);
    // Nothing more is due.
    service.refresh().await.expect("refreshed");
    assert_eq!(store.keys.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn two_instances_rotating_at_once_end_with_one_new_key() {
    let store = Arc::new(SharedStore::default());
    let (a, _) = instance(store.clone(), SigningAlgorithm::EdDSA);
    let (b, _) = instance(store.clone(), SigningAlgorithm::EdDSA);
    a.refresh().await.expect("refreshed");
    let (first, second) = tokio::join!(a.rotate(), b.rotate());
    let outcomes = [first.expect("rotated"), second.expect("rotated")];
    assert_eq!(store.keys.lock().expect("lock").len(), 2, "{outcomes:?}");
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, RotationOutcome::Created { .. }))
        .count();
    assert!(created <= 1, "{outcomes:?}");
    // Both report the one waiting key, published ahead.
    for outcome in &outcomes {
        match outcome {
            RotationOutcome::Created { signs_from, .. }
            | RotationOutcome::AlreadyWaiting { signs_from, .. } => {
                assert_eq!(*signs_from, now() + Duration::seconds(900));
            }
            RotationOutcome::SharedSecret => panic!("EdDSA has keys"),
        }
    }
    b.refresh().await.expect("refreshed");
    assert_eq!(published_kids(&b).len(), 2);
}

#[tokio::test]
async fn a_racing_refresh_uses_the_key_the_other_instance_stored() {
    let store = Arc::new(SharedStore::default());
    let (a, a_keys) = instance(store.clone(), SigningAlgorithm::EdDSA);
    let (b, b_keys) = instance(store.clone(), SigningAlgorithm::EdDSA);
    let (ra, rb) = tokio::join!(a.refresh(), b.refresh());
    ra.expect("refreshed");
    rb.expect("refreshed");
    let stored = store.keys.lock().expect("lock").clone();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        *a_keys.installed.lock().expect("lock"),
        [stored[0].kid.clone()]
    );
    assert_eq!(
        *b_keys.installed.lock().expect("lock"),
        [stored[0].kid.clone()]
    );
}

#[tokio::test]
async fn hs256_makes_nothing_and_publishes_nothing() {
    let store = Arc::new(SharedStore::default());
    let (service, installer) = instance(store.clone(), SigningAlgorithm::HS256);
    service.refresh().await.expect("refreshed");
    assert!(store.keys.lock().expect("lock").is_empty());
    assert!(installer.installed.lock().expect("lock").is_empty());
    assert!(published_kids(&service).is_empty());
    assert_eq!(
        service.rotate().await.expect("answered"),
        RotationOutcome::SharedSecret
    );
}
