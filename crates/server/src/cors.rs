//! CORS for browser clients (`server.cors_origins`). Empty (the default): no CORS headers at
//! all. Listed origins get their own origin echoed back, with credentials allowed; `"*"` allows
//! any origin, never with credentials. A request from an origin not listed is served without
//! CORS headers, so the browser withholds the answer from the page.

use actix_cors::Cors;
use actix_web::http::{header, Method};

use crate::config::InvalidSetting;

/// Headers a browser client may send: the credentials of every style the contract accepts.
const ALLOWED_HEADERS: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::HeaderName::from_static("x-api-key"),
    header::HeaderName::from_static("x-access-token"),
];

/// How long a browser may reuse a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 600;

/// The allow-list, checked at start-up.
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins {
    any: bool,
    origins: Vec<String>,
}

impl CorsOrigins {
    /// Parses `server.cors_origins`: `"*"` or origins such as `https://app.example.com:8443`
    /// (scheme and host, optional port, nothing else).
    pub fn parse(entries: &[String]) -> Result<Self, InvalidSetting> {
        let mut allowed = Self::default();
        for entry in entries {
            if entry == "*" {
                allowed.any = true;
            } else if is_origin(entry) {
                allowed.origins.push(entry.clone());
            } else {
                return Err(InvalidSetting {
                    setting: "server.cors_origins",
                    problem: format!(
                        "{entry:?} is not an origin like https://app.example.com (scheme and \
                         host, optional port, no path or trailing slash) nor \"*\""
                    ),
                });
            }
        }
        Ok(allowed)
    }

    /// Whether any CORS header is to be sent at all.
    pub fn enabled(&self) -> bool {
        self.any || !self.origins.is_empty()
    }

    /// The middleware for one worker.
    pub fn middleware(&self) -> Cors {
        let mut cors = Cors::default()
            .allowed_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allowed_headers(ALLOWED_HEADERS)
            .allowed_header(crate::request_id::REQUEST_ID)
            .expose_headers([crate::request_id::REQUEST_ID, header::RETRY_AFTER])
            .max_age(PREFLIGHT_MAX_AGE)
            .block_on_origin_mismatch(false);
        if self.any {
            cors = cors.allow_any_origin().send_wildcard();
        } else {
            for origin in &self.origins {
                cors = cors.allowed_origin(origin);
            }
            cors = cors.supports_credentials();
        }
        cors
    }
}

fn is_origin(entry: &str) -> bool {
    let Some(rest) = entry
        .strip_prefix("https://")
        .or_else(|| entry.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.contains(']') || host.ends_with(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(entries: &[&str]) -> Result<CorsOrigins, InvalidSetting> {
        CorsOrigins::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn accepts_origins_and_the_wildcard() {
        assert!(!parse(&[]).expect("empty").enabled());
        assert!(parse(&["*"]).expect("wildcard").enabled());
        let listed = parse(&["https://app.example.com", "http://localhost:5173"]).expect("ok");
        assert_eq!(listed.origins.len(), 2);
        assert!(parse(&["http://[::1]:8080"]).is_ok());
    }

    #[test]
    fn refuses_what_is_not_an_origin() {
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://example.com",
            "https://",
            "https://example.com:http",
            "https://exa mple.com",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad} accepted");
        }
    }
}
