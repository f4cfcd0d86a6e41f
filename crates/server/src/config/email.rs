//! Mail delivery (`email.*`, §8).

use std::path::PathBuf;
use std::time::Duration;

use keygate_domain::units;
use serde::Deserialize;

/// Mail (`email.*`, §8).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(default)]
pub struct EmailSettings {
    /// `smtp://…` or `smtps://…`; unset: messages become `.eml` files in
    /// `<database.path>/outbox/`.
    #[serde(deserialize_with = "units::optional_text")]
    pub smtp_url: Option<String>,
    /// The SMTP user, if not in the URL.
    #[serde(deserialize_with = "units::optional_text")]
    pub smtp_username: Option<String>,
    /// The SMTP password, if not in the URL.
    #[serde(deserialize_with = "units::optional_text")]
    pub smtp_password: Option<String>,
    /// The sender, `Name <address>` or an address.
    #[serde(deserialize_with = "units::text")]
    pub from: String,
    /// A directory of templates replacing the built-in ones (`<kind>.subject|txt|html`).
    pub templates_dir: Option<PathBuf>,
    /// Delivery tries before a message is given up.
    pub max_attempts: u32,
    /// The longest one SMTP delivery may take (`timeout_secs`).
    #[serde(
        rename = "timeout_secs",
        deserialize_with = "units::std_seconds",
        serialize_with = "units::write_std_seconds"
    )]
    pub timeout: Duration,
    /// How often the outbox is looked at (`poll_interval_ms`).
    #[serde(
        rename = "poll_interval_ms",
        deserialize_with = "units::std_millis",
        serialize_with = "units::write_std_millis"
    )]
    pub poll_interval: Duration,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_username: None,
            smtp_password: None,
            from: "Keygate <noreply@keygate.localhost>".into(),
            templates_dir: None,
            max_attempts: 10,
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(1000),
        }
    }
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("from", &self.from)
            .field("templates_dir", &self.templates_dir)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}
