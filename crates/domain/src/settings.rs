//! Everything the domain's services are configured with, in one value. Each settings type
//! deserialises with its own `Default` for every key left out, so a default is written once,
//! beside the type it configures; the server's configuration sections embed these types as
//! they are. The units the configuration writes durations and counts in are in [`units`].

use serde::{Deserialize, Serialize};

use crate::accounts::ThrottleLimits;
use crate::apis::records::RecordServiceSettings;
use crate::audit::AuditSettings;
use crate::email_flows::EmailFlowSettings;
use crate::mail::MailSettings;
use crate::mfa::MfaSettings;
use crate::sessions::SessionSettings;
use crate::signing::SigningSettings;
use crate::units;
use crate::usage::UsageLimits;

/// What `limits.*` configures: per-account quotas and the keys one API may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct LimitSettings {
    /// Data entries, records, APIs and their bytes per account.
    #[serde(flatten)]
    pub usage: UsageLimits,
    /// Keys one API may have, revoked ones included (they stay listed until the API goes).
    #[serde(deserialize_with = "units::at_least_one")]
    pub max_keys_per_api: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            usage: UsageLimits::default(),
            max_keys_per_api: 1_000,
        }
    }
}

/// Every setting of the domain's services, as [`crate::Keygate::new`] takes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeygateSettings {
    /// Token lifetimes and how long a live session is trusted unread (`auth.*`).
    pub sessions: SessionSettings,
    /// Failed-login and registration throttling (`auth.throttle.*`).
    pub throttle: ThrottleLimits,
    /// Quotas (`limits.*`).
    pub limits: LimitSettings,
    /// Record list bounds and caches (`records.*`).
    pub records: RecordServiceSettings,
    /// Access-token signing and key rotation (`auth.signing.*`).
    pub signing: SigningSettings,
    /// Links and `auth.require_verified_email` (§8).
    pub email_flows: EmailFlowSettings,
    /// Mail delivery: retries and leases (`email.*`).
    pub mail: MailSettings,
    /// The second factor (`auth.issuer`).
    pub mfa: MfaSettings,
    /// The audit log's retention (`audit.*`).
    pub audit: AuditSettings,
}
