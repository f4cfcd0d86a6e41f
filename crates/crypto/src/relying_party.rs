//! Where passkeys are valid (`auth.webauthn.*`): the section as configured, and the relying
//! party it resolves to once the server's public address is known.

use keygate_domain::units;
use serde::{Deserialize, Serialize};

/// The `auth.webauthn.*` section: each key may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct WebauthnConfig {
    /// The relying party id: the registrable domain passkeys belong to (`example.com`).
    /// Unset: the host of `origin`.
    #[serde(deserialize_with = "units::optional_text")]
    pub rp_id: Option<String>,
    /// The origin the pages calling WebAuthn are served from (`https://example.com`).
    /// Unset: the server's public address.
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

/// The relying party passkeys are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnSettings {
    /// The relying party id: the site's registrable domain (`example.com`, `localhost`).
    pub rp_id: String,
    /// The origin pages calling WebAuthn are served from (`https://example.com`).
    pub origin: String,
    /// The name authenticators show.
    pub rp_name: String,
}

impl WebauthnConfig {
    /// The relying party: the origin defaults to `public_url` and the id to the origin's host
    /// (`localhost` for an IP address, in the origin too: a server on an address of its own,
    /// as `make run` is, serves passkeys to pages on `localhost` at its port).
    pub fn resolve(&self, public_url: &str) -> WebauthnSettings {
        let origin = self.origin.clone().unwrap_or_else(|| public_url.to_owned());
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
        let on_ip = host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok();
        let (rp_id, origin) = match (&self.rp_id, on_ip && self.origin.is_none()) {
            (Some(rp_id), _) => (rp_id.clone(), origin),
            (None, true) => (
                "localhost".to_owned(),
                origin.replacen(host, "localhost", 1),
            ),
            (None, false) => (host.to_owned(), origin.clone()),
        };
        WebauthnSettings {
            rp_id,
            origin,
            rp_name: self.rp_name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::WebauthnPasskeys;

    #[test]
    fn the_relying_party_follows_the_public_address_unless_set() {
        let local = WebauthnConfig::default().resolve("http://127.0.0.1:8080");
        assert_eq!(local.rp_id, "localhost");
        assert_eq!(local.origin, "http://localhost:8080");
        let public = WebauthnConfig::default().resolve("https://auth.example.com");
        assert_eq!(public.rp_id, "auth.example.com");
        assert_eq!(public.origin, "https://auth.example.com");
        let set = WebauthnConfig {
            rp_id: Some("example.com".into()),
            origin: Some("https://app.example.com".into()),
            ..WebauthnConfig::default()
        }
        .resolve("http://127.0.0.1:8080");
        assert_eq!(set.rp_id, "example.com");
        assert_eq!(set.origin, "https://app.example.com");
        assert_eq!(set.rp_name, "Keygate");
        assert!(WebauthnPasskeys::new(&set).is_ok());
        assert!(WebauthnPasskeys::new(&local).is_ok());
    }
}
