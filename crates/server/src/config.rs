//! Typed settings, loaded once at start-up in layers: built-in defaults (each section type's
//! `Default`, filled in by serde for every key no layer sets), `config/default.toml`,
//! `config/{environment}.toml`, the earlier systems' environment variables, then
//! `KEYGATE__SECTION__KEY` variables (highest).

use std::path::PathBuf;

use config::{Config, Environment as EnvSource, File};
use keygate_domain::email_flows::EmailFlowSettings;
use keygate_domain::mail::MailSettings;
use keygate_domain::mfa::MfaSettings;
use keygate_domain::settings::LimitSettings;
use keygate_domain::signing::{SigningAlgorithm, SigningSettings};
use keygate_domain::KeygateSettings;
use serde::Deserialize;

mod auth;
mod database;
mod email;
mod observability;
mod records;
mod server;
#[cfg(test)]
mod tests;

pub use auth::{AuthSettings, SigningConfig};
pub use database::DatabaseSettings;
pub use email::EmailSettings;
pub use observability::{DocsSettings, LogFormat, LogSettings, MetricsSettings};
pub use records::RecordsSettings;
pub use server::ServerSettings;
/// Where the configuration files live unless `KEYGATE_CONFIG_DIR` says otherwise.
const DEFAULT_CONFIG_DIR: &str = "config";

/// The deployment kind: decides which config file applies and how strict start-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine: a signing secret is generated if none is configured.
    #[default]
    Development,
    /// The test suite: like development, with cheap hashing from `config/test.toml`.
    Test,
    /// A real deployment: refuses to start without a strong signing secret.
    Production,
}

impl Environment {
    /// The name of its config file (without extension).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

/// Every setting of the server. Each section deserialises with its own `Default` for every
/// key left out: the built-in defaults are written once, in the `Default` of the type each
/// section is (the domain's, crypto's and the schema adapter's own for theirs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct Settings {
    /// Which kind of deployment this is.
    pub environment: Environment,
    /// The HTTP listener.
    pub server: ServerSettings,
    /// Which store to use and where.
    pub database: DatabaseSettings,
    /// Tokens, hashing and throttling.
    pub auth: AuthSettings,
    /// Per-account storage quotas.
    pub limits: LimitSettings,
    /// Record validation and lists.
    pub records: RecordsSettings,
    /// Log output.
    pub log: LogSettings,
    /// `GET /metrics`.
    pub metrics: MetricsSettings,
    /// `GET /docs`.
    pub docs: DocsSettings,
    /// Mail (§8).
    pub email: EmailSettings,
    /// The audit log (§13).
    pub audit: keygate_domain::audit::AuditSettings,
}
impl Settings {
    /// What the domain's services are configured with, signing with `algorithm` (resolved
    /// from these settings by [`crate::secret::token_signing`]).
    pub fn domain(&self, algorithm: SigningAlgorithm) -> KeygateSettings {
        let signing = &self.auth.signing;
        KeygateSettings {
            sessions: self.auth.sessions,
            throttle: self.auth.throttle,
            limits: self.limits,
            records: self.records.lists,
            signing: SigningSettings {
                algorithm,
                rotation: (signing.rotation_days > 0)
                    .then(|| chrono::Duration::days(i64::from(signing.rotation_days))),
                publish_ahead: chrono::Duration::seconds(i64::from(signing.publish_ahead_secs)),
            },
            email_flows: EmailFlowSettings {
                public_url: self.server.public_url(),
                require_verified_email: self.auth.require_verified_email,
            },
            mail: MailSettings::for_delivery(self.email.max_attempts, self.email.timeout),
            mfa: MfaSettings {
                issuer: self.auth.issuer.clone(),
            },
            audit: self.audit,
        }
    }
}

impl Settings {
    /// The relying party passkeys are checked against: `auth.webauthn.*`, with the origin
    /// defaulting to `server.public_url`.
    pub fn webauthn(&self) -> keygate_crypto::WebauthnSettings {
        self.auth.webauthn.resolve(&self.server.public_url())
    }
}

/// Environment variables of the earlier systems, and the setting each one feeds. The first
/// one set wins; a `KEYGATE__…` variable for the same setting beats them all.
const ALIASES: &[(&str, &[&str])] = &[
    ("server.port", &["PORT"]),
    (
        "database.url",
        &["MONGODB_URI", "MONGO_URI", "DATABASE_URI"],
    ),
    ("auth.jwt_secret", &["JWT_SECRET_KEY", "SECRET_KEY"]),
];

/// A setting whose value Keygate cannot use, found when the server is built.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {problem}")]
pub struct InvalidSetting {
    /// Which setting.
    pub setting: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file or variable could not be read or has the wrong type.
    #[error("{0}")]
    Invalid(#[from] config::ConfigError),
}

impl Settings {
    /// Loads settings from `KEYGATE_CONFIG_DIR` (default `./config`) and the environment.
    pub fn load() -> Result<Self, SettingsError> {
        let dir = std::env::var("KEYGATE_CONFIG_DIR").unwrap_or_else(|_| DEFAULT_CONFIG_DIR.into());
        Self::load_from(&PathBuf::from(dir), |name| std::env::var(name).ok())
    }

    /// Loads settings from `dir`, reading variables through `var` (so tests need not touch the
    /// process environment).
    pub fn load_from(
        dir: &std::path::Path,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let environment = var("KEYGATE__ENVIRONMENT").unwrap_or_else(|| "development".into());
        let mut builder = Config::builder()
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{environment}.toml"))).required(false));
        let mut overrides: Vec<(String, String)> = Vec::new();
        for (key, names) in ALIASES {
            let own = format!("KEYGATE__{}", key.replace('.', "__").to_uppercase());
            if var(&own).is_some() {
                continue;
            }
            if let Some(value) = names
                .iter()
                .find_map(|name| var(name).filter(|v| !v.is_empty()))
            {
                overrides.push(((*key).to_owned(), value));
            }
        }
        let keygate_vars: Vec<(String, String)> = KEYGATE_VARIABLES
            .iter()
            .filter_map(|(name, key)| var(name).map(|value| ((*key).to_owned(), value)))
            .collect();
        for (key, value) in overrides.into_iter().chain(keygate_vars) {
            builder = builder.set_override(key, value)?;
        }
        // Any other KEYGATE__ variable, read straight from the process environment.
        builder = builder.add_source(
            EnvSource::with_prefix("KEYGATE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        Ok(builder.build()?.try_deserialize()?)
    }
}

/// The variables every deployment touches, read through the injectable `var` so that their
/// precedence over the aliases is testable. Other `KEYGATE__` variables still apply.
const KEYGATE_VARIABLES: &[(&str, &str)] = &[
    ("KEYGATE__ENVIRONMENT", "environment"),
    ("KEYGATE__SERVER__HOST", "server.host"),
    ("KEYGATE__SERVER__PORT", "server.port"),
    ("KEYGATE__DATABASE__URL", "database.url"),
    ("KEYGATE__DATABASE__PATH", "database.path"),
    ("KEYGATE__DATABASE__NAME", "database.name"),
    ("KEYGATE__AUTH__JWT_SECRET", "auth.jwt_secret"),
];
