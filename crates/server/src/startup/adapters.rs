//! Which adapter serves each port: the store the settings name (timed for `/metrics`), the
//! crypto, schema and mail adapters, handed to the one composition root, [`Keygate::new`].

use std::sync::Arc;

use keygate_crypto::{Argon2Hasher, JwtSettings, JwtTokens, OsKeyGenerator, OsSecrets};
use keygate_domain::{CryptoPorts, Keygate, MailPorts, Repositories, Store, SystemClock};
use keygate_embedded::EmbeddedStore;
use keygate_jsonschema::JsonSchemaValidator;
use keygate_mongo::{MongoSettings, MongoStore};

use super::error::StartupError;
use crate::config::Settings;
use crate::secret::token_signing;
use crate::store_metrics::{MeasuredStore, StoreMetrics};

/// Every port of `store`, each call timed into `metrics` when there are any.
fn measured<S: Store>(store: Arc<S>, metrics: Option<&Arc<StoreMetrics>>) -> Repositories {
    match metrics {
        Some(metrics) => Repositories::of(Arc::new(MeasuredStore::new(store, metrics.clone()))),
        None => Repositories::of(store),
    }
}

/// Keygate's services over `store`, with the crypto and schema adapters the settings call for;
/// also the hashing pool, whose queue `/metrics` reads.
pub fn build_keygate(
    store: Repositories,
    settings: &Settings,
) -> Result<(Keygate, Argon2Hasher), StartupError> {
    let signing = token_signing(settings)?;
    let jwt = Arc::new(JwtTokens::new(&JwtSettings {
        algorithm: signing.algorithm,
        secret: signing.secret,
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
        access_token_ttl: settings.auth.sessions.access_token_ttl,
    }));
    let hasher = Argon2Hasher::new(settings.auth.hashing).map_err(StartupError::Hashing)?;
    let crypto = CryptoPorts {
        hasher: Arc::new(hasher.clone()),
        issuer: jwt.clone(),
        verifier: jwt.clone(),
        secrets: Arc::new(OsSecrets),
        key_generator: Arc::new(OsKeyGenerator),
        key_installer: jwt,
        otp: Arc::new(keygate_crypto::OsOtp),
        passkeys: Arc::new(relying_party(settings)?),
        legacy_hashes: Arc::new(keygate_crypto::LegacyHashes::new(&settings.auth.hashing)),
    };
    let schemas = Arc::new(JsonSchemaValidator::new(settings.records.validation));
    let keygate = Keygate::new(
        store,
        crypto,
        schemas,
        Arc::new(SystemClock),
        settings.domain(signing.algorithm),
        mail_ports(settings)?,
    );
    Ok((keygate, hasher))
}

/// The passkey relying party of `auth.webauthn.*`. Values set there must work; when neither
/// is set and the listener's address cannot be one (an IP address is no relying party id),
/// passkeys work for `http://localhost` only, and the log says how to set them.
fn relying_party(settings: &Settings) -> Result<keygate_crypto::WebauthnPasskeys, StartupError> {
    let webauthn = settings.webauthn();
    match keygate_crypto::WebauthnPasskeys::new(&webauthn) {
        Ok(passkeys) => Ok(passkeys),
        Err(why)
            if settings.auth.webauthn.rp_id.is_none()
                && settings.auth.webauthn.origin.is_none() =>
        {
            tracing::warn!(
                "passkeys: {why}; set auth.webauthn.rp_id and auth.webauthn.origin (until then \
                 they work for http://localhost only)"
            );
            keygate_crypto::WebauthnPasskeys::new(&keygate_crypto::WebauthnSettings {
                rp_id: "localhost".into(),
                origin: "http://localhost".into(),
                rp_name: webauthn.rp_name,
            })
            .map_err(StartupError::Webauthn)
        }
        Err(why) => Err(StartupError::Webauthn(why)),
    }
}

/// The store the settings name, seen through every port (timed for `/metrics` when it is on),
/// and how to describe it in the log.
pub async fn open_store(
    settings: &Settings,
    metrics: Option<&Arc<StoreMetrics>>,
) -> Result<(Repositories, String), StartupError> {
    match settings.database.mongodb_url() {
        None => {
            let store = Arc::new(
                EmbeddedStore::open(&settings.database.path).map_err(StartupError::Store)?,
            );
            let description = format!("embedded store in {}", settings.database.path.display());
            Ok((measured(store, metrics), description))
        }
        Some(url) if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") => {
            let store = MongoStore::connect(&MongoSettings {
                url: url.to_owned(),
                database: settings.database.name.clone(),
                operation_timeout: settings.database.timeout,
            })
            .await
            .map_err(StartupError::Store)?;
            let description = format!("MongoDB database '{}'", settings.database.name);
            let store = Arc::new(store);
            // Several instances may share the database: their throttles count there (§12).
            let repositories = measured(store.clone(), metrics).sharing_throttles(store);
            Ok((repositories, description))
        }
        Some(url) => Err(StartupError::UnsupportedDatabase(unsupported_database(url))),
    }
}

/// Why `url` names no store Keygate can use, naming only its scheme: the rest of a URL may
/// hold a password.
fn unsupported_database(url: &str) -> String {
    let scheme = url
        .split("://")
        .next()
        .filter(|s| s.len() < url.len())
        .unwrap_or("unknown");
    format!(
        "database.url is a '{scheme}' URL, which Keygate cannot use: give a mongodb:// or \
         mongodb+srv:// URL for MongoDB, or leave database.url (and DATABASE_URI, MONGODB_URI, \
         MONGO_URI) unset for the embedded store"
    )
}

/// What mail needs: the sender and the templates (§8).
fn mail_ports(settings: &Settings) -> Result<MailPorts, StartupError> {
    let (mailer, templates) = crate::mailer::mailer(settings)?;
    Ok(MailPorts { mailer, templates })
}
