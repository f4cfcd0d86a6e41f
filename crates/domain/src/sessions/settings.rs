//! How long sessions and their tokens live, and how long a live one is trusted unread.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::units;

/// Lifetimes of the tokens a session issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct SessionSettings {
    /// How long an access token is valid (default 15 minutes).
    #[serde(
        rename = "access_token_ttl_secs",
        deserialize_with = "units::seconds",
        serialize_with = "units::write_seconds"
    )]
    pub access_token_ttl: Duration,
    /// How long a session lasts from login, however often it is refreshed (default 30 days).
    #[serde(
        rename = "session_ttl_secs",
        deserialize_with = "units::seconds",
        serialize_with = "units::write_seconds"
    )]
    pub session_ttl: Duration,
    /// How long a session found active may be trusted without reading the store again
    /// (`auth.revocation_cache_ttl_secs`, default 2 s, at most a day): a revocation on another instance takes at
    /// most this long to be seen; on this instance it takes effect at once. Zero disables it.
    #[serde(
        rename = "revocation_cache_ttl_secs",
        deserialize_with = "units::revocation_seconds",
        serialize_with = "units::write_seconds"
    )]
    pub liveness_cache_ttl: Duration,
    /// How long after a login its session may make a sensitive change without the password
    /// again (`auth.reauth_window_secs`, default 5 minutes, §12). A refresh does not renew it.
    #[serde(
        rename = "reauth_window_secs",
        deserialize_with = "units::seconds",
        serialize_with = "units::write_seconds"
    )]
    pub reauth_window: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::minutes(15),
            session_ttl: Duration::days(30),
            liveness_cache_ttl: Duration::seconds(2),
            reauth_window: Duration::minutes(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_lifetimes_default_to_the_contract() {
        let settings = SessionSettings::default();
        assert_eq!(settings.access_token_ttl, Duration::minutes(15));
        assert_eq!(settings.session_ttl, Duration::days(30));
    }
}
