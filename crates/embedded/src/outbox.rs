//! The outbox on redb: a claim examines and leases due messages in one write transaction, so
//! no two workers of this process take one message; the file has one process.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::mail::{Outbox, QueuedMail};
use keygate_domain::{Id, Result};
use redb::{ReadableTable, ReadableTableMetadata};

use crate::rows::{decode, encode};
use crate::store::EmbeddedStore;
use crate::tables::OUTBOX;
use crate::unavailable::OrUnavailable;

/// The most messages one claim examines: a huge backlog costs each round a bounded read.
const CLAIM_SCAN: usize = 2_000;

/// Whether `mail` may be taken at `now`: its time has come and no worker holds it.
fn is_due(mail: &QueuedMail, now: DateTime<Utc>) -> bool {
    mail.next_attempt_at <= now && mail.lease_until.is_none_or(|l| l <= now)
}

#[async_trait]
impl Outbox for EmbeddedStore {
    async fn enqueue(&self, mail: &QueuedMail) -> Result<()> {
        let (id, row) = (mail.id.to_string(), encode(mail)?);
        self.write(move |txn| {
            txn.open_table(OUTBOX)
                .or_unavailable()?
                .insert(id.as_str(), row.as_slice())
                .or_unavailable()?;
            Ok(())
        })
        .await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>> {
        // The worker asks every second: an outbox with nothing due answers from a read, not
        // from a durable write transaction (an fsync a second on an idle server).
        let any_due = self
            .read(move |txn| {
                let table = txn.open_table(OUTBOX).or_unavailable()?;
                for row in table.iter().or_unavailable()?.take(CLAIM_SCAN) {
                    let (_, value) = row.or_unavailable()?;
                    if is_due(&decode::<QueuedMail>(value.value())?, now) {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .await?;
        if !any_due {
            return Ok(Vec::new());
        }
        self.write(move |txn| {
            let mut table = txn.open_table(OUTBOX).or_unavailable()?;
            let mut due = Vec::new();
            for row in table.iter().or_unavailable()?.take(CLAIM_SCAN) {
                let (_, value) = row.or_unavailable()?;
                let mail = decode::<QueuedMail>(value.value())?;
                if is_due(&mail, now) {
                    due.push(mail);
                    if due.len() == limit {
                        break;
                    }
                }
            }
            for mail in &mut due {
                mail.lease_until = Some(lease_until);
                table
                    .insert(mail.id.as_str(), encode(&*mail)?.as_slice())
                    .or_unavailable()?;
            }
            Ok(due)
        })
        .await
    }

    async fn remove(&self, id: &Id, claimed_until: DateTime<Utc>) -> Result<bool> {
        let id = id.to_string();
        self.write(move |txn| {
            let mut table = txn.open_table(OUTBOX).or_unavailable()?;
            let ours = table
                .get(id.as_str())
                .or_unavailable()?
                .map(|row| decode::<QueuedMail>(row.value()))
                .transpose()?
                .is_some_and(|mail| mail.lease_until == Some(claimed_until));
            if ours {
                table.remove(id.as_str()).or_unavailable()?;
            }
            Ok(ours)
        })
        .await
    }

    async fn retry_later(
        &self,
        id: &Id,
        claimed_until: DateTime<Utc>,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool> {
        let id = id.to_string();
        self.write(move |txn| {
            let mut table = txn.open_table(OUTBOX).or_unavailable()?;
            let stored = table
                .get(id.as_str())
                .or_unavailable()?
                .map(|row| decode::<QueuedMail>(row.value()))
                .transpose()?;
            match stored {
                Some(mut mail) if mail.lease_until == Some(claimed_until) => {
                    mail.attempts = attempts;
                    mail.next_attempt_at = next_attempt_at;
                    mail.lease_until = None;
                    table
                        .insert(id.as_str(), encode(&mail)?.as_slice())
                        .or_unavailable()?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn queued(&self) -> Result<u64> {
        self.read(|txn| {
            txn.open_table(OUTBOX)
                .or_unavailable()?
                .len()
                .or_unavailable()
        })
        .await
    }
}
