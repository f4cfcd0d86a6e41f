//! A message as stored in the outbox.

use keygate_domain::mail::{MailMessage, QueuedMail};
use keygate_domain::{Error, Result};
use mongodb::bson::{doc, Bson, Document};

use super::convert::{bson_time, domain_id, domain_time, object_id};

pub(crate) fn mail_document(mail: &QueuedMail) -> Result<Document> {
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

pub(crate) fn mail_of(document: &Document) -> Result<QueuedMail> {
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
