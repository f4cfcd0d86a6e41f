//! The store bundle: every repository port one store adapter implements, declared once for
//! start-up, the conformance suite and anything else that opens a store.

use std::sync::Arc;

use crate::accounts::{ThrottleCounters, UserRepository};
use crate::apis::records::RecordRepository;
use crate::apis::{ApiKeyRepository, ApiRepository};
use crate::audit::AuditRepository;
use crate::data::DataRepository;
use crate::mail::Outbox;
use crate::mfa::SecondFactorRepository;
use crate::one_time::OneTimeSecretRepository;
use crate::sessions::SessionRepository;
use crate::signing::SigningKeyRepository;
use crate::usage::UsageRepository;

/// A store adapter: one type that implements every repository port (both of Keygate's stores
/// are one). Implemented for every such type.
pub trait Store:
    UserRepository
    + SessionRepository
    + DataRepository
    + ApiRepository
    + ApiKeyRepository
    + RecordRepository
    + UsageRepository
    + SigningKeyRepository
    + OneTimeSecretRepository
    + Outbox
    + SecondFactorRepository
    + AuditRepository
    + 'static
{
}

impl<S> Store for S where
    S: UserRepository
        + SessionRepository
        + DataRepository
        + ApiRepository
        + ApiKeyRepository
        + RecordRepository
        + UsageRepository
        + SigningKeyRepository
        + OneTimeSecretRepository
        + Outbox
        + SecondFactorRepository
        + AuditRepository
        + 'static
{
}

/// One store seen through every port it implements: what the services are built from.
#[derive(Clone)]
pub struct Repositories {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Private key-value data.
    pub data: Arc<dyn DataRepository>,
    /// API definitions.
    pub apis: Arc<dyn ApiRepository>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyRepository>,
    /// Records of user-defined APIs.
    pub records: Arc<dyn RecordRepository>,
    /// Per-account storage usage.
    pub usage: Arc<dyn UsageRepository>,
    /// Signing keys.
    pub signing_keys: Arc<dyn SigningKeyRepository>,
    /// Link tokens and login codes.
    pub one_time: Arc<dyn OneTimeSecretRepository>,
    /// Mail waiting to be sent.
    pub outbox: Arc<dyn Outbox>,
    /// Second factors: TOTP, recovery codes, passkeys.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// Security events (§13).
    pub audit: Arc<dyn AuditRepository>,
    /// Throttle counters every instance shares, when the store is one several instances use
    /// (§12); `None`: this process is the only one, and counts in memory.
    pub shared_throttle: Option<Arc<dyn ThrottleCounters>>,
}

impl Repositories {
    /// Every port of `store`.
    pub fn of<S: Store>(store: Arc<S>) -> Self {
        Self {
            users: store.clone(),
            sessions: store.clone(),
            data: store.clone(),
            apis: store.clone(),
            api_keys: store.clone(),
            records: store.clone(),
            usage: store.clone(),
            signing_keys: store.clone(),
            one_time: store.clone(),
            outbox: store.clone(),
            factors: store.clone(),
            audit: store,
            shared_throttle: None,
        }
    }

    /// The same, with the throttles counted in `counters`, which every instance shares.
    #[must_use]
    pub fn sharing_throttles(mut self, counters: Arc<dyn ThrottleCounters>) -> Self {
        self.shared_throttle = Some(counters);
        self
    }
}
