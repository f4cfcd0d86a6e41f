//! How tokens are signed (§7): the algorithm, and the shared HS256 secret — configured, or
//! under HS256 in development generated once and kept in the data directory. HS256 in
//! production refuses to start without a strong one. The secret is never logged.

use std::io::Write;
use std::path::Path;

use keygate_crypto::OsSecrets;
use keygate_domain::signing::{SigningAlgorithm, UnknownAlgorithm};

use crate::config::{Environment, Settings};

/// The shortest secret production accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The file, inside `database.path`, that keeps a generated development secret.
const SECRET_FILE: &str = "jwt-secret";

/// Why no usable signing secret could be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Production without a secret, or any mode with one that is too short.
    #[error(
        "Keygate needs a signing secret of at least {MIN_SECRET_BYTES} bytes: set auth.jwt_secret \
         (KEYGATE__AUTH__JWT_SECRET, or JWT_SECRET_KEY / SECRET_KEY){0}"
    )]
    Weak(&'static str),
    /// The generated development secret could not be read or written.
    #[error("cannot keep the development signing secret in {path}: {source}")]
    Storage {
        /// The secret file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// `auth.signing.algorithm` names no algorithm Keygate signs with.
    #[error("invalid setting auth.signing.algorithm: {0}")]
    Algorithm(UnknownAlgorithm),
    /// The OS random generator failed.
    #[error("cannot generate a signing secret: {0}")]
    Random(String),
}

/// How access tokens are signed: the algorithm (§7) and the shared secret, if any.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSigning {
    /// What new tokens are signed with.
    pub algorithm: SigningAlgorithm,
    /// The shared HS256 secret: it signs under HS256; beside an asymmetric algorithm it only
    /// verifies tokens issued before the move.
    pub secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for TokenSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigning")
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The signing these settings call for: an explicit `auth.signing.algorithm` wins; otherwise
/// a configured shared secret means HS256 (compat 004) and no secret means EdDSA. HS256 needs
/// a strong secret (generated in development, required in production); a configured secret
/// must be strong whatever the algorithm.
pub fn token_signing(settings: &Settings) -> Result<TokenSigning, SecretError> {
    let configured = settings
        .auth
        .jwt_secret
        .as_deref()
        .filter(|s| !s.is_empty());
    let algorithm = match settings
        .auth
        .signing
        .algorithm
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(name) => name.parse().map_err(SecretError::Algorithm)?,
        None if configured.is_some() => SigningAlgorithm::HS256,
        None => SigningAlgorithm::EdDSA,
    };
    let secret = match configured {
        Some(secret) => Some(checked_secret(settings, secret)?),
        None if algorithm.is_asymmetric() => earlier_development_secret(&settings.database.path),
        None if settings.environment == Environment::Production => {
            return Err(SecretError::Weak(
                "; none is set and auth.signing.algorithm is HS256",
            ))
        }
        None => Some(development_secret(&settings.database.path)?),
    };
    Ok(TokenSigning { algorithm, secret })
}

/// A configured secret, if it is strong enough for these settings.
fn checked_secret(settings: &Settings, secret: &str) -> Result<Vec<u8>, SecretError> {
    if secret.len() >= MIN_SECRET_BYTES {
        return Ok(secret.as_bytes().to_vec());
    }
    if settings.environment == Environment::Production {
        return Err(SecretError::Weak("; the one set is too short"));
    }
    if !settings.auth.allow_weak_secret {
        return Err(SecretError::Weak(
            "; the one set is too short (auth.allow_weak_secret = true accepts it outside \
             production, for test rigs only)",
        ));
    }
    tracing::warn!(
        "WEAK SIGNING SECRET: the configured secret is shorter than {MIN_SECRET_BYTES} \
         bytes and accepted only because auth.allow_weak_secret is set; anyone who \
         guesses it can forge access tokens for every account"
    );
    Ok(secret.as_bytes().to_vec())
}

/// The secret an earlier development run generated, if one is kept: under an asymmetric
/// algorithm it only verifies the HS256 tokens that run issued, until they expire.
fn earlier_development_secret(directory: &Path) -> Option<Vec<u8>> {
    let path = directory.join(SECRET_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    // A copy restored from a backup may have come back readable by anyone.
    if let Err(e) = make_private(&path, 0o600) {
        tracing::warn!("cannot make {} owner-only: {e}", path.display());
    }
    let text = text.trim();
    (text.len() >= MIN_SECRET_BYTES).then(|| text.as_bytes().to_vec())
}

/// Sets `path`'s permission bits to `mode` (owner only); a no-op off Unix.
pub fn make_private(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

fn development_secret(directory: &Path) -> Result<Vec<u8>, SecretError> {
    let path = directory.join(SECRET_FILE);
    let storage = |source| SecretError::Storage {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= MIN_SECRET_BYTES => {
            // A copy restored from a backup may have come back readable by anyone.
            make_private(&path, 0o600).map_err(storage)?;
            tracing::info!(
                "using the development signing secret kept in {}",
                path.display()
            );
            return Ok(text.trim().as_bytes().to_vec());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(storage(e)),
    }
    let secret = OsSecrets::random_base62(64).map_err(|e| SecretError::Random(e.to_string()))?;
    std::fs::create_dir_all(directory).map_err(storage)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(storage)?;
    file.write_all(secret.as_bytes()).map_err(storage)?;
    tracing::info!(
        "no signing secret configured: generated one for development and kept it in {}",
        path.display()
    );
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::AuthSettings;

    fn settings(environment: &str, secret: Option<&str>, dir: &Path) -> Settings {
        let dir = dir.display().to_string();
        let vars = [
            ("KEYGATE__ENVIRONMENT", environment.to_owned()),
            ("KEYGATE__DATABASE__PATH", dir),
        ];
        Settings::load_from(Path::new("/nonexistent"), |name| match name {
            "KEYGATE__AUTH__JWT_SECRET" => secret.map(str::to_owned),
            _ => vars
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone()),
        })
        .unwrap()
    }

    fn secret_of(settings: &Settings) -> Result<Option<Vec<u8>>, SecretError> {
        token_signing(settings).map(|signing| signing.secret)
    }

    fn with_algorithm(mut settings: Settings, algorithm: &str) -> Settings {
        settings.auth.signing.algorithm = Some(algorithm.to_owned());
        settings
    }

    #[test]
    fn a_secret_means_hs256_and_none_means_eddsa_unless_the_algorithm_is_set() {
        let dir = tempfile_dir();
        let strong = "x".repeat(32);
        let with_secret = settings("production", Some(&strong), &dir);
        assert_eq!(
            token_signing(&with_secret).unwrap().algorithm,
            SigningAlgorithm::HS256
        );
        let without = settings("production", None, &dir);
        let signing = token_signing(&without).unwrap();
        assert_eq!(signing.algorithm, SigningAlgorithm::EdDSA);
        assert_eq!(signing.secret, None);
        let explicit = with_algorithm(settings("production", Some(&strong), &dir), "ES256");
        let signing = token_signing(&explicit).unwrap();
        assert_eq!(signing.algorithm, SigningAlgorithm::ES256);
        assert_eq!(signing.secret.as_deref(), Some(strong.as_bytes()));
        assert!(matches!(
            token_signing(&with_algorithm(settings("production", None, &dir), "HS512")),
            Err(SecretError::Algorithm(_))
        ));
    }

    #[test]
    fn production_refuses_hs256_without_a_secret_and_any_short_secret() {
        let dir = tempfile_dir();
        assert!(matches!(
            secret_of(&with_algorithm(settings("production", None, &dir), "HS256")),
            Err(SecretError::Weak(_))
        ));
        assert!(matches!(
            secret_of(&settings("production", Some("short"), &dir)),
            Err(SecretError::Weak(_))
        ));
        assert!(matches!(
            secret_of(&with_algorithm(
                settings("production", Some("short"), &dir),
                "EdDSA"
            )),
            Err(SecretError::Weak(_))
        ));
        let strong = "x".repeat(32);
        assert_eq!(
            secret_of(&settings("production", Some(&strong), &dir)).unwrap(),
            Some(strong.into_bytes())
        );
    }

    #[test]
    fn every_mode_refuses_a_short_secret_unless_explicitly_allowed() {
        let dir = tempfile_dir();
        for environment in ["development", "test"] {
            assert!(matches!(
                secret_of(&settings(environment, Some("changeme"), &dir)),
                Err(SecretError::Weak(_))
            ));
        }
        let allowed = Settings {
            auth: AuthSettings {
                allow_weak_secret: true,
                ..settings("development", Some("changeme"), &dir).auth
            },
            ..settings("development", Some("changeme"), &dir)
        };
        assert_eq!(secret_of(&allowed).unwrap(), Some(b"changeme".to_vec()));
    }

    #[test]
    fn development_hs256_generates_once_and_reuses_and_eddsa_keeps_verifying_with_it() {
        let dir = tempfile_dir();
        let hs256 = || with_algorithm(settings("development", None, &dir), "HS256");
        let first = secret_of(&hs256()).unwrap().unwrap();
        let second = secret_of(&hs256()).unwrap().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The deployment moves to EdDSA: the kept secret still verifies its old tokens.
        let moved = token_signing(&settings("development", None, &dir)).unwrap();
        assert_eq!(moved.algorithm, SigningAlgorithm::EdDSA);
        assert_eq!(moved.secret, Some(first));
        // A fresh EdDSA deployment generates no secret at all.
        let fresh = tempfile_dir();
        assert_eq!(
            secret_of(&settings("development", None, &fresh)).unwrap(),
            None
        );
        assert!(!fresh.join(SECRET_FILE).exists());
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "keygate-secret-test-{}",
            keygate_domain::Id::generate(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
