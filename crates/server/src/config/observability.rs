//! What Keygate shows of itself: log lines (`log.*`), `GET /metrics` (`metrics.*`) and
//! `GET /docs` (`docs.*`).

use serde::Deserialize;

/// `GET /docs` (`docs.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct DocsSettings {
    /// Whether the interactive docs page is served (404 otherwise). `/openapi.json` stays.
    pub enabled: bool,
}

impl Default for DocsSettings {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `GET /metrics` (`metrics.*`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct MetricsSettings {
    /// Whether `/metrics` answers at all (404 otherwise).
    pub enabled: bool,
    /// When set, `/metrics` asks for `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set (`host:port`), `/metrics` is served there only, and the API listener answers
    /// it with 404: scrapers reach it on an internal address, the internet never does.
    pub listen: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
            listen: None,
        }
    }
}

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("enabled", &self.enabled)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("listen", &self.listen)
            .finish()
    }
}

/// How log lines are written (`log.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct LogSettings {
    /// `pretty`, `json`, or `auto`: pretty on a terminal, JSON otherwise.
    pub format: LogFormat,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty when standard output is a terminal, JSON otherwise.
    #[default]
    Auto,
    /// Human-readable lines (coloured only on a terminal).
    Pretty,
    /// One JSON object per line.
    Json,
}
