//! A message and its place in the outbox.

use chrono::{DateTime, Utc};

use crate::id::Id;

/// One email: recipient, subject, and the same content as text and as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// The message's id (also its `Message-ID` and `.eml` file name).
    pub id: Id,
    /// The message.
    pub message: MailMessage,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Deliveries tried so far.
    pub attempts: u32,
    /// When it may be tried (again).
    pub next_attempt_at: DateTime<Utc>,
    /// Until when a worker holds it; another may take it after.
    pub lease_until: Option<DateTime<Utc>>,
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later (unreachable, timed out, 4xx).
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// Will never work (5xx for this recipient, a malformed address).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}
