//! Argon2id password hashing in PHC strings, off the async workers.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use keygate_domain::accounts::Password;
use keygate_domain::security::{PasswordCheck, PasswordHasher};
use keygate_domain::{Error, Result};
use tokio::sync::Semaphore;

/// Argon2id cost parameters and how many hashes may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingSettings {
    /// Memory per hash in KiB (OWASP: 19 456, i.e. 19 MiB).
    pub memory_kib: u32,
    /// Passes over memory (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
    /// Hashes allowed to run at the same time; the rest wait, so a login storm cannot take
    /// every thread of the blocking pool.
    pub max_concurrent: usize,
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// The Argon2id adapter of the [`PasswordHasher`] port.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl Argon2Hasher {
    /// A hasher with these settings; fails if the parameters are out of Argon2's range.
    pub fn new(settings: HashingSettings) -> Result<Self> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| Error::Internal(format!("invalid Argon2 parameters: {e}")))?;
        let dummy_hash = hash_blocking(&params, "keygate dummy password for unknown accounts")?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// How many hashing jobs are waiting for a permit right now (for metrics).
    pub fn available_permits(&self) -> usize {
        self.permits.available_permits()
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(Params) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("hashing pool closed".into()))?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || job(params))
            .await
            .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))?
    }
}

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(params: &Params, password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
}

fn verify_blocking(params: &Params, password: &str, phc: &str) -> Result<PasswordCheck> {
    let parsed = PasswordHash::new(phc)
        .map_err(|e| Error::Internal(format!("stored password hash is unreadable: {e}")))?;
    // The PHC string carries its own algorithm and parameters; verification honours them.
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = Params::try_from(&parsed).ok();
    let outdated = parsed.algorithm.as_str() != "argon2id"
        || parsed.version != Some(Version::V0x13.into())
        || current.is_none_or(|p| {
            p.m_cost() != params.m_cost()
                || p.t_cost() != params.t_cost()
                || p.p_cost() != params.p_cost()
        });
    Ok(PasswordCheck {
        matches,
        needs_rehash: matches && outdated,
    })
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<String> {
        let password = password.expose().to_owned();
        self.run(move |params| hash_blocking(&params, &password))
            .await
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<PasswordCheck> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move |params| verify_blocking(&params, &password, &hash))
            .await
    }

    async fn verify_dummy(&self, password: &str) -> Result<()> {
        let (password, hash) = (password.to_owned(), self.dummy_hash.clone());
        self.run(move |params| verify_blocking(&params, &password, &hash).map(|_| ()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HashingSettings {
        HashingSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        }
    }

    fn password(text: &str) -> Password {
        Password::new(text, "password").expect("valid password")
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_phc_strings_that_verify() {
        let hasher = Argon2Hasher::new(cheap()).expect("hasher");
        let first = hasher.hash(&password("correct horse")).await.expect("hash");
        let second = hasher.hash(&password("correct horse")).await.expect("hash");
        assert!(first.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        let good = hasher
            .verify("correct horse", &first)
            .await
            .expect("verify");
        assert_eq!(
            good,
            PasswordCheck {
                matches: true,
                needs_rehash: false
            }
        );
        let bad = hasher.verify("wrong horse", &first).await.expect("verify");
        assert!(!bad.matches);
    }

    #[tokio::test]
    async fn owasp_defaults_are_the_default() {
        let defaults = HashingSettings::default();
        assert_eq!(
            (
                defaults.memory_kib,
                defaults.iterations,
                defaults.parallelism
            ),
            (19456, 2, 1)
        );
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_are_flagged_for_upgrade() {
        let old = Argon2Hasher::new(cheap()).expect("hasher");
        let hash = old.hash(&password("correct horse")).await.expect("hash");
        let stronger = Argon2Hasher::new(HashingSettings {
            memory_kib: 128,
            ..cheap()
        })
        .expect("hasher");
        let check = stronger
            .verify("correct horse", &hash)
            .await
            .expect("verify");
        assert_eq!(
            check,
            PasswordCheck {
                matches: true,
                needs_rehash: true
            }
        );
        let wrong = stronger.verify("wrong horse", &hash).await.expect("verify");
        assert_eq!(
            wrong,
            PasswordCheck {
                matches: false,
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn unreadable_hash_is_an_internal_error_and_dummy_verification_works() {
        let hasher = Argon2Hasher::new(cheap()).expect("hasher");
        assert!(matches!(
            hasher.verify("x", "not a phc string").await,
            Err(Error::Internal(_))
        ));
        hasher
            .verify_dummy("anything")
            .await
            .expect("dummy verification");
    }
}
