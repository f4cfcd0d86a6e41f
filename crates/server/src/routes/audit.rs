//! The audit log (§13): `GET /audit` (the caller's own events) and `GET /admin/audit` (every
//! account's, for administrators), as pages or, with `?format=jsonl`, streamed as JSON lines.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use keygate_domain::audit::{AuditQuery, AuditService};
use keygate_domain::{Error, Id, PageRequest};
use serde::Deserialize;
use serde_json::json;

use super::respond::success;
use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::openapi::Doc;
use crate::state::AppState;

/// Events read per store call while streaming: bounds the memory of one export (about
/// 0.5 MiB of JSON) whatever its length.
const EXPORT_BATCH: usize = 1_000;

/// The media type of the JSON-lines export.
const JSONL: &str = "application/x-ndjson";

/// The query string of both listings.
#[derive(Debug, Deserialize)]
pub struct AuditParams {
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    account_id: Option<String>,
    format: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl AuditParams {
    /// The filters, and whether JSON lines were asked for.
    fn query(&self) -> Result<(AuditQuery, bool), Error> {
        let query = AuditQuery::parse(
            self.action.as_deref(),
            self.since.as_deref(),
            self.until.as_deref(),
            self.account_id.as_deref(),
        )?;
        let lines = match self.format.as_deref() {
            None | Some("" | "json") => false,
            Some("jsonl") => true,
            Some(_) => return Err(Error::invalid("format", "must be json or jsonl")),
        };
        Ok((query, lines))
    }

    fn page(&self) -> Result<PageRequest, Error> {
        PageRequest::new(self.limit, self.cursor.clone())
    }
}

/// `GET /audit`: the caller's own events, newest first.
pub async fn own_events(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let (mut query, lines) = params.query()?;
    let audit = state.keygate.audit.clone();
    if lines {
        query.account_id = Some(principal.user_id);
        return Ok(stream_lines(audit, query, params.page()?.after_id()?));
    }
    let page = audit.own_events(&principal, query, &params.page()?).await?;
    Ok(success(
        StatusCode::OK,
        json!({"events": page.items, "next_cursor": page.next_cursor}),
    ))
}

/// `GET /admin/audit`: every account's events, for administrators.
pub async fn all_events(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let (query, lines) = params.query()?;
    let audit = state.keygate.audit.clone();
    if lines {
        audit.require_admin(&principal).await?;
        return Ok(stream_lines(audit, query, params.page()?.after_id()?));
    }
    let page = audit
        .all_events(&principal, &query, &params.page()?)
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"events": page.items, "next_cursor": page.next_cursor}),
    ))
}

/// Streams every event `query` wants, newest first, one JSON object per line, a batch at a
/// time. A store failure midway ends the stream early (the status line has gone already); the
/// error is logged and the truncation visible as a last line that is not an event.
fn stream_lines(audit: Arc<AuditService>, query: AuditQuery, before: Option<Id>) -> HttpResponse {
    let lines = futures_util::stream::unfold(Some(before), move |state| {
        let (audit, query) = (audit.clone(), query.clone());
        async move {
            let before = state?;
            match audit.export_batch(&query, before, EXPORT_BATCH).await {
                Ok((events, next)) => {
                    if events.is_empty() && next.is_none() {
                        return None;
                    }
                    let mut chunk = Vec::with_capacity(events.len() * 512);
                    for event in &events {
                        if serde_json::to_writer(&mut chunk, event).is_ok() {
                            chunk.push(b'\n');
                        }
                    }
                    let rest = next.map(Some);
                    Some((Ok::<_, actix_web::Error>(Bytes::from(chunk)), rest))
                }
                Err(error) => {
                    tracing::error!(%error, "the audit export stopped early");
                    let last = br#"{"status":"error","code":"unavailable","message":"the export stopped early"}"#;
                    Some((Ok(Bytes::from_static(last)), None))
                }
            }
        }
    });
    HttpResponse::Ok().content_type(JSONL).streaming(lines)
}

/// The audit routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::Verb::Get;
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Get],
            path: "/audit",
            handler: |r| r.to(own_events),
            doc: Doc {
                summary: "The caller's own security events, newest first (§13)",
                tag: "audit",
                auth: Token,
                response: schema::events,
                errors: &[400],
                query: FILTERS,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/admin/audit",
            handler: |r| r.to(all_events),
            doc: Doc {
                summary: "Every account's security events, for administrators (§13)",
                tag: "audit",
                auth: Token,
                response: schema::events,
                errors: &[400, 403],
                query: ADMIN_FILTERS,
                ..DOC
            },
            ..ROUTE
        },
    ]
}

const FILTERS: &[(&str, &str)] = &[
    (
        "action",
        "comma list of actions, or a prefix with `*` (`login.*`)",
    ),
    ("since", "RFC 3339 time: events at or after it"),
    ("until", "RFC 3339 time: events at or before it"),
    (
        "format",
        "`jsonl` streams every matching event as JSON lines",
    ),
    ("limit", "page size (1 to 500, default 50)"),
    ("cursor", "next_cursor of the previous page"),
];

const ADMIN_FILTERS: &[(&str, &str)] = &[
    (
        "action",
        "comma list of actions, or a prefix with `*` (`login.*`)",
    ),
    ("since", "RFC 3339 time: events at or after it"),
    ("until", "RFC 3339 time: events at or before it"),
    ("account_id", "only this account's events"),
    (
        "format",
        "`jsonl` streams every matching event as JSON lines",
    ),
    ("limit", "page size (1 to 500, default 50)"),
    ("cursor", "next_cursor of the previous page"),
];

/// The JSON Schema of a page of events.
mod schema {
    use crate::routes::bodies::{success_with, TIME};
    use keygate_domain::audit::Action;
    use serde_json::{json, Value};

    /// A page of events.
    pub(super) fn events() -> Value {
        let actions: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        let text = json!({"type": ["string", "null"]});
        success_with(
            json!({
                "events": {"type": "array", "items": {
                    "type": "object",
                    "required": ["event_id", "at", "action", "outcome", "actor", "details"],
                    "properties": {
                        "event_id": {"type": "string"},
                        "at": {"type": "string", "format": TIME},
                        "action": {"enum": actions},
                        "outcome": {"enum": ["success", "failure"]},
                        "actor": {"type": "object", "properties": {
                            "type": {"enum": ["user", "api_key", "operator"]},
                            "id": text
                        }},
                        "account_id": text,
                        "target": {"type": ["object", "null"]},
                        "address": text,
                        "user_agent": text,
                        "request_id": text,
                        "details": {"type": "object"}
                    }
                }},
                "next_cursor": {"type": ["string", "null"]}
            }),
            &["events", "next_cursor"],
        )
    }
}
