//! The outbox on MongoDB: a claim takes one due, unleased message at a time with a conditional
//! `findOneAndUpdate` that sets its lease, so several instances never take one message at once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::mail::{MailMessage, Outbox, QueuedMail};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReturnDocument;

use crate::collections::OUTBOX;
use crate::documents::{bson_time, domain_id, domain_time, object_id};
use crate::store::MongoStore;

fn document(mail: &QueuedMail) -> Result<Document> {
    Ok(doc! {
        "_id": object_id(&mail.id)?,
        "to": &mail.message.to,
        "subject": &mail.message.subject,
        "text": &mail.message.text,
        "html": &mail.message.html,
        "created_at": bson_time(mail.created_at),
        "attempts": i64::from(mail.attempts),
        "next_attempt_at": bson_time(mail.next_attempt_at),
        "lease_until": mail.lease_until.map_or(Bson::Null, |at| Bson::DateTime(bson_time(at))),
    })
}

fn mail(document: &Document) -> Result<QueuedMail> {
    let unreadable = |what: &str| Error::Internal(format!("stored mail: bad {what}"));
    let text = |field: &str| {
        document
            .get_str(field)
            .map(str::to_owned)
            .map_err(|_| unreadable(field))
    };
    let time = |field: &str| {
        document
            .get_datetime(field)
            .map_err(|_| unreadable(field))
            .and_then(|at| domain_time(*at))
    };
    Ok(QueuedMail {
        id: domain_id(
            document
                .get_object_id("_id")
                .map_err(|_| unreadable("id"))?,
        )?,
        message: MailMessage {
            to: text("to")?,
            subject: text("subject")?,
            text: text("text")?,
            html: text("html")?,
        },
        created_at: time("created_at")?,
        attempts: document
            .get_i64("attempts")
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| unreadable("attempts"))?,
        next_attempt_at: time("next_attempt_at")?,
        lease_until: match document.get("lease_until") {
            Some(Bson::DateTime(at)) => Some(domain_time(*at)?),
            _ => None,
        },
    })
}

#[async_trait]
impl Outbox for MongoStore {
    async fn enqueue(&self, mail: &QueuedMail) -> Result<()> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        self.run(outbox.insert_one(document(mail)?)).await?;
        Ok(())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        let mut claimed = Vec::new();
        while claimed.len() < limit {
            let due = doc! {
                "next_attempt_at": {"$lte": bson_time(now)},
                "$or": [{"lease_until": Bson::Null}, {"lease_until": {"$lte": bson_time(now)}}],
            };
            let taken = self
                .run(
                    outbox
                        .find_one_and_update(
                            due,
                            doc! {"$set": {"lease_until": bson_time(lease_until)}},
                        )
                        .sort(doc! {"next_attempt_at": 1})
                        .return_document(ReturnDocument::After),
                )
                .await?;
            match taken {
                Some(document) => claimed.push(mail(&document)?),
                None => break,
            }
        }
        Ok(claimed)
    }

    async fn remove(&self, id: &Id, claimed_until: DateTime<Utc>) -> Result<bool> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        let removed = self
            .run(
                outbox.delete_one(
                    doc! {"_id": object_id(id)?, "lease_until": bson_time(claimed_until)},
                ),
            )
            .await?;
        Ok(removed.deleted_count == 1)
    }

    async fn retry_later(
        &self,
        id: &Id,
        claimed_until: DateTime<Utc>,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        let changed = self
            .run(outbox.update_one(
                doc! {"_id": object_id(id)?, "lease_until": bson_time(claimed_until)},
                doc! {"$set": {
                    "attempts": i64::from(attempts),
                    "next_attempt_at": bson_time(next_attempt_at),
                    "lease_until": Bson::Null,
                }},
            ))
            .await?;
        Ok(changed.matched_count == 1)
    }

    async fn queued(&self) -> Result<u64> {
        let outbox = self.database().collection::<Document>(OUTBOX);
        self.run(outbox.count_documents(doc! {})).await
    }
}
