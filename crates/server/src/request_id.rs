//! `x-request-id` on every response: the client's own when it sent a sane one, else a fresh one.
//! Every log line of the request carries it, so a 500 can be traced from the client's report.
//! The request is served inside its audit context (address, user agent, request id; §13).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Instrument;

/// The header that carries the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, stored in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The account a request was authenticated as, stored in its extensions by the extractors so
/// the request's log line can name it.
#[derive(Debug, Clone)]
pub struct LoggedUser(pub String);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A per-process random prefix and a counter: unique across instances and restarts without a
/// `getrandom` system call per request (which showed in the profile of authenticated reads).
fn fresh_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // An id is for correlation only; a clock-based prefix is good enough.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = (nanos as u64).to_be_bytes();
        }
        hex::encode(bytes)
    });
    format!("{prefix}{:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A route pattern as people write it: `/api/data/{key:.*}` becomes `/api/data/{key}`.
pub fn route_template(pattern: &str) -> String {
    let mut template = String::with_capacity(pattern.len());
    let mut depth = 0usize; // braces open inside a dynamic segment
    let mut skipping = false; // inside a segment's `:pattern`
    for c in pattern.chars() {
        match c {
            '{' => {
                depth += 1;
                if !skipping {
                    template.push(c);
                }
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    skipping = false;
                    template.push(c);
                } else if !skipping {
                    template.push(c);
                }
            }
            ':' if depth == 1 => skipping = true,
            _ if skipping => {}
            _ => template.push(c),
        }
    }
    template
}

/// Middleware: assigns the id, runs the request inside a span carrying it, and echoes it.
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(fresh_id, str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = std::time::Instant::now();
    let metrics = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| state.http_metrics.clone());
    let method = req.method().clone();
    // The raw path is never logged: it may hold a data key or a record id.
    let span = tracing::info_span!("request", id = %id, method = %method_label(&method));
    // What the audit log learns of the request (§13): from the connection and its headers,
    // never from the body.
    let context = keygate_domain::audit::RequestContext {
        address: crate::extract::client_address(req.request()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(keygate_domain::audit::cut_user_agent),
        request_id: Some(id.clone()),
    };
    let mut response =
        keygate_domain::audit::serve_request(context, next.call(req).instrument(span.clone()))
            .await?;
    let status = response.status();
    let route = response.request().match_pattern().map_or_else(
        || "unmatched".to_owned(),
        |pattern| route_template(&pattern),
    );
    let user = response
        .request()
        .extensions()
        .get::<LoggedUser>()
        .map(|user| user.0.clone());
    let latency = started.elapsed();
    if let Some(metrics) = &metrics {
        metrics.record(&route, method_label(&method), status.as_u16(), latency);
    }
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        span.in_scope(|| tracing::error!(status = status.as_u16(), %route, "request failed"));
    }
    tracing::info!(
        request_id = %id,
        %method,
        %route,
        status = status.as_u16(),
        latency_ms,
        user_id = user.as_deref().unwrap_or("-"),
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// The method as a metrics label and in the log: one of the standard methods, else `OTHER`.
/// A client may send any token as a method; each would otherwise become a series of its own,
/// kept for ever, and a line of whatever length it likes in the log.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        use actix_web::http::Method;
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(&[b'X'; 60_000]).expect("a token");
        assert_eq!(method_label(&made_up), "OTHER");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").expect("a token")),
            "OTHER"
        );
    }

    #[test]
    fn route_templates_drop_segment_patterns() {
        assert_eq!(route_template("/api/data/{key:.*}"), "/api/data/{key}");
        assert_eq!(
            route_template("/api/{api_name}/{endpoint}/{record_id}"),
            "/api/{api_name}/{endpoint}/{record_id}"
        );
        assert_eq!(route_template("/v1/x/{id:[0-9]+}/y"), "/v1/x/{id}/y");
        assert_eq!(route_template("/x/{id:[0-9]{2}}/{y}"), "/x/{id}/{y}");
        assert_eq!(route_template("/health"), "/health");
    }

    #[test]
    fn accepts_sane_ids_and_refuses_others() {
        assert!(acceptable("abc-123_x.y:z"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable(&"x".repeat(129)));
        let (first, second) = (fresh_id(), fresh_id());
        assert_eq!(first.len(), 24);
        assert!(acceptable(&first));
        assert_ne!(first, second);
        assert_eq!(first[..16], second[..16], "one prefix per process");
    }
}
