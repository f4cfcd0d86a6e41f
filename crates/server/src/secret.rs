//! The JWT signing secret: configured, or in development generated once and kept in the data
//! directory. Production refuses to start without a strong one. The secret is never logged.

use std::io::Write;
use std::path::Path;

use keygate_crypto::OsSecrets;

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
    /// The OS random generator failed.
    #[error("cannot generate a signing secret: {0}")]
    Random(String),
}

/// The signing secret these settings call for.
pub fn signing_secret(settings: &Settings) -> Result<Vec<u8>, SecretError> {
    let configured = settings
        .auth
        .jwt_secret
        .as_deref()
        .filter(|s| !s.is_empty());
    match (settings.environment, configured) {
        (Environment::Production, None) => Err(SecretError::Weak("; none is set")),
        (Environment::Production, Some(secret)) if secret.len() < MIN_SECRET_BYTES => {
            Err(SecretError::Weak("; the one set is too short"))
        }
        (_, Some(secret))
            if secret.len() < MIN_SECRET_BYTES && !settings.auth.allow_weak_secret =>
        {
            Err(SecretError::Weak(
                "; the one set is too short (auth.allow_weak_secret = true accepts it outside \
                 production, for test rigs only)",
            ))
        }
        (_, Some(secret)) => {
            if secret.len() < MIN_SECRET_BYTES {
                tracing::warn!(
                    "WEAK SIGNING SECRET: the configured secret is shorter than {MIN_SECRET_BYTES} \
                     bytes and accepted only because auth.allow_weak_secret is set; anyone who \
                     guesses it can forge access tokens for every account"
                );
            }
            Ok(secret.as_bytes().to_vec())
        }
        (_, None) => development_secret(&settings.database.path),
    }
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

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        let dir = tempfile_dir();
        assert!(matches!(
            signing_secret(&settings("production", None, &dir)),
            Err(SecretError::Weak(_))
        ));
        assert!(matches!(
            signing_secret(&settings("production", Some("short"), &dir)),
            Err(SecretError::Weak(_))
        ));
        let strong = "x".repeat(32);
        assert_eq!(
            signing_secret(&settings("production", Some(&strong), &dir)).unwrap(),
            strong.as_bytes()
        );
    }

    #[test]
    fn every_mode_refuses_a_short_secret_unless_explicitly_allowed() {
        let dir = tempfile_dir();
        for environment in ["development", "test"] {
            assert!(matches!(
                signing_secret(&settings(environment, Some("changeme"), &dir)),
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
        assert_eq!(signing_secret(&allowed).unwrap(), b"changeme");
    }

    #[test]
    fn development_generates_once_and_reuses() {
        let dir = tempfile_dir();
        let first = signing_secret(&settings("development", None, &dir)).unwrap();
        let second = signing_secret(&settings("development", None, &dir)).unwrap();
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
