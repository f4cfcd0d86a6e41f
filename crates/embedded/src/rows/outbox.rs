//! The mail outbox table's row.

use chrono::{DateTime, Utc};
use keygate_domain::mail::{MailMessage, QueuedMail};
use keygate_domain::Id;
use serde::{Deserialize, Serialize};

use super::stored::Stored;

/// A message in the outbox.
#[derive(Serialize, Deserialize)]
pub(crate) struct QueuedMailRow {
    id: Id,
    to: String,
    subject: String,
    text: String,
    html: String,
    created_at: DateTime<Utc>,
    attempts: u32,
    next_attempt_at: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
}

impl Stored for QueuedMail {
    type Row = QueuedMailRow;
    fn to_row(&self) -> QueuedMailRow {
        QueuedMailRow {
            id: self.id.clone(),
            to: self.message.to.clone(),
            subject: self.message.subject.clone(),
            text: self.message.text.clone(),
            html: self.message.html.clone(),
            created_at: self.created_at,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            lease_until: self.lease_until,
        }
    }
    fn from_row(row: QueuedMailRow) -> Self {
        Self {
            id: row.id,
            message: MailMessage {
                to: row.to,
                subject: row.subject,
                text: row.text,
                html: row.html,
            },
            created_at: row.created_at,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            lease_until: row.lease_until,
        }
    }
}
