//! The audit log table's row (§13).

use chrono::{DateTime, Utc};
use keygate_domain::audit::{Action, Actor, ActorKind, AuditEvent, Details, Outcome, Target};
use keygate_domain::Id;
use serde::{Deserialize, Serialize};

use keygate_domain::Result;
use redb::WriteTransaction;

use super::stored::{encode, Stored};
use crate::tables::{AUDIT_BY_ACCOUNT, AUDIT_BY_ACTION, AUDIT_EVENTS};
use crate::unavailable::OrUnavailable;

/// An event as the file keeps it.
#[derive(Serialize, Deserialize)]
pub(crate) struct AuditEventRow {
    event_id: Id,
    at: DateTime<Utc>,
    action: String,
    failed: bool,
    actor_type: String,
    actor_id: Option<String>,
    account_id: Option<Id>,
    target: Option<(String, String)>,
    address: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: Details,
}

fn actor_name(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::User => "user",
        ActorKind::ApiKey => "api_key",
        ActorKind::Operator => "operator",
    }
}

impl Stored for AuditEvent {
    type Row = AuditEventRow;
    fn to_row(&self) -> AuditEventRow {
        AuditEventRow {
            event_id: self.event_id.clone(),
            at: self.at,
            action: self.action.as_str().to_owned(),
            failed: self.outcome == Outcome::Failure,
            actor_type: actor_name(self.actor.kind).to_owned(),
            actor_id: self.actor.id.clone(),
            account_id: self.account_id.clone(),
            target: self.target.as_ref().map(|t| (t.kind.clone(), t.id.clone())),
            address: self.address.clone(),
            user_agent: self.user_agent.clone(),
            request_id: self.request_id.clone(),
            details: self.details.clone(),
        }
    }
    fn from_row(row: AuditEventRow) -> Self {
        // Every name was written from the closed set of actions and actors; one this build
        // does not know (a newer file) reads as the nearest safe thing rather than failing.
        let action = row.action.parse().unwrap_or(Action::LoginFailed);
        let kind = match row.actor_type.as_str() {
            "user" => ActorKind::User,
            "api_key" => ActorKind::ApiKey,
            _ => ActorKind::Operator,
        };
        Self {
            event_id: row.event_id,
            at: row.at,
            action,
            outcome: if row.failed {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            actor: Actor {
                kind,
                id: row.actor_id,
            },
            account_id: row.account_id,
            target: row.target.map(|(kind, id)| Target { kind, id }),
            address: row.address,
            user_agent: row.user_agent,
            request_id: row.request_id,
            details: row.details,
        }
    }
}

/// Writes `event` and its index entry in `txn`: the one way an event enters the file.
pub(crate) fn insert_event(
    txn: &WriteTransaction,
    (id, action): (&str, &str),
    row: &[u8],
    account: Option<&str>,
) -> Result<()> {
    txn.open_table(AUDIT_EVENTS)
        .or_unavailable()?
        .insert(id, row)
        .or_unavailable()?;
    txn.open_table(AUDIT_BY_ACTION)
        .or_unavailable()?
        .insert(format!("{action}/{id}").as_str(), ())
        .or_unavailable()?;
    if let Some(account) = account {
        txn.open_table(AUDIT_BY_ACCOUNT)
            .or_unavailable()?
            .insert(format!("{account}/{id}").as_str(), ())
            .or_unavailable()?;
    }
    Ok(())
}

/// An event ready to be written: its key, row and account.
pub(crate) struct EventRow {
    id: String,
    row: Vec<u8>,
    account: Option<String>,
    action: &'static str,
}

impl EventRow {
    /// Encodes `event`.
    pub(crate) fn of(event: &AuditEvent) -> Result<Self> {
        Ok(Self {
            id: event.event_id.to_string(),
            row: encode(event)?,
            account: event.account_id.as_ref().map(ToString::to_string),
            action: event.action.as_str(),
        })
    }

    /// The event's id, its key.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Writes it in `txn`.
    pub(crate) fn insert(&self, txn: &WriteTransaction) -> Result<()> {
        insert_event(
            txn,
            (&self.id, self.action),
            &self.row,
            self.account.as_deref(),
        )
    }
}
