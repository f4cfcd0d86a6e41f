//! Queuing mail, and delivering what is due with retries and backoff.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Duration;

use async_trait::async_trait;

use super::model::{DeliveryError, MailMessage, QueuedMail};
use super::ports::{MailQueue, Mailer, Outbox};
use super::templates::{MailKind, Templates};
use crate::clock::Clock;
use crate::error::Result;
use crate::id::Id;

/// What `email.*` configures for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailSettings {
    /// Tries before a message is given up (`email.max_attempts`, default 10).
    pub max_attempts: u32,
    /// How long a worker holds a message it took, from the moment it took it (a crashed
    /// worker's messages are taken again after this).
    pub lease: Duration,
    /// The most messages one round sends, each claimed in turn.
    pub batch: usize,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            lease: Duration::seconds(60),
            batch: 20,
        }
    }
}

impl MailSettings {
    /// The settings for `max_attempts` tries (at least one) of a mail server that may take
    /// `timeout` per message: each message is claimed just before it is sent and held for
    /// longer than sending it can take (plus 30 s), so on MongoDB another instance never takes
    /// a message that is still being sent; never less than the default lease.
    pub fn for_delivery(max_attempts: u32, timeout: std::time::Duration) -> Self {
        let defaults = Self::default();
        let lease = Duration::from_std(timeout.saturating_add(std::time::Duration::from_secs(30)))
            .unwrap_or(defaults.lease)
            .max(defaults.lease);
        Self {
            max_attempts: max_attempts.max(1),
            lease,
            ..defaults
        }
    }
}

/// Messages queued, sent and failed since start (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    /// Written to the outbox.
    pub queued: u64,
    /// Delivered.
    pub sent: u64,
    /// Delivery tries that failed (a message may fail several times before it is sent).
    pub failed: u64,
    /// Given up after `max_attempts`, or refused for good.
    pub dropped: u64,
}

/// What one delivery round did: ids and reasons only, never content (which may hold a link
/// or a code), for the operator's log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Messages delivered.
    pub sent: usize,
    /// Messages that failed and wait for another try.
    pub retried: Vec<(Id, DeliveryError)>,
    /// Messages given up.
    pub dropped: Vec<(Id, DeliveryError)>,
    /// Messages whose claim lapsed while they were being sent (another worker may have taken
    /// them): left as that worker has them. Never, unless delivery outlasts the lease.
    pub lease_lost: usize,
}

/// Queues mail and delivers it.
pub struct MailService {
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    templates: Arc<Templates>,
    clock: Arc<dyn Clock>,
    settings: MailSettings,
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

impl MailService {
    /// The service over `outbox`, writing messages from `templates` and delivering them
    /// with `mailer`.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        mailer: Arc<dyn Mailer>,
        templates: Arc<Templates>,
        clock: Arc<dyn Clock>,
        settings: MailSettings,
    ) -> Self {
        Self {
            outbox,
            mailer,
            templates,
            clock,
            settings,
            queued: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Writes `message` to the outbox; it is durable (and will be sent) when this returns.
    pub async fn queue(&self, message: MailMessage) -> Result<()> {
        let now = self.clock.now();
        self.outbox
            .enqueue(&QueuedMail {
                id: Id::generate(now.timestamp()),
                message,
                created_at: now,
                attempts: 0,
                next_attempt_at: now,
                lease_until: None,
            })
            .await?;
        self.queued.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Delivers what is due, one round: each message claimed just before it is sent, so its
    /// lease only has to cover its own delivery. A failed try waits 2^attempts seconds (at most
    /// an hour) before the next; after `max_attempts` tries, or a permanent refusal, the message
    /// is dropped (the round says which, for the operator's log). Removing or releasing a
    /// message only acts while this worker's claim holds it.
    pub async fn deliver_due(&self) -> Result<DeliveryRound> {
        let mut round = DeliveryRound::default();
        for _ in 0..self.settings.batch {
            let now = self.clock.now();
            let Some(mail) = self
                .outbox
                .claim_due(now, now + self.settings.lease, 1)
                .await?
                .pop()
            else {
                break;
            };
            let claimed_until = mail.lease_until.unwrap_or(now + self.settings.lease);
            match self.mailer.deliver(&mail.id, &mail.message).await {
                Ok(()) => {
                    if !self.outbox.remove(&mail.id, claimed_until).await? {
                        round.lease_lost += 1;
                    }
                    self.sent.fetch_add(1, Ordering::Relaxed);
                    round.sent += 1;
                }
                Err(error) => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    let attempts = mail.attempts.saturating_add(1);
                    let permanent = matches!(error, DeliveryError::Permanent(_));
                    if permanent || attempts >= self.settings.max_attempts {
                        if !self.outbox.remove(&mail.id, claimed_until).await? {
                            round.lease_lost += 1;
                        }
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        round.dropped.push((mail.id.clone(), error));
                    } else {
                        let wait =
                            Duration::seconds(1_i64 << attempts.min(12)).min(Duration::hours(1));
                        let released = self
                            .outbox
                            .retry_later(&mail.id, claimed_until, attempts, self.clock.now() + wait)
                            .await?;
                        if !released {
                            round.lease_lost += 1;
                        }
                        round.retried.push((mail.id.clone(), error));
                    }
                }
            }
        }
        Ok(round)
    }

    /// Counts since start.
    pub fn counts(&self) -> MailCounts {
        MailCounts {
            queued: self.queued.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// Messages waiting in the outbox.
    pub async fn waiting(&self) -> Result<u64> {
        self.outbox.queued().await
    }
}

#[async_trait]
impl MailQueue for MailService {
    async fn enqueue(
        &self,
        kind: MailKind,
        to: &str,
        values: Vec<(&'static str, String)>,
    ) -> Result<()> {
        let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.queue(self.templates.render(kind, to, &values)).await
    }
}

#[cfg(test)]
mod tests;
