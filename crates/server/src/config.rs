//! Typed settings, loaded once at start-up in layers: built-in defaults, `config/default.toml`,
//! `config/{environment}.toml`, the earlier systems' environment variables, then
//! `KEYGATE__SECTION__KEY` variables (highest).

use std::path::PathBuf;

use config::{Config, Environment as EnvSource, File};
use keygate_crypto::HashingSettings;
use keygate_domain::accounts::ThrottleLimits;
use serde::Deserialize;

/// Where the configuration files live unless `KEYGATE_CONFIG_DIR` says otherwise.
const DEFAULT_CONFIG_DIR: &str = "config";

/// The deployment kind: decides which config file applies and how strict start-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine: a signing secret is generated if none is configured.
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

/// Every setting of the server.
#[derive(Debug, Clone, Deserialize)]
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
    pub limits: LimitsSettings,
    /// Record validation and lists.
    pub records: RecordsSettings,
    /// Log output.
    pub log: LogSettings,
    /// `GET /metrics`.
    pub metrics: MetricsSettings,
    /// `GET /docs`.
    pub docs: DocsSettings,
}

/// `GET /docs` (`docs.*`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct DocsSettings {
    /// Whether the interactive docs page is served (404 otherwise). `/openapi.json` stays.
    pub enabled: bool,
}

/// `GET /metrics` (`metrics.*`).
#[derive(Clone, Deserialize)]
pub struct MetricsSettings {
    /// Whether `/metrics` answers at all (404 otherwise).
    pub enabled: bool,
    /// When set, `/metrics` asks for `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set (`host:port`), `/metrics` is served there only, and the API listener answers
    /// it with 404: scrapers reach it on an internal address, the internet never does.
    pub listen: Option<String>,
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
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct LogSettings {
    /// `pretty`, `json`, or `auto`: pretty on a terminal, JSON otherwise.
    pub format: LogFormat,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty when standard output is a terminal, JSON otherwise.
    Auto,
    /// Human-readable lines (coloured only on a terminal).
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Per-account storage quotas (`limits.*`): data entries and records together.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct LimitsSettings {
    /// Data entries plus records one account may hold.
    pub max_entries_per_account: u64,
    /// Bytes (compact JSON) those and the account's API definitions may take together.
    pub max_bytes_per_account: u64,
    /// APIs one account may have.
    pub max_apis_per_account: u64,
    /// Keys one API may have, revoked ones included (they stay listed until the API goes).
    pub max_keys_per_api: usize,
}

/// Bounds on the work one record request may cause (`records.*`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RecordsSettings {
    /// The longest one record may take to validate against its schema, waiting included;
    /// past it the write gets 400.
    pub validation_budget_ms: u64,
    /// Records validated at once; `None` uses one per core.
    pub validation_concurrency: Option<usize>,
    /// The most bytes of records one list page carries; past it the page ends early.
    pub max_page_bytes: usize,
    /// The most records one filtered list examines where no index serves it.
    pub max_scan: usize,
}

/// The HTTP listener.
#[derive(Debug, Clone, Deserialize)]
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
    /// How long a client may take to send a request's head, and then its body, in seconds.
    pub body_timeout_secs: u64,
    /// Open connections per HTTP worker; more wait in the listen backlog.
    pub max_connections: usize,
    /// After SIGTERM or SIGINT, how long requests in flight may take to finish, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Browser origins (`https://app.example.com`) allowed to call Keygate with CORS; empty:
    /// no CORS headers at all. A TOML list, or one comma-separated string.
    #[serde(deserialize_with = "list_or_commas")]
    pub cors_origins: Vec<String>,
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
#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    /// A `mongodb://` or `mongodb+srv://` URL; none means the embedded store.
    pub url: Option<String>,
    /// Directory of the embedded store (and of a generated development secret).
    pub path: PathBuf,
    /// Database name on MongoDB.
    pub name: String,
    /// The longest one MongoDB operation may take before the request gets 503, in ms.
    pub timeout_ms: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A database URL may carry a password.
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("path", &self.path)
            .field("name", &self.name)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// Tokens, hashing and throttling.
#[derive(Clone, Deserialize)]
pub struct AuthSettings {
    /// The HS256 signing secret; generated in development when absent.
    pub jwt_secret: Option<String>,
    /// Accept a signing secret shorter than 32 bytes (never do this outside a test rig).
    pub allow_weak_secret: bool,
    /// `iss` of access tokens.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime in seconds.
    pub access_token_ttl_secs: i64,
    /// Session (refresh-token family) lifetime in seconds.
    pub session_ttl_secs: i64,
    /// How long another instance may take to notice a revocation, in seconds.
    pub revocation_cache_ttl_secs: u64,
    /// How often ended sessions and refresh tokens are purged from the store, in seconds.
    pub purge_interval_secs: u64,
    /// Argon2id cost.
    pub hashing: HashingConfig,
    /// Failed-login throttling.
    pub throttle: ThrottleConfig,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("hashing", &self.hashing)
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

/// Argon2id cost parameters (`auth.hashing.*`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct HashingConfig {
    /// Memory per hash in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashes running at once; `None` means one per core.
    pub max_concurrent: Option<usize>,
    /// Hashes that may wait for a hashing thread; beyond it, 503 with `Retry-After`.
    pub max_waiting: usize,
}

impl From<HashingConfig> for HashingSettings {
    fn from(config: HashingConfig) -> Self {
        let defaults = HashingSettings::default();
        Self {
            memory_kib: config.memory_kib,
            iterations: config.iterations,
            parallelism: config.parallelism,
            max_concurrent: config.max_concurrent.unwrap_or(defaults.max_concurrent),
            max_waiting: config.max_waiting,
        }
    }
}

/// Failed-login throttling (`auth.throttle.*`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ThrottleConfig {
    /// Failures on one account before it is throttled.
    pub account_failures: u32,
    /// Account window in seconds.
    pub account_window_secs: u64,
    /// Failures from one address before it is throttled.
    pub address_failures: u32,
    /// Address window in seconds.
    pub address_window_secs: u64,
    /// Registrations from one address per window.
    pub registrations_per_address: u32,
    /// Registration window in seconds.
    pub registrations_window_secs: u64,
}

impl From<ThrottleConfig> for ThrottleLimits {
    fn from(config: ThrottleConfig) -> Self {
        Self {
            account_failures: config.account_failures,
            account_window_secs: config.account_window_secs,
            address_failures: config.address_failures,
            address_window_secs: config.address_window_secs,
            registrations_per_address: config.registrations_per_address,
            registrations_window_secs: config.registrations_window_secs,
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
            .set_default("environment", "development")?
            .set_default("server.host", "127.0.0.1")?
            .set_default("server.port", 8080)?
            .set_default("server.max_body_bytes", 1024 * 1024)?
            .set_default("server.trusted_proxies", Vec::<String>::new())?
            .set_default("server.body_timeout_secs", 30)?
            .set_default("server.max_connections", 25_000)?
            .set_default("server.shutdown_timeout_secs", 30)?
            .set_default("server.cors_origins", Vec::<String>::new())?
            .set_default("log.format", "auto")?
            .set_default("metrics.enabled", true)?
            .set_default("docs.enabled", true)?
            .set_default("auth.allow_weak_secret", false)?
            .set_default("limits.max_entries_per_account", 100_000)?
            .set_default("limits.max_bytes_per_account", 256 * 1024 * 1024)?
            .set_default("limits.max_apis_per_account", 100)?
            .set_default("limits.max_keys_per_api", 1_000)?
            .set_default("records.validation_budget_ms", 2000)?
            .set_default("records.max_page_bytes", 4 * 1024 * 1024)?
            .set_default("records.max_scan", 10_000)?
            .set_default("database.path", "./data")?
            .set_default("database.name", "keygate")?
            .set_default("database.timeout_ms", 5000)?
            .set_default("auth.issuer", "keygate")?
            .set_default("auth.audience", "keygate")?
            .set_default("auth.access_token_ttl_secs", 900)?
            .set_default("auth.session_ttl_secs", 30 * 24 * 3600)?
            .set_default("auth.revocation_cache_ttl_secs", 2)?
            .set_default("auth.purge_interval_secs", 3600)?
            .set_default("auth.hashing.memory_kib", 19 * 1024)?
            .set_default("auth.hashing.iterations", 2)?
            .set_default("auth.hashing.parallelism", 1)?
            .set_default("auth.throttle.account_failures", 10)?
            .set_default("auth.throttle.account_window_secs", 15 * 60)?
            .set_default("auth.throttle.address_failures", 100)?
            .set_default("auth.throttle.address_window_secs", 5 * 60)?
            .set_default("auth.throttle.registrations_per_address", 30)?
            .set_default("auth.throttle.registrations_window_secs", 3600)?
            .set_default("auth.hashing.max_waiting", 64)?
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
    fn defaults_match_the_contract() {
        let settings = load(&[]);
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.server.host, "127.0.0.1");
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.server.max_body_bytes, 1024 * 1024);
        assert_eq!(settings.database.url, None);
        assert_eq!(settings.database.path, PathBuf::from("./data"));
        assert_eq!(settings.database.name, "keygate");
        assert_eq!(settings.auth.access_token_ttl_secs, 900);
        assert_eq!(settings.auth.hashing.memory_kib, 19456);
        assert_eq!(settings.auth.throttle.account_failures, 10);
        assert_eq!(settings.auth.throttle.address_failures, 100);
        assert_eq!(settings.auth.throttle.registrations_per_address, 30);
        assert_eq!(settings.auth.throttle.registrations_window_secs, 3600);
        assert_eq!(settings.auth.hashing.max_waiting, 64);
        assert!(settings.server.trusted_proxies.is_empty());
        assert_eq!(settings.server.body_timeout_secs, 30);
        assert!(!settings.auth.allow_weak_secret);
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
