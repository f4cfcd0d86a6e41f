//! Loading, layering and the defaults `config/default.toml` documents.

#![allow(clippy::unwrap_used)]
use super::*;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use config::FileFormat;
use serde_json::Value;

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
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    let from_file: Settings = Config::builder()
        .add_source(File::from(path))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap();
    assert_eq!(from_file, Settings::default());
    assert_eq!(load(&[]), Settings::default());
}

/// Every key path under `value`'s tables, dotted (`auth.signing.rotation_days`).
fn key_paths(prefix: &str, value: &Value, paths: &mut BTreeSet<String>) {
    match value {
        Value::Object(table) => {
            for (key, inner) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                key_paths(&path, inner, paths);
            }
        }
        _ => {
            paths.insert(prefix.to_owned());
        }
    }
}

/// `config/default.toml` with its documented-but-unset keys (`# token = "..."`) written in:
/// a key whose default is "unset" or "one per core" is shown commented out.
fn default_toml_with_commented_keys() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let uncommented = line.strip_prefix("# ").unwrap_or(line);
            let is_key = uncommented.split_once(" = ").is_some_and(|(key, _)| {
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            });
            if is_key {
                uncommented
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A new setting is its field with its default and its line in `config/default.toml`: the
/// file names exactly the keys the types have (set, or commented out when unset by default).
#[test]
fn default_toml_names_exactly_the_keys_the_settings_have() {
    let mut in_types = BTreeSet::new();
    key_paths(
        "",
        &serde_json::to_value(Settings::default()).unwrap(),
        &mut in_types,
    );
    let in_file: Value = Config::builder()
        .add_source(File::from_str(
            &default_toml_with_commented_keys(),
            FileFormat::Toml,
        ))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap();
    let mut in_toml = BTreeSet::new();
    key_paths("", &in_file, &mut in_toml);
    let missing: Vec<_> = in_types.difference(&in_toml).collect();
    let unknown: Vec<_> = in_toml.difference(&in_types).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "config/default.toml lacks {missing:?} and names unknown keys {unknown:?}"
    );
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
