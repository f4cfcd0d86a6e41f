//! Why the server could not start.

use crate::config::InvalidSetting;
use crate::secret::SecretError;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `database.url` names a store Keygate cannot use.
    #[error("{0}")]
    UnsupportedDatabase(String),
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(keygate_domain::Error),
    /// No usable signing secret.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A setting has a value Keygate cannot use.
    #[error(transparent)]
    Setting(#[from] InvalidSetting),
    /// The signing keys could not be read or made.
    #[error("cannot load the signing keys: {0}")]
    SigningKeys(keygate_domain::Error),
    /// Invalid hashing parameters.
    #[error("invalid auth.hashing settings: {0}")]
    Hashing(keygate_domain::Error),
    /// The WebAuthn relying party (`auth.webauthn.*`) is unusable.
    #[error("{0}")]
    Webauthn(String),
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// host:port asked for.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
}
