//! An audit event as stored (§13): `_id` is the event id as an ObjectId (both sort by time),
//! `at` a BSON date for people reading the collection, `at_us` its exact microseconds.

use chrono::DateTime;
use keygate_domain::audit::{Action, Actor, ActorKind, AuditEvent, Outcome, Target};
use keygate_domain::{Error, Result};
use mongodb::bson::{doc, Bson, Document};

use super::convert::{bson_time, domain_id, object_id};

fn text_or_null(text: Option<&str>) -> Bson {
    text.map_or(Bson::Null, |t| Bson::String(t.to_owned()))
}

/// The document of `event`.
pub(crate) fn audit_document(event: &AuditEvent) -> Result<Document> {
    let details = serde_json::to_string(&event.details)
        .map_err(|e| Error::Internal(format!("cannot encode event details: {e}")))?;
    Ok(doc! {
        "_id": object_id(&event.event_id)?,
        "at": bson_time(event.at),
        "at_us": event.at.timestamp_micros(),
        "action": event.action.as_str(),
        "failed": event.outcome == Outcome::Failure,
        "actor_type": match event.actor.kind {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::Operator => "operator",
        },
        "actor_id": text_or_null(event.actor.id.as_deref()),
        "account_id": match &event.account_id {
            Some(id) => Bson::ObjectId(object_id(id)?),
            None => Bson::Null,
        },
        "target": event.target.as_ref().map_or(Bson::Null, |t| Bson::Document(doc! {"type": &t.kind, "id": &t.id})),
        "address": text_or_null(event.address.as_deref()),
        "user_agent": text_or_null(event.user_agent.as_deref()),
        "request_id": text_or_null(event.request_id.as_deref()),
        "details": details,
    })
}

/// The event a stored document holds.
pub(crate) fn audit_event_of(document: &Document) -> Result<AuditEvent> {
    let unreadable = |what: &str| Error::Internal(format!("stored audit event: bad {what}"));
    let optional = |field: &str| match document.get(field) {
        Some(Bson::String(text)) => Some(text.clone()),
        _ => None,
    };
    let event_id = domain_id(
        document
            .get_object_id("_id")
            .map_err(|_| unreadable("id"))?,
    )?;
    let at = document
        .get_i64("at_us")
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| unreadable("at_us"))?;
    let action: Action = document
        .get_str("action")
        .map_err(|_| unreadable("action"))?
        .parse()
        .map_err(|()| unreadable("action"))?;
    let kind = match document.get_str("actor_type").unwrap_or_default() {
        "user" => ActorKind::User,
        "api_key" => ActorKind::ApiKey,
        _ => ActorKind::Operator,
    };
    let account_id = match document.get("account_id") {
        Some(Bson::ObjectId(id)) => Some(domain_id(*id)?),
        _ => None,
    };
    let target = match document.get("target") {
        Some(Bson::Document(target)) => Some(Target {
            kind: target.get_str("type").unwrap_or_default().to_owned(),
            id: target.get_str("id").unwrap_or_default().to_owned(),
        }),
        _ => None,
    };
    let details = serde_json::from_str(document.get_str("details").unwrap_or("{}"))
        .map_err(|_| unreadable("details"))?;
    Ok(AuditEvent {
        event_id,
        at,
        action,
        outcome: if document.get_bool("failed").unwrap_or(false) {
            Outcome::Failure
        } else {
            Outcome::Success
        },
        actor: Actor {
            kind,
            id: optional("actor_id"),
        },
        account_id,
        target,
        address: optional("address"),
        user_agent: optional("user_agent"),
        request_id: optional("request_id"),
        details,
    })
}
