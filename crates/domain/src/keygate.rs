//! The composition root: every service of Keygate built in the right order from one store's
//! repositories, the crypto adapters, a schema validator, a clock and the settings. The HTTP
//! server, the operator commands and any program embedding Keygate's rules start here.

use std::sync::Arc;

use crate::accounts::{AccountService, LoginThrottle};
use crate::apis::records::RecordService;
use crate::apis::{ApiPorts, ApiService, ApiServices, ApiSettings};
use crate::clock::Clock;
use crate::crypto::{PasswordHasher, SecretGenerator, TokenIssuer, TokenVerifier};
use crate::data::DataService;
use crate::schema::SchemaValidator;
use crate::sessions::{Authenticator, SessionService};
use crate::settings::KeygateSettings;
use crate::store::Repositories;
use crate::usage::Quota;

/// What Keygate's crypto adapters provide (`keygate-crypto` implements every one).
#[derive(Clone)]
pub struct CryptoPorts {
    /// Hashes and checks passwords.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Signs access tokens.
    pub issuer: Arc<dyn TokenIssuer>,
    /// Checks access tokens.
    pub verifier: Arc<dyn TokenVerifier>,
    /// Makes refresh-token and API-key secrets, and their digests.
    pub secrets: Arc<dyn SecretGenerator>,
}

/// Every service of Keygate, wired.
pub struct Keygate {
    /// Accounts: register, log in, profiles, passwords, deletion.
    pub accounts: AccountService,
    /// Checks access tokens (what every authenticated request needs).
    pub authenticator: Arc<Authenticator>,
    /// Refresh and logout.
    pub sessions: Arc<SessionService>,
    /// Private key-value data.
    pub data: Arc<DataService>,
    /// User-defined APIs and their keys.
    pub apis: Arc<ApiService>,
    /// Records of those APIs.
    pub records: Arc<RecordService>,
    /// Failed-login throttling (its refusals are a metric).
    pub throttle: Arc<LoginThrottle>,
}

impl Keygate {
    /// Builds every service over `repositories`.
    pub fn new(
        repositories: Repositories,
        crypto: CryptoPorts,
        schemas: Arc<dyn SchemaValidator>,
        clock: Arc<dyn Clock>,
        settings: KeygateSettings,
    ) -> Self {
        let authenticator = Arc::new(Authenticator::new(
            repositories.sessions.clone(),
            crypto.verifier,
            clock.clone(),
            settings.sessions,
        ));
        let sessions = Arc::new(SessionService::new(
            authenticator.clone(),
            crypto.issuer,
            crypto.secrets.clone(),
        ));
        let quota = Quota::new(repositories.usage.clone(), settings.limits.usage);
        let data = Arc::new(DataService::new(
            repositories.data.clone(),
            clock.clone(),
            quota.clone(),
        ));
        let ApiServices { apis, records } = ApiServices::new(
            ApiPorts {
                apis: repositories.apis.clone(),
                keys: repositories.api_keys.clone(),
                records: repositories.records.clone(),
                schemas,
                secrets: crypto.secrets,
                clock: clock.clone(),
                quota: quota.clone(),
            },
            ApiSettings {
                revocation_cache_ttl: settings.sessions.liveness_cache_ttl,
                max_keys_per_api: settings.limits.max_keys_per_api,
                records: settings.records,
            },
        );
        let throttle = Arc::new(LoginThrottle::new(settings.throttle));
        let accounts = AccountService::new(
            repositories.users,
            crypto.hasher,
            sessions.clone(),
            throttle.clone(),
            clock,
        )
        // Deleting an account erases its data, then its APIs (their records and keys with
        // them), and last its usage totals: erasing the others gives room back, which would
        // otherwise recreate the totals.
        .erasing(data.clone())
        .erasing(apis.clone())
        .erasing(Arc::new(quota));
        Self {
            accounts,
            authenticator,
            sessions,
            data,
            apis,
            records,
            throttle,
        }
    }
}
