//! Keygate's [`Mailer`](keygate_domain::mail::Mailer) adapters: [`SmtpMailer`] delivers over
//! SMTP (`smtp://` with STARTTLS when the server offers it, `smtps://` with implicit TLS,
//! credentials, timeouts); [`EmlDirectory`] writes each message as an `.eml` file, so a
//! deployment without a mail server (`make run`) still has every message to read.
#![warn(missing_docs)]

mod eml;
mod message;
mod smtp;

pub use eml::EmlDirectory;
pub use smtp::{SmtpMailer, SmtpSettings};
