//! Tokens, hashing, throttling and passkeys (`auth.*`).

use std::time::Duration;

use keygate_crypto::{HashingSettings, WebauthnConfig};
use keygate_domain::accounts::ThrottleLimits;
use keygate_domain::sessions::SessionSettings;
use keygate_domain::units;
use serde::Deserialize;

/// Tokens, hashing and throttling (`auth.*`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct AuthSettings {
    /// The shared HS256 secret (compat 004's `JWT_SECRET_KEY`). Configured without
    /// `signing.algorithm`, it means HS256; beside an asymmetric algorithm it still verifies
    /// HS256 tokens issued before the move, until they expire.
    #[serde(deserialize_with = "units::optional_text")]
    pub jwt_secret: Option<String>,
    /// How access tokens are signed and keys rotated (`auth.signing.*`, §7).
    pub signing: SigningConfig,
    /// A correct password of an account whose email is not verified gets
    /// `403 email_unverified` (§8).
    pub require_verified_email: bool,
    /// The bearer secret back-end services present to `POST /token/introspect`; without it
    /// the route answers 404.
    #[serde(deserialize_with = "units::optional_text")]
    pub introspection_token: Option<String>,
    /// Accept a signing secret shorter than 32 bytes (never do this outside a test rig).
    pub allow_weak_secret: bool,
    /// `iss` of access tokens.
    #[serde(deserialize_with = "units::text")]
    pub issuer: String,
    /// `aud` of access tokens.
    #[serde(deserialize_with = "units::text")]
    pub audience: String,
    /// `access_token_ttl_secs`, `session_ttl_secs` and `revocation_cache_ttl_secs`.
    #[serde(flatten)]
    pub sessions: SessionSettings,
    /// How often ended sessions and refresh tokens are purged from the store
    /// (`purge_interval_secs`, at least one second).
    #[serde(
        rename = "purge_interval_secs",
        deserialize_with = "units::std_seconds",
        serialize_with = "units::write_std_seconds"
    )]
    pub purge_interval: Duration,
    /// Argon2id cost (`auth.hashing.*`).
    pub hashing: HashingSettings,
    /// Failed-login throttling (`auth.throttle.*`).
    pub throttle: ThrottleLimits,
    /// Where passkeys are valid (`auth.webauthn.*`, §9).
    pub webauthn: WebauthnConfig,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            signing: SigningConfig::default(),
            require_verified_email: false,
            introspection_token: None,
            allow_weak_secret: false,
            issuer: "keygate".into(),
            audience: "keygate".into(),
            sessions: SessionSettings::default(),
            purge_interval: Duration::from_secs(3600),
            hashing: HashingSettings::default(),
            throttle: ThrottleLimits::default(),
            webauthn: WebauthnConfig::default(),
        }
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("signing", &self.signing)
            .field(
                "introspection_token",
                &self.introspection_token.as_ref().map(|_| "<redacted>"),
            )
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("sessions", &self.sessions)
            .field("hashing", &self.hashing)
            .field("throttle", &self.throttle)
            .field("webauthn", &self.webauthn)
            .finish_non_exhaustive()
    }
}

/// Access-token signing (`auth.signing.*`, §7).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct SigningConfig {
    /// `EdDSA`, `ES256`, `RS256` or `HS256`. Unset: HS256 when a shared secret is configured,
    /// EdDSA otherwise.
    #[serde(deserialize_with = "units::optional_text")]
    pub algorithm: Option<String>,
    /// Days a key signs before the next one takes over; 0: only `keygate keys rotate`.
    pub rotation_days: u32,
    /// Seconds a new key is published before it signs.
    pub publish_ahead_secs: u32,
    /// How often each instance re-reads the keys every instance shares (`refresh_secs`,
    /// at least one second): a rotation elsewhere is seen within this.
    #[serde(
        rename = "refresh_secs",
        deserialize_with = "units::std_seconds",
        serialize_with = "units::write_std_seconds"
    )]
    pub refresh: Duration,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            algorithm: None,
            rotation_days: 30,
            publish_ahead_secs: 900,
            refresh: Duration::from_secs(30),
        }
    }
}
