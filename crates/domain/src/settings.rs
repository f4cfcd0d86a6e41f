//! Everything the domain's services are configured with, in one value, and the units the
//! configuration writes durations and counts in. Each settings type deserialises with its own
//! `Default` for every key left out, so a default is written once, beside the type it
//! configures; the server's configuration sections embed these types as they are.

use serde::{Deserialize, Serialize};

use crate::accounts::ThrottleLimits;
use crate::apis::records::RecordServiceSettings;
use crate::email_flows::EmailFlowSettings;
use crate::mail::MailSettings;
use crate::mfa::MfaSettings;
use crate::sessions::SessionSettings;
use crate::signing::SigningSettings;
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
}

/// Deserialisers for the units configuration files use: whole seconds and milliseconds for
/// durations, and counts that must be at least one (a zero is read as one, as it always was);
/// and the `write_*` serialisers that write a duration back in its unit (the test that
/// `config/default.toml` names every key serialises the defaults with them).
pub mod units {
    use serde::{Deserialize, Deserializer, Serializer};

    /// The longest duration any setting takes: 100 years, well inside what `chrono` and
    /// `std::time` represent.
    const MAX_SECONDS: u64 = 100 * 365 * 24 * 3600;
    /// The longest a revocation may go unseen on another instance: one day.
    const MAX_REVOCATION_SECONDS: u64 = 24 * 3600;

    /// Text, also when a layer gave a number or a boolean: environment variables are parsed
    /// (`KEYGATE__AUTH__ISSUER=2024` arrives as an integer), and a section that embeds
    /// another type reads its keys without the configuration library's own conversions.
    pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Text(String),
            Integer(i64),
            Unsigned(u64),
            Float(f64),
            Flag(bool),
        }
        Ok(match Scalar::deserialize(deserializer)? {
            Scalar::Text(text) => text,
            Scalar::Integer(n) => n.to_string(),
            Scalar::Unsigned(n) => n.to_string(),
            Scalar::Float(x) => x.to_string(),
            Scalar::Flag(b) => b.to_string(),
        })
    }

    /// Optional [`text`].
    pub fn optional_text<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        text(deserializer).map(Some)
    }

    /// A count, or a size, of at least one.
    pub fn at_least_one<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Ord + From<u8>,
    {
        Ok(T::deserialize(deserializer)?.max(T::from(1)))
    }

    /// Whole seconds, at least one, as a `chrono` duration.
    pub fn seconds<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<chrono::Duration, D::Error> {
        let seconds = u64::deserialize(deserializer)?.clamp(1, MAX_SECONDS);
        Ok(chrono::Duration::seconds(
            i64::try_from(seconds).unwrap_or(i64::MAX),
        ))
    }

    /// Whole seconds up to a day, zero included (it turns the cache off), as a `chrono`
    /// duration.
    pub fn revocation_seconds<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<chrono::Duration, D::Error> {
        let seconds = u64::deserialize(deserializer)?.min(MAX_REVOCATION_SECONDS);
        Ok(chrono::Duration::seconds(
            i64::try_from(seconds).unwrap_or(0),
        ))
    }

    /// Whole seconds, at least one, as a `std::time` duration.
    pub fn std_seconds<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<std::time::Duration, D::Error> {
        let seconds = u64::deserialize(deserializer)?.clamp(1, MAX_SECONDS);
        Ok(std::time::Duration::from_secs(seconds))
    }

    /// Milliseconds, at least one, as a `std::time` duration.
    pub fn std_millis<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<std::time::Duration, D::Error> {
        let millis = u64::deserialize(deserializer)?.clamp(1, MAX_SECONDS * 1000);
        Ok(std::time::Duration::from_millis(millis))
    }

    /// A `chrono` duration as whole seconds.
    pub fn write_seconds<S: Serializer>(
        duration: &chrono::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(duration.num_seconds())
    }

    /// A `std::time` duration as whole seconds.
    pub fn write_std_seconds<S: Serializer>(
        duration: &std::time::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(duration.as_secs())
    }

    /// A `std::time` duration as whole milliseconds.
    pub fn write_std_millis<S: Serializer>(
        duration: &std::time::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }
}
