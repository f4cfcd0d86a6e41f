use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::test_support::{fixed_clock, now};

/// An outbox in memory, honouring leases as the stores do.
#[derive(Default)]
struct MemoryOutbox {
    mails: Mutex<Vec<QueuedMail>>,
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue(&self, mail: &QueuedMail) -> Result<()> {
        self.mails.lock().expect("lock").push(mail.clone());
        Ok(())
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>> {
        let mut mails = self.mails.lock().expect("lock");
        let mut taken = Vec::new();
        for mail in mails.iter_mut() {
            if taken.len() < limit
                && mail.next_attempt_at <= now
                && mail.lease_until.is_none_or(|l| l <= now)
            {
                mail.lease_until = Some(lease_until);
                taken.push(mail.clone());
            }
        }
        Ok(taken)
    }
    async fn remove(&self, id: &Id) -> Result<()> {
        self.mails.lock().expect("lock").retain(|m| &m.id != id);
        Ok(())
    }
    async fn retry_later(&self, id: &Id, attempts: u32, at: DateTime<Utc>) -> Result<()> {
        for mail in self.mails.lock().expect("lock").iter_mut() {
            if &mail.id == id {
                mail.attempts = attempts;
                mail.next_attempt_at = at;
                mail.lease_until = None;
            }
        }
        Ok(())
    }
    async fn queued(&self) -> Result<u64> {
        Ok(self.mails.lock().expect("lock").len() as u64)
    }
}

/// A mail server that answers each delivery with the next scripted outcome.
struct ScriptedMailer {
    outcomes: Mutex<Vec<std::result::Result<(), DeliveryError>>>,
    delivered: Mutex<Vec<String>>,
}

#[async_trait]
impl Mailer for ScriptedMailer {
    async fn deliver(
        &self,
        _: &Id,
        message: &MailMessage,
    ) -> std::result::Result<(), DeliveryError> {
        let outcome = self.outcomes.lock().expect("lock").remove(0);
        if outcome.is_ok() {
            self.delivered
                .lock()
                .expect("lock")
                .push(message.subject.clone());
        }
        outcome
    }
}

fn message(subject: &str) -> MailMessage {
    MailMessage {
        to: "a@example.com".into(),
        subject: subject.into(),
        text: "t".into(),
        html: "h".into(),
    }
}

fn service(
    outcomes: Vec<std::result::Result<(), DeliveryError>>,
    max_attempts: u32,
) -> (MailService, Arc<MemoryOutbox>, Arc<ScriptedMailer>) {
    let outbox = Arc::new(MemoryOutbox::default());
    let mailer = Arc::new(ScriptedMailer {
        outcomes: Mutex::new(outcomes),
        delivered: Mutex::default(),
    });
    let service = MailService::new(
        outbox.clone(),
        mailer.clone(),
        Arc::new(crate::mail::Templates::default()),
        Arc::new(fixed_clock()),
        MailSettings {
            max_attempts,
            ..MailSettings::default()
        },
    );
    (service, outbox, mailer)
}

#[tokio::test]
async fn a_failed_delivery_waits_then_is_sent_and_nothing_is_lost() {
    let temporary = || Err(DeliveryError::Temporary("down".into()));
    let (service, outbox, mailer) = service(vec![temporary(), Ok(())], 10);
    service.queue(message("hello")).await.expect("queued");
    let round = service.deliver_due().await.expect("a round");
    assert_eq!(round.sent, 0);
    assert_eq!(round.retried.len(), 1);
    let waiting = outbox.mails.lock().expect("lock")[0].clone();
    assert_eq!(waiting.attempts, 1);
    assert_eq!(waiting.next_attempt_at, now() + Duration::seconds(2));
    // Not due yet at the same instant.
    assert_eq!(service.deliver_due().await.expect("a round").sent, 0);
    outbox.mails.lock().expect("lock")[0].next_attempt_at = now();
    assert_eq!(service.deliver_due().await.expect("a round").sent, 1);
    assert_eq!(*mailer.delivered.lock().expect("lock"), ["hello"]);
    assert_eq!(service.waiting().await.expect("counted"), 0);
    let counts = service.counts();
    assert_eq!(
        (counts.queued, counts.sent, counts.failed, counts.dropped),
        (1, 1, 1, 0)
    );
}

#[tokio::test]
async fn a_message_is_dropped_after_max_attempts_or_a_permanent_refusal() {
    let (service, outbox, _) = service(
        vec![
            Err(DeliveryError::Temporary("down".into())),
            Err(DeliveryError::Temporary("down".into())),
            Err(DeliveryError::Permanent("no such user".into())),
        ],
        2,
    );
    service.queue(message("one")).await.expect("queued");
    service.deliver_due().await.expect("a round");
    outbox.mails.lock().expect("lock")[0].next_attempt_at = now();
    let round = service.deliver_due().await.expect("a round");
    assert_eq!(round.dropped.len(), 1, "two tries of two");
    service.queue(message("two")).await.expect("queued");
    let round = service.deliver_due().await.expect("a round");
    assert_eq!(round.dropped.len(), 1, "refused for good at once");
    assert_eq!(service.counts().dropped, 2);
}

#[tokio::test]
async fn a_held_message_is_not_taken_twice() {
    let (service, outbox, _) = service(vec![], 10);
    service.queue(message("one")).await.expect("queued");
    let first = outbox
        .claim_due(now(), now() + Duration::seconds(60), 10)
        .await
        .expect("claimed");
    assert_eq!(first.len(), 1);
    // Another worker finds nothing while the lease holds, then the message after it ends.
    assert_eq!(
        service.deliver_due().await.expect("a round"),
        DeliveryRound::default()
    );
}
