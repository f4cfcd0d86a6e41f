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
    async fn remove(&self, id: &Id, claimed_until: DateTime<Utc>) -> Result<bool> {
        let mut mails = self.mails.lock().expect("lock");
        let before = mails.len();
        mails.retain(|m| !(&m.id == id && m.lease_until == Some(claimed_until)));
        Ok(mails.len() < before)
    }
    async fn retry_later(
        &self,
        id: &Id,
        claimed_until: DateTime<Utc>,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        for mail in self.mails.lock().expect("lock").iter_mut() {
            if &mail.id == id && mail.lease_until == Some(claimed_until) {
                mail.attempts = attempts;
                mail.next_attempt_at = at;
                mail.lease_until = None;
                return Ok(true);
            }
        }
        Ok(false)
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

/// A mail server that takes longer than the lease: meanwhile another worker claims the message
/// again. The slow worker's removal then leaves the other's claim alone (issue 31), and says
/// so in its round.
#[tokio::test]
async fn a_worker_whose_lease_lapsed_leaves_the_message_to_the_one_holding_it() {
    struct ClaimedMeanwhile {
        outbox: Arc<MemoryOutbox>,
    }
    #[async_trait]
    impl Mailer for ClaimedMeanwhile {
        async fn deliver(&self, _: &Id, _: &MailMessage) -> std::result::Result<(), DeliveryError> {
            // The lease lapses while this one sends: another worker takes the message.
            let later = now() + Duration::minutes(5);
            let taken = self
                .outbox
                .claim_due(later, later + Duration::seconds(60), 1)
                .await
                .expect("claimed");
            assert_eq!(taken.len(), 1);
            Ok(())
        }
    }
    let outbox = Arc::new(MemoryOutbox::default());
    let service = MailService::new(
        outbox.clone(),
        Arc::new(ClaimedMeanwhile {
            outbox: outbox.clone(),
        }),
        Arc::new(crate::mail::Templates::default()),
        Arc::new(fixed_clock()),
        MailSettings::default(),
    );
    service.queue(message("slow")).await.expect("queued");
    let round = service.deliver_due().await.expect("a round");
    assert_eq!((round.sent, round.lease_lost), (1, 1));
    let left = outbox.mails.lock().expect("lock").clone();
    assert_eq!(left.len(), 1, "the other worker's claim still holds it");
    assert_eq!(
        left[0].lease_until,
        Some(now() + Duration::minutes(5) + Duration::seconds(60))
    );
}

/// Each message is claimed just before it is sent, with a lease of its own: a lease covers
/// one delivery (the SMTP timeout and 30 s), never a whole batch.
#[test]
fn the_lease_covers_one_delivery() {
    let settings = MailSettings::for_delivery(3, std::time::Duration::from_secs(120));
    assert_eq!(settings.lease, Duration::seconds(150));
    assert_eq!(
        MailSettings::for_delivery(3, std::time::Duration::from_secs(5)).lease,
        MailSettings::default().lease
    );
}
