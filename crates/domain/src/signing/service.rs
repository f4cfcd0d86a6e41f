//! Keeping this instance's keys in step with the store: making keys when the rules say so,
//! handing them to the token adapter, and what the JWKS publishes.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};

use super::model::{PublicJwk, SigningAlgorithm, SigningKey};
use super::ports::{SigningKeyGenerator, SigningKeyRepository, TokenKeyInstaller};
use super::rotation::{InstalledKey, KeySchedule, PlannedKey};
use crate::audit::{Action, Actor, AuditTrail};
use crate::clock::Clock;
use crate::error::Result;

/// What `auth.signing.*` configures, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningSettings {
    /// What access tokens are signed with.
    pub algorithm: SigningAlgorithm,
    /// How long a key signs before the next is due (`rotation_days`; `None` for 0: never).
    pub rotation: Option<Duration>,
    /// How long a new key is published before it signs (`publish_ahead_secs`).
    pub publish_ahead: Duration,
}

impl Default for SigningSettings {
    /// EdDSA, a new key every 30 days, published 15 minutes before it signs.
    fn default() -> Self {
        Self {
            algorithm: SigningAlgorithm::EdDSA,
            rotation: Some(Duration::days(30)),
            publish_ahead: Duration::seconds(900),
        }
    }
}

/// One key of the JWKS: public parts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// `kid`.
    pub kid: String,
    /// `alg`.
    pub algorithm: SigningAlgorithm,
    /// The key's public members.
    pub public: PublicJwk,
    /// When it leaves the set, if it is retiring.
    pub gone_at: Option<DateTime<Utc>>,
}

/// The public keys this instance knows, as last refreshed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishedKeys {
    keys: Vec<PublishedKey>,
}

impl PublishedKeys {
    /// The keys published at `now`: every key that may have signed a live token, and the next.
    pub fn at(&self, now: DateTime<Utc>) -> impl Iterator<Item = &PublishedKey> {
        self.keys
            .iter()
            .filter(move |key| key.gone_at.is_none_or(|gone| now < gone))
    }
}

/// What `keygate keys rotate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// A new key was made: published now, signing from `signs_from`.
    Created {
        /// Its `kid`.
        kid: String,
        /// When it starts signing.
        signs_from: DateTime<Utc>,
    },
    /// A next key was already published and waiting; nothing was made.
    AlreadyWaiting {
        /// Its `kid`.
        kid: String,
        /// When it starts signing.
        signs_from: DateTime<Utc>,
    },
    /// Tokens are signed with the shared secret (HS256): there are no keys to rotate.
    SharedSecret,
}

/// Makes, publishes and retires signing keys by the rules of §7.
pub struct SigningKeyService {
    store: Arc<dyn SigningKeyRepository>,
    generator: Arc<dyn SigningKeyGenerator>,
    installer: Arc<dyn TokenKeyInstaller>,
    clock: Arc<dyn Clock>,
    schedule: KeySchedule,
    published: RwLock<Arc<PublishedKeys>>,
    audit: Arc<AuditTrail>,
}

impl SigningKeyService {
    /// The service over `store`, making keys with `generator` and handing them to `installer`;
    /// `token_lifetime` is the access tokens' (a retired key stays published that long); each
    /// new key is recorded in `audit` as `signing_key.rotated`.
    pub fn new(
        store: Arc<dyn SigningKeyRepository>,
        (generator, installer): (Arc<dyn SigningKeyGenerator>, Arc<dyn TokenKeyInstaller>),
        clock: Arc<dyn Clock>,
        settings: SigningSettings,
        token_lifetime: Duration,
        audit: Arc<AuditTrail>,
    ) -> Self {
        Self {
            store,
            generator,
            installer,
            clock,
            schedule: KeySchedule {
                algorithm: settings.algorithm,
                rotation: settings.rotation,
                publish_ahead: settings.publish_ahead,
                token_lifetime,
            },
            published: RwLock::default(),
            audit,
        }
    }

    /// Records that the newest of `keys` was made, by the schedule or by `keygate keys rotate`.
    async fn rotated(&self, keys: &[SigningKey], scheduled: bool) -> Result<()> {
        let Some(newest) = keys.last() else {
            return Ok(());
        };
        self.audit
            .record(
                self.audit
                    .event(Action::SigningKeyRotated, Actor::operator())
                    .target("signing_key", &newest.kid)
                    .detail("signs_from", newest.signs_from.to_rfc3339())
                    .detail("scheduled", scheduled),
            )
            .await
    }

    /// The algorithm tokens are signed with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.schedule.algorithm
    }

    /// Reads the keys every instance shares, makes the one the rules call for (the first, or
    /// the next by schedule), drops keys long gone, and installs the rest. Run at start-up
    /// and then periodically: this is how a rotation on one instance reaches the others.
    pub async fn refresh(&self) -> Result<()> {
        let now = self.clock.now();
        let mut keys = self.store.list_signing_keys().await?;
        if let Some(plan) = self.schedule.due(&keys, now) {
            let created = self.make(plan, now).await?;
            keys = self.store.list_signing_keys().await?;
            if created {
                self.rotated(&keys, true).await?;
            }
        }
        for generation in self.schedule.disposable(&keys, now) {
            self.store.delete_signing_key(generation).await?;
        }
        self.install(&keys, now)
    }

    /// Makes the next key now (`keygate keys rotate`), published `publish_ahead` before it
    /// signs, unless one is already waiting.
    pub async fn rotate(&self) -> Result<RotationOutcome> {
        if !self.schedule.algorithm.is_asymmetric() {
            return Ok(RotationOutcome::SharedSecret);
        }
        let now = self.clock.now();
        let keys = self.store.list_signing_keys().await?;
        let created = match self.schedule.rotate(&keys, now) {
            Some(plan) => self.make(plan, now).await?,
            None => false,
        };
        let keys = self.store.list_signing_keys().await?;
        self.install(&keys, now)?;
        if created {
            self.rotated(&keys, false).await?;
        }
        let newest = keys
            .last()
            .ok_or_else(|| crate::Error::Internal("no signing key after a rotation".to_owned()))?;
        let (kid, signs_from) = (newest.kid.clone(), newest.signs_from);
        Ok(if created {
            RotationOutcome::Created { kid, signs_from }
        } else {
            RotationOutcome::AlreadyWaiting { kid, signs_from }
        })
    }

    /// The public keys as last refreshed.
    pub fn published(&self) -> Arc<PublishedKeys> {
        match self.published.read() {
            Ok(published) => published.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Generates and stores the planned key; false when another instance stored its
    /// generation first (that key is used instead).
    async fn make(&self, plan: PlannedKey, now: DateTime<Utc>) -> Result<bool> {
        let material = self.generator.generate(self.schedule.algorithm)?;
        let key = SigningKey::new(
            material,
            self.schedule.algorithm,
            plan.generation,
            now,
            plan.signs_from,
        );
        self.store.insert_signing_key(&key).await
    }

    fn install(&self, keys: &[SigningKey], now: DateTime<Utc>) -> Result<()> {
        let installed: Vec<InstalledKey> = if self.schedule.algorithm.is_asymmetric() {
            self.schedule.installed(keys, now)
        } else {
            Vec::new()
        };
        self.installer.install(&installed)?;
        let published = Arc::new(PublishedKeys {
            keys: installed
                .into_iter()
                .map(|installed| PublishedKey {
                    kid: installed.key.kid,
                    algorithm: installed.key.algorithm,
                    public: installed.key.public,
                    gone_at: installed.gone_at,
                })
                .collect(),
        });
        match self.published.write() {
            Ok(mut slot) => *slot = published,
            Err(poisoned) => *poisoned.into_inner() = published,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
