//! SMTP delivery with lettre on tokio and rustls.

use std::time::Duration;

use async_trait::async_trait;
use keygate_domain::id::Id;
use keygate_domain::mail::{DeliveryError, MailMessage, Mailer};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::message::build;

/// Where and how to deliver (`email.*`).
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://host[:port]` (port 587 by default; STARTTLS when the server offers it, or
    /// always with `?tls=required`) or `smtps://host[:port]` (465, implicit TLS); user and
    /// password may be in the URL.
    pub url: String,
    /// A user name, instead of the URL's.
    pub username: Option<String>,
    /// A password, instead of the URL's.
    pub password: Option<String>,
    /// The sender.
    pub from: Mailbox,
    /// The longest one delivery may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &"<redacted: may hold a password>")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// Delivers over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `settings`; an unusable URL is an error that does not repeat the URL
    /// (it may hold a password).
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let url = if settings.url.starts_with("smtp://") && !settings.url.contains("tls=") {
            // STARTTLS whenever the server offers it.
            let separator = if settings.url.contains('?') { '&' } else { '?' };
            format!("{}{separator}tls=opportunistic", settings.url)
        } else {
            settings.url.clone()
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| format!("email.smtp_url is not usable: {e}"))?
            .timeout(Some(settings.timeout));
        if let Some(username) = &settings.username {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                settings.password.clone().unwrap_or_default(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.clone(),
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn deliver(&self, id: &Id, message: &MailMessage) -> Result<(), DeliveryError> {
        let email = build(&self.from, id, message)?;
        // Even a 5xx is tried again (up to email.max_attempts): a refusing server is often a
        // misconfigured one (credentials, relay rules) that its operator will fix, and mail
        // must wait that out rather than be lost. Only a message that cannot be built is
        // given up at once.
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| DeliveryError::Temporary(e.to_string()))
    }
}
