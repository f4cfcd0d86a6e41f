//! Mail (§8): messages are written to a durable outbox before anything is sent, then a
//! background worker hands them to the [`Mailer`] with retries and backoff, so a mail server
//! that is down, slow or refusing delays mail but loses none.

mod model;
mod ports;
mod service;
mod templates;

pub use model::{DeliveryError, MailMessage, QueuedMail};
pub use ports::{MailQueue, Mailer, Outbox};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockMailQueue, MockMailer, MockOutbox};
pub use service::{DeliveryRound, MailCounts, MailService, MailSettings};
pub use templates::{MailKind, Templates};
