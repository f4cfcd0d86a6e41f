//! The operator's surface: log lines, graceful shutdown on SIGTERM/SIGINT, and CORS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use keygate_tests::{Store, TestApp, PASSWORD};
use serde_json::{json, Value};

/// Waits up to five seconds for a log line containing `needle`.
fn logged_line(app: &TestApp, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(line) = app.log().lines().find(|l| l.contains(needle)) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needle}:\n{}",
            app.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn off_a_terminal_each_request_is_one_json_line_without_colour_or_secrets() {
    let app = TestApp::spawn(Store::Embedded);
    let (_, token, refresh) = app.signed_up_user();
    let profile = app.get("/profile", Some(&token));
    profile.expect(200);
    let user_id = profile.str("id").to_owned();
    let request_id = profile
        .header("x-request-id")
        .expect("request id")
        .to_owned();
    app.get("/api/data/private-key-name-42", Some(&token))
        .expect(404);

    let line = logged_line(&app, &request_id);
    let entry: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(entry["route"], "/profile");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["user_id"], user_id.as_str());
    assert!(entry["latency_ms"].is_number(), "{line}");
    let missing = logged_line(&app, "/api/data/{key}");
    let missing: Value = serde_json::from_str(&missing).expect("a JSON log line");
    assert_eq!(missing["status"], 404);

    let log = app.log();
    for line in log.lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
            "not a JSON object: {line}"
        );
    }
    assert!(!log.contains('\u{1b}'), "escape codes in a piped log");
    for secret in [
        token.as_str(),
        refresh.as_str(),
        PASSWORD,
        "private-key-name-42",
    ] {
        assert!(!log.contains(secret), "the log holds {secret}");
    }
}

#[test]
fn pretty_logs_on_request_and_never_colour_off_a_terminal() {
    let app = TestApp::spawn_with(Store::Embedded, &[("KEYGATE__LOG__FORMAT", "pretty")]);
    let reply = app.get("/health", None);
    reply.expect(200);
    let request_id = reply.header("x-request-id").expect("request id");
    let line = logged_line(&app, request_id);
    assert!(!line.starts_with('{'), "{line}");
    assert!(
        line.contains("route=/health") && line.contains("status=200"),
        "{line}"
    );
    assert!(!app.log().contains('\u{1b}'), "escape codes in a piped log");
}

/// Sends the head of a `POST /api/data` and half its body; the rest is sent by the caller.
fn start_slow_write(app: &TestApp, token: &str, body: &str) -> TcpStream {
    let address = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connected");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST /api/data HTTP/1.1\r\nHost: keygate\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head sent");
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .expect("half the body sent");
    stream
}

fn finish_and_read_status(mut stream: TcpStream, body: &str) -> u16 {
    stream
        .write_all(&body.as_bytes()[body.len() / 2..])
        .expect("rest of the body sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

fn stops_gracefully_on(signal: &str) {
    let mut app = TestApp::spawn(Store::Embedded);
    let (username, token, _) = app.signed_up_user();
    let body = json!({"key": "in-flight", "value": {"kept": true}}).to_string();
    let in_flight = start_slow_write(&app, &token, &body);
    std::thread::sleep(Duration::from_millis(200));
    app.signal(signal);
    logged_line(&app, &format!("SIG{signal} received"));
    // No new connections are accepted once the shutdown has begun.
    let address = app.base.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&address).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The request that was in flight completes.
    assert_eq!(finish_and_read_status(in_flight, &body), 201);
    let status = app
        .wait_for_exit(Duration::from_secs(20))
        .expect("the server exits after its last request");
    assert!(status.success(), "exit status {status}");
    logged_line(&app, "keygate stopped");
    // What it acknowledged is there after a restart.
    let app = app.restart();
    let login = app.login(&username, PASSWORD);
    login.expect(200);
    let token = login.str("access_token").to_owned();
    app.get("/api/data/in-flight", Some(&token)).expect(200);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits_cleanly() {
    stops_gracefully_on("TERM");
}

#[test]
fn sigint_is_as_graceful_as_sigterm() {
    stops_gracefully_on("INT");
}

fn preflight(app: &TestApp, origin: &str) -> keygate_tests::Reply {
    app.request(
        "OPTIONS",
        "/login",
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        None,
    )
}

#[test]
fn without_cors_origins_no_cors_header_is_sent() {
    let app = TestApp::spawn(Store::Embedded);
    let reply = app.request(
        "GET",
        "/health",
        &[("origin", "https://app.example.com")],
        None,
    );
    reply.expect(200);
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[test]
fn listed_origins_get_cors_with_credentials_and_others_get_nothing() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[(
            "KEYGATE__SERVER__CORS_ORIGINS",
            "https://app.example.com, http://localhost:5173",
        )],
    );
    let allowed = preflight(&app, "https://app.example.com");
    assert!(allowed.status < 300, "preflight: {}", allowed.status);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    let methods = allowed
        .header("access-control-allow-methods")
        .expect("allowed methods");
    assert!(methods.contains("POST"), "{methods}");

    let simple = app.request(
        "GET",
        "/health",
        &[("origin", "http://localhost:5173")],
        None,
    );
    simple.expect(200);
    assert_eq!(
        simple.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let exposed = simple
        .header("access-control-expose-headers")
        .expect("exposed headers")
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    let stranger = app.request(
        "GET",
        "/health",
        &[("origin", "https://evil.example")],
        None,
    );
    stranger.expect(200);
    assert_eq!(stranger.header("access-control-allow-origin"), None);
    let refused = preflight(&app, "https://evil.example");
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[test]
fn a_wildcard_origin_never_comes_with_credentials() {
    let app = TestApp::spawn_with(Store::Embedded, &[("KEYGATE__SERVER__CORS_ORIGINS", "*")]);
    let reply = app.request(
        "GET",
        "/health",
        &[("origin", "https://anyone.example")],
        None,
    );
    reply.expect(200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("access-control-allow-credentials"), None);
}

#[test]
fn an_origin_that_is_not_one_stops_the_start() {
    let failure = TestApp::spawn_expecting_failure(&[(
        "KEYGATE__SERVER__CORS_ORIGINS",
        "https://app.example.com/",
    )]);
    let log = failure.log.join("\n");
    assert!(log.contains("server.cors_origins"), "{log}");
}

#[test]
fn metrics_count_requests_by_route_template_never_by_raw_path() {
    let app = TestApp::spawn(Store::Embedded);
    let (_, token, _) = app.signed_up_user();
    app.get("/api/data/private-key-name-42", Some(&token))
        .expect(404);
    app.get("/health", None).expect(200);
    let reply = app.get("/metrics", None);
    reply.expect(200);
    assert!(reply
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain")));
    let text = &reply.text;
    assert!(
        text.contains(
            "keygate_http_requests_total{route=\"/api/data/{key}\",method=\"GET\",status=\"404\"} 1"
        ),
        "{text}"
    );
    assert!(text
        .contains("keygate_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"}"));
    assert!(text.contains("keygate_http_request_duration_seconds_bucket{route=\"/login\",method=\"POST\",le=\"+Inf\"} 1"));
    for gauge in [
        "keygate_hashing_queue_depth 0",
        "keygate_hashing_queue_wait_seconds_count 2",
        "keygate_sessions_live_cached 1",
        "keygate_throttle_refusals_total{kind=\"login\"} 0",
        "keygate_store_errors_total 0",
    ] {
        assert!(text.contains(gauge), "{gauge} missing:\n{text}");
    }
    // Store operations, by port and method: the registration's insert, the data lookup.
    for series in [
        "keygate_store_operation_duration_seconds_count{operation=\"users.insert\"} 1",
        "keygate_store_operation_duration_seconds_count{operation=\"data.find\"} 1",
        "keygate_store_operation_duration_seconds_bucket{operation=\"sessions.create\",le=\"+Inf\"} 1",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    assert!(
        !text.contains("keygate_store_operation_errors_total{"),
        "{text}"
    );
    assert!(!text.contains("private-key-name-42"));
}

#[test]
fn metrics_can_require_a_token_or_be_switched_off() {
    let guarded = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__METRICS__TOKEN", "scrape-secret-of-some-length")],
    );
    guarded
        .get("/metrics", None)
        .expect_error(401, "unauthorized");
    guarded
        .get("/metrics", Some("wrong-secret"))
        .expect_error(401, "unauthorized");
    guarded
        .get("/metrics", Some("scrape-secret-of-some-length"))
        .expect(200);
    let off = TestApp::spawn_with(Store::Embedded, &[("KEYGATE__METRICS__ENABLED", "false")]);
    off.get("/metrics", None).expect_error(404, "not_found");
}

/// A GET on another address than the app's: (status, body).
fn get_at(address: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(format!("http://{address}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

#[test]
fn metrics_listen_serves_metrics_on_its_own_address_only() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("KEYGATE__METRICS__LISTEN", "127.0.0.1:0"),
            ("KEYGATE__METRICS__TOKEN", "scrape-secret-of-some-length"),
        ],
    );
    app.signed_up_user();
    let line = logged_line(&app, "metrics on http://");
    let address = line
        .split("metrics on http://")
        .nth(1)
        .and_then(|rest| rest.split("/metrics").next())
        .unwrap()
        .to_owned();
    assert_ne!(address, "127.0.0.1:0", "{line}");

    // The API's own port does not serve it, with or without the token.
    app.get("/metrics", Some("scrape-secret-of-some-length"))
        .expect_error(404, "not_found");
    app.get("/v1/metrics", Some("scrape-secret-of-some-length"))
        .expect_error(404, "not_found");

    let (status, text) = get_at(&address, "/metrics", Some("scrape-secret-of-some-length"));
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(
            "keygate_http_requests_total{route=\"/register\",method=\"POST\",status=\"201\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "keygate_store_operation_duration_seconds_count{operation=\"users.insert\"} 1"
        ),
        "{text}"
    );
    // The token still applies there, and nothing else is served.
    assert_eq!(get_at(&address, "/metrics", None).0, 401);
    let (status, body) = get_at(&address, "/profile", None);
    assert_eq!(status, 404, "{body}");
    assert_eq!(get_at(&address, "/health", None).0, 404);
}

#[test]
fn openapi_describes_every_served_method_and_only_those() {
    let app = TestApp::spawn(Store::Embedded);
    let reply = app.get("/openapi.json", None);
    reply.expect(200);
    let document = &reply.body;
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["components"]["securitySchemes"]["bearerAuth"].is_object());
    assert!(document["components"]["securitySchemes"]["apiKey"].is_object());
    let methods = ["get", "post", "put", "patch", "delete"];
    for (path, item) in document["paths"].as_object().expect("paths") {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in methods {
            let reply = app.request(&method.to_uppercase(), &concrete, &[], None);
            let documented = item.get(method).is_some();
            assert_eq!(
                reply.status == 405,
                !documented,
                "{method} {concrete} answered {} (documented: {documented})",
                reply.status
            );
        }
    }
}
