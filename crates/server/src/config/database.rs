//! Which store to use and where (`database.*`).

use std::path::PathBuf;
use std::time::Duration;

use keygate_domain::units;
use serde::Deserialize;

/// Which store to use and where.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct DatabaseSettings {
    /// A `mongodb://` or `mongodb+srv://` URL; none means the embedded store.
    pub url: Option<String>,
    /// Directory of the embedded store (and of a generated development secret).
    pub path: PathBuf,
    /// Database name on MongoDB.
    pub name: String,
    /// The longest one MongoDB operation may take before the request gets 503
    /// (`timeout_ms`, at least one millisecond).
    #[serde(
        rename = "timeout_ms",
        deserialize_with = "units::std_millis",
        serialize_with = "units::write_std_millis"
    )]
    pub timeout: Duration,
}

impl DatabaseSettings {
    /// The MongoDB URL, if one is set (an empty one is none): `None` means the embedded store.
    pub fn mongodb_url(&self) -> Option<&str> {
        self.url.as_deref().filter(|url| !url.is_empty())
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            path: PathBuf::from("./data"),
            name: "keygate".into(),
            timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A database URL may carry a password.
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("path", &self.path)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish()
    }
}
