//! The mail ports: the durable outbox (both stores) and the sender (SMTP or `.eml` files).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{DeliveryError, MailMessage, QueuedMail};
use super::templates::MailKind;
use crate::error::Result;
use crate::id::Id;

/// The durable queue of messages to send, shared by every instance on one database.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Stores a message to send; it is durable when this returns.
    async fn enqueue(&self, mail: &QueuedMail) -> Result<()>;
    /// Takes up to `limit` messages due at `now` that no worker holds, holding each until
    /// `lease_until`, in one atomic step per message: two workers never take one message at
    /// the same time.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>>;
    /// Removes a message that was delivered (or given up on) by the worker whose claim holds
    /// it until `claimed_until` (the `lease_until` its claim answered); false, and nothing
    /// changed, if that claim lapsed and another worker took the message since.
    async fn remove(&self, id: &Id, claimed_until: DateTime<Utc>) -> Result<bool>;
    /// Records a failed try and releases the message until `next_attempt_at`, under the same
    /// condition as [`Outbox::remove`].
    async fn retry_later(
        &self,
        id: &Id,
        claimed_until: DateTime<Utc>,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool>;
    /// How many messages are waiting.
    async fn queued(&self) -> Result<u64>;
}

/// Sends one message.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `message` as `id` (its `Message-ID`).
    async fn deliver(
        &self,
        id: &Id,
        message: &MailMessage,
    ) -> std::result::Result<(), DeliveryError>;
}

/// Where the use cases put the mail they send: a message of `kind` to `to`, its template
/// filled with `values`, durable (and sure to be sent) when this returns.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailQueue: Send + Sync {
    /// Renders and queues one message.
    async fn enqueue(
        &self,
        kind: MailKind,
        to: &str,
        values: Vec<(&'static str, String)>,
    ) -> Result<()>;
}
