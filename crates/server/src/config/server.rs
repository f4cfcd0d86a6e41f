//! The HTTP listener (`server.*`).

use std::time::Duration;

use keygate_domain::units;
use serde::Deserialize;

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
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
    #[serde(
        rename = "body_timeout_secs",
        deserialize_with = "units::std_seconds",
        serialize_with = "units::write_std_seconds"
    )]
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
