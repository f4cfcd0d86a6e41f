//! Which mailer the settings call for: SMTP with `email.smtp_url`, else `.eml` files in
//! `<database.path>/outbox/`; in development the `.eml` sender also logs each message's text,
//! so `make run` shows links and codes without a mail client.

use std::sync::Arc;

use async_trait::async_trait;
use keygate_domain::id::Id;
use keygate_domain::mail::{DeliveryError, MailMessage, Mailer, Templates};
use keygate_mail::{EmlDirectory, SmtpMailer, SmtpSettings};

use crate::config::{Environment, InvalidSetting, Settings};

/// The `.eml` sender that also logs what it wrote (development only).
struct LoggedEml(EmlDirectory);

#[async_trait]
impl Mailer for LoggedEml {
    async fn deliver(&self, id: &Id, message: &MailMessage) -> Result<(), DeliveryError> {
        self.0.deliver(id, message).await?;
        tracing::info!(
            "development mail to {} written to {}: {}\n{}",
            message.to,
            self.0.directory().display(),
            message.subject,
            message.text
        );
        Ok(())
    }
}

/// The mailer and templates these settings call for.
pub fn mailer(settings: &Settings) -> Result<(Arc<dyn Mailer>, Arc<Templates>), InvalidSetting> {
    let email = &settings.email;
    let from = email.from.parse().map_err(|e| InvalidSetting {
        setting: "email.from",
        problem: format!("not a mailbox: {e}"),
    })?;
    let templates =
        Templates::load(email.templates_dir.as_deref()).map_err(|problem| InvalidSetting {
            setting: "email.templates_dir",
            problem,
        })?;
    let mailer: Arc<dyn Mailer> = match email.smtp_url.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => Arc::new(
            SmtpMailer::new(&SmtpSettings {
                url: url.to_owned(),
                username: email.smtp_username.clone(),
                password: email.smtp_password.clone(),
                from,
                timeout: email.timeout,
            })
            .map_err(|problem| InvalidSetting {
                setting: "email.smtp_url",
                problem,
            })?,
        ),
        _ => {
            let outbox = EmlDirectory::new(&settings.database.path.join("outbox"), from);
            if settings.environment == Environment::Development {
                Arc::new(LoggedEml(outbox))
            } else {
                Arc::new(outbox)
            }
        }
    };
    Ok((mailer, Arc::new(templates)))
}
