//! Typed settings, loaded once at start-up in layers: built-in defaults (each section type's
//! `Default`, filled in by serde for every key no layer sets), `config/default.toml`,
//! `config/{environment}.toml`, the earlier systems' environment variables, then
//! `KEYGATE__SECTION__KEY` variables (highest).

use std::path::PathBuf;

use std::time::Duration;

use config::{Config, Environment as EnvSource, File};
use keygate_crypto::HashingSettings;
use keygate_domain::accounts::ThrottleLimits;
use keygate_domain::apis::records::RecordServiceSettings;
use keygate_domain::email_flows::EmailFlowSettings;
use keygate_domain::mail::MailSettings;
use keygate_domain::mfa::MfaSettings;
use keygate_domain::sessions::SessionSettings;
use keygate_domain::settings::{units, LimitSettings};
use keygate_domain::signing::{SigningAlgorithm, SigningSettings};
use keygate_domain::KeygateSettings;
use keygate_jsonschema::ValidationLimits;
use serde::Deserialize;

/// Where the configuration files live unless `KEYGATE_CONFIG_DIR` says otherwise.
const DEFAULT_CONFIG_DIR: &str = "config";

/// The deployment kind: decides which config file applies and how strict start-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
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
}

/// Mail (`email.*`, §8).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    /// `smtp://…` or `smtps://…`; unset: messages become `.eml` files in
    /// `<database.path>/outbox/`.
    #[serde(deserialize_with = "units::optional_text")]
    pub smtp_url: Option<String>,
    /// The SMTP user, if not in the URL.
    #[serde(deserialize_with = "units::optional_text")]
    pub smtp_username: Option<String>,
    /// The SMTP password, if not in the URL.
    #[serde(deserialize_with = "units::optional_text")]
    pub smtp_password: Option<String>,
    /// The sender, `Name <address>` or an address.
    #[serde(deserialize_with = "units::text")]
    pub from: String,
    /// A directory of templates replacing the built-in ones (`<kind>.subject|txt|html`).
    pub templates_dir: Option<PathBuf>,
    /// Delivery tries before a message is given up.
    pub max_attempts: u32,
    /// The longest one SMTP delivery may take (`timeout_secs`).
    #[serde(rename = "timeout_secs", deserialize_with = "units::std_seconds")]
    pub timeout: Duration,
    /// How often the outbox is looked at (`poll_interval_ms`).
    #[serde(rename = "poll_interval_ms", deserialize_with = "units::std_millis")]
    pub poll_interval: Duration,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_username: None,
            smtp_password: None,
            from: "Keygate <noreply@keygate.localhost>".into(),
            templates_dir: None,
            max_attempts: 10,
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(1000),
        }
    }
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("from", &self.from)
            .field("templates_dir", &self.templates_dir)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
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
        }
    }
}

/// `GET /docs` (`docs.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DocsSettings {
    /// Whether the interactive docs page is served (404 otherwise). `/openapi.json` stays.
    pub enabled: bool,
}

impl Default for DocsSettings {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `GET /metrics` (`metrics.*`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// Whether `/metrics` answers at all (404 otherwise).
    pub enabled: bool,
    /// When set, `/metrics` asks for `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set (`host:port`), `/metrics` is served there only, and the API listener answers
    /// it with 404: scrapers reach it on an internal address, the internet never does.
    pub listen: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
            listen: None,
        }
    }
}

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("enabled", &self.enabled)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("listen", &self.listen)
            .finish()
    }
}

/// How log lines are written (`log.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `pretty`, `json`, or `auto`: pretty on a terminal, JSON otherwise.
    pub format: LogFormat,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty when standard output is a terminal, JSON otherwise.
    #[default]
    Auto,
    /// Human-readable lines (coloured only on a terminal).
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Bounds on the work one record request may cause (`records.*`): the schema adapter's
/// validation limits and the record service's list bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RecordsSettings {
    /// `validation_budget_ms` and `validation_concurrency`.
    #[serde(flatten)]
    pub validation: ValidationLimits,
    /// `max_page_bytes` and `max_scan`.
    #[serde(flatten)]
    pub lists: RecordServiceSettings,
}

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one (the log says which).
    pub port: u16,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// HTTP worker threads; `None` uses one per core.
    pub workers: Option<usize>,
    /// Proxies (addresses or CIDRs) whose `Forwarded` / `X-Forwarded-For` name the client;
    /// empty: forwarding headers are ignored. A TOML list, or one comma-separated string.
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
    /// How long a client may take to send a request's head, and then its body
    /// (`body_timeout_secs`, at least one second).
    #[serde(rename = "body_timeout_secs", deserialize_with = "units::std_seconds")]
    pub body_timeout: Duration,
    /// Open connections per HTTP worker; more wait in the listen backlog.
    #[serde(deserialize_with = "units::at_least_one")]
    pub max_connections: usize,
    /// After SIGTERM or SIGINT, how long requests in flight may take to finish, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Browser origins (`https://app.example.com`) allowed to call Keygate with CORS; empty:
    /// no CORS headers at all. A TOML list, or one comma-separated string.
    #[serde(deserialize_with = "list_or_commas")]
    pub cors_origins: Vec<String>,
    /// The address users reach Keygate (or its front end) at; links in mail are built on it.
    /// Unset: `http://<host>:<port>`.
    #[serde(deserialize_with = "units::optional_text")]
    pub public_url: Option<String>,
}

impl ServerSettings {
    /// `public_url`, or this listener's own address.
    pub fn public_url(&self) -> String {
        self.public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map_or_else(
                || format!("http://{}:{}", self.host, self.port),
                |url| url.trim_end_matches('/').to_owned(),
            )
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            max_body_bytes: 1024 * 1024,
            workers: None,
            trusted_proxies: Vec::new(),
            body_timeout: Duration::from_secs(30),
            max_connections: 25_000,
            shutdown_timeout_secs: 30,
            cors_origins: Vec::new(),
            public_url: None,
        }
    }
}

/// A list from a TOML array, or from one comma-separated string (an environment variable).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<String>),
        Text(String),
    }
    Ok(match ListOrText::deserialize(deserializer)? {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Which store to use and where.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// A `mongodb://` or `mongodb+srv://` URL; none means the embedded store.
    pub url: Option<String>,
    /// Directory of the embedded store (and of a generated development secret).
    pub path: PathBuf,
    /// Database name on MongoDB.
    pub name: String,
    /// The longest one MongoDB operation may take before the request gets 503
    /// (`timeout_ms`, at least one millisecond).
    #[serde(rename = "timeout_ms", deserialize_with = "units::std_millis")]
    pub timeout: Duration,
}

impl DatabaseSettings {
    /// The MongoDB URL, if one is set (an empty one is none): `None` means the embedded store.
    pub fn mongodb_url(&self) -> Option<&str> {
        self.url.as_deref().filter(|url| !url.is_empty())
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            path: PathBuf::from("./data"),
            name: "keygate".into(),
            timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A database URL may carry a password.
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("path", &self.path)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Tokens, hashing and throttling (`auth.*`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
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
        deserialize_with = "units::std_seconds"
    )]
    pub purge_interval: Duration,
    /// Argon2id cost (`auth.hashing.*`).
    pub hashing: HashingSettings,
    /// Failed-login throttling (`auth.throttle.*`).
    pub throttle: ThrottleLimits,
    /// Where passkeys are valid (`auth.webauthn.*`, §9).
    pub webauthn: WebauthnConfig,
}

/// The WebAuthn relying party (`auth.webauthn.*`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WebauthnConfig {
    /// The relying party id: the registrable domain passkeys belong to (`example.com`).
    /// Unset: the host of `origin`.
    #[serde(deserialize_with = "units::optional_text")]
    pub rp_id: Option<String>,
    /// The origin the pages calling WebAuthn are served from (`https://example.com`).
    /// Unset: `server.public_url`.
    #[serde(deserialize_with = "units::optional_text")]
    pub origin: Option<String>,
    /// The name authenticators show.
    #[serde(deserialize_with = "units::text")]
    pub rp_name: String,
}

impl Default for WebauthnConfig {
    fn default() -> Self {
        Self {
            rp_id: None,
            origin: None,
            rp_name: "Keygate".into(),
        }
    }
}

impl Settings {
    /// The relying party passkeys are checked against: `auth.webauthn.*`, with the origin
    /// defaulting to `server.public_url` and the id to the origin's host (`localhost` for an
    /// IP address, in the origin too).
    pub fn webauthn(&self) -> keygate_crypto::WebauthnSettings {
        let configured = &self.auth.webauthn;
        let origin = configured
            .origin
            .clone()
            .unwrap_or_else(|| self.server.public_url());
        let host = origin
            .split_once("://")
            .map_or(origin.as_str(), |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        let host = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        // An IP address is no relying party id: a server on an address of its own (as `make
        // run` is) serves passkeys to pages on `localhost` at its port.
        let on_ip = host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok();
        let (rp_id, origin) = match (&configured.rp_id, on_ip && configured.origin.is_none()) {
            (Some(rp_id), _) => (rp_id.clone(), origin),
            (None, true) => (
                "localhost".to_owned(),
                origin.replacen(host, "localhost", 1),
            ),
            (None, false) => (host.to_owned(), origin.clone()),
        };
        keygate_crypto::WebauthnSettings {
            rp_id,
            origin,
            rp_name: configured.rp_name.clone(),
        }
    }
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
    #[serde(rename = "refresh_secs", deserialize_with = "units::std_seconds")]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Settings {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(std::path::Path::new("/nonexistent"), |name| {
            vars.get(name).cloned()
        })
        .unwrap()
    }

    #[test]
    fn the_relying_party_follows_the_public_address_unless_set() {
        let local = load(&[]).webauthn();
        assert_eq!(local.rp_id, "localhost");
        assert_eq!(local.origin, "http://localhost:8080");
        let mut public = load(&[]);
        public.server.public_url = Some("https://auth.example.com/".into());
        let public = public.webauthn();
        assert_eq!(public.rp_id, "auth.example.com");
        assert_eq!(public.origin, "https://auth.example.com");
        let mut set = load(&[]);
        set.auth.webauthn.rp_id = Some("example.com".into());
        set.auth.webauthn.origin = Some("https://app.example.com".into());
        let set = set.webauthn();
        assert_eq!(set.rp_id, "example.com");
        assert_eq!(set.origin, "https://app.example.com");
        assert!(keygate_crypto::WebauthnPasskeys::new(&set).is_ok());
        assert!(keygate_crypto::WebauthnPasskeys::new(&local).is_ok());
    }

    #[test]
    fn defaults_match_the_contract() {
        let settings = load(&[]);
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.server.host, "127.0.0.1");
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.server.max_body_bytes, 1024 * 1024);
        assert_eq!(settings.database.url, None);
        assert_eq!(settings.database.path, PathBuf::from("./data"));
        assert_eq!(settings.database.name, "keygate");
        assert_eq!(
            settings.auth.sessions.access_token_ttl,
            chrono::Duration::seconds(900)
        );
        assert_eq!(settings.auth.hashing.memory_kib, 19456);
        assert_eq!(settings.auth.throttle.account_failures, 10);
        assert_eq!(settings.auth.throttle.address_failures, 100);
        assert_eq!(settings.auth.throttle.registrations_per_address, 30);
        assert_eq!(settings.auth.throttle.registrations_window_secs, 3600);
        assert_eq!(settings.auth.hashing.max_waiting, 64);
        assert!(settings.server.trusted_proxies.is_empty());
        assert_eq!(settings.server.body_timeout, Duration::from_secs(30));
        assert!(!settings.auth.allow_weak_secret);
    }

    /// `config/default.toml` documents the defaults by writing each one out: it must say
    /// exactly what the code does when no file sets anything.
    #[test]
    fn default_toml_parses_to_exactly_the_built_in_defaults() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
        let from_file: Settings = Config::builder()
            .add_source(File::from(path))
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        assert_eq!(from_file, Settings::default());
        assert_eq!(load(&[]), Settings::default());
    }

    /// The test profile changes only what it says it changes.
    #[test]
    fn a_key_left_out_keeps_its_default_and_zero_counts_read_as_one() {
        let dir = tempfile_dir().join("partial");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            "[auth.hashing]\nmemory_kib = 64\n[records]\nmax_scan = 0\nvalidation_concurrency = 3\n\
             [limits]\nmax_apis_per_account = 7\n[auth]\nrevocation_cache_ttl_secs = 999999\n",
        )
        .unwrap();
        let settings = Settings::load_from(&dir, |_| None).unwrap();
        let defaults = Settings::default();
        assert_eq!(settings.auth.hashing.memory_kib, 64);
        assert_eq!(
            settings.auth.hashing.iterations,
            defaults.auth.hashing.iterations
        );
        assert_eq!(settings.records.lists.max_scan, 1);
        assert_eq!(settings.records.validation.concurrency, 3);
        assert_eq!(
            settings.records.validation.budget,
            defaults.records.validation.budget
        );
        assert_eq!(settings.limits.usage.max_apis, 7);
        assert_eq!(
            settings.limits.usage.max_bytes,
            defaults.limits.usage.max_bytes
        );
        assert_eq!(
            settings.auth.sessions.liveness_cache_ttl,
            chrono::Duration::days(1)
        );
        assert_eq!(
            settings.auth.sessions.session_ttl,
            defaults.auth.sessions.session_ttl
        );
    }

    /// `auth` embeds the session settings, so its text keys are read without the configuration
    /// library's conversions: a numeric issuer from the environment must still be text.
    #[test]
    fn text_settings_of_the_auth_section_accept_numbers_from_the_environment() {
        let settings: Settings = Config::builder()
            .set_override("auth.issuer", 2024)
            .unwrap()
            .set_override("auth.audience", true)
            .unwrap()
            .set_override("auth.jwt_secret", 12_345_678_901_i64)
            .unwrap()
            .set_override("auth.session_ttl_secs", 60)
            .unwrap()
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        assert_eq!(settings.auth.issuer, "2024");
        assert_eq!(settings.auth.audience, "true");
        assert_eq!(settings.auth.jwt_secret.as_deref(), Some("12345678901"));
        assert_eq!(
            settings.auth.sessions.session_ttl,
            chrono::Duration::seconds(60)
        );
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_a_comma_separated_variable() {
        let dir = tempfile_dir();
        std::fs::write(
            dir.join("default.toml"),
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
        )
        .unwrap();
        let from_file = Settings::load_from(&dir, |_| None).unwrap();
        assert_eq!(from_file.server.trusted_proxies, ["10.0.0.0/8", "::1"]);
        let from_text = load(&[]);
        assert!(from_text.server.trusted_proxies.is_empty());
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("keygate-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn earlier_systems_variables_feed_their_settings() {
        let settings = load(&[
            ("PORT", "9000"),
            ("MONGO_URI", "mongodb://db/"),
            ("SECRET_KEY", "from-secret-key"),
        ]);
        assert_eq!(settings.server.port, 9000);
        assert_eq!(settings.database.url.as_deref(), Some("mongodb://db/"));
        assert_eq!(settings.auth.jwt_secret.as_deref(), Some("from-secret-key"));
    }

    #[test]
    fn keygate_variables_beat_the_aliases() {
        let settings = load(&[
            ("PORT", "9000"),
            ("KEYGATE__SERVER__PORT", "9100"),
            ("JWT_SECRET_KEY", "alias"),
            ("KEYGATE__AUTH__JWT_SECRET", "own"),
            ("MONGODB_URI", "mongodb://first/"),
            ("DATABASE_URI", "mongodb://last/"),
        ]);
        assert_eq!(settings.server.port, 9100);
        assert_eq!(settings.auth.jwt_secret.as_deref(), Some("own"));
        assert_eq!(settings.database.url.as_deref(), Some("mongodb://first/"));
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let settings = load(&[
            ("KEYGATE__AUTH__JWT_SECRET", "super-secret-value"),
            ("MONGODB_URI", "mongodb://user:hunter2@db/"),
        ]);
        let shown = format!("{settings:?}");
        assert!(!shown.contains("super-secret-value"));
        assert!(!shown.contains("hunter2"));
    }
}
