//! GET /health, GET /ready and request ids.

use keygate_tests::{store_tests, Store, TestApp};

fn health_answers_ok_with_an_rfc3339_timestamp(store: Store) {
    let app = TestApp::spawn(store);
    for path in ["/health", "/v1/health"] {
        let reply = app.get(path, None);
        reply.expect(200);
        assert_eq!(reply.body["status"], "success");
        assert_eq!(reply.body["message"], "OK");
        let timestamp = reply.str("timestamp");
        assert!(timestamp.ends_with('Z'), "{timestamp} is not UTC");
        let at = chrono::DateTime::parse_from_rfc3339(timestamp)
            .unwrap_or_else(|e| panic!("{timestamp} is not RFC 3339: {e}"));
        let off = (chrono::Utc::now() - at.with_timezone(&chrono::Utc)).num_milliseconds();
        assert!(off.abs() < 5_000, "{timestamp} is {off} ms from now");
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
}

fn ready_answers_when_the_store_does(store: Store) {
    let app = TestApp::spawn(store);
    let reply = app.get("/ready", None);
    reply.expect(200);
    assert_eq!(reply.body["status"], "success");
    app.get("/v1/ready", None).expect(200);
}

fn every_response_carries_a_request_id_and_echoes_the_clients(store: Store) {
    let app = TestApp::spawn(store);
    let generated = app.get("/health", None);
    let id = generated.header("x-request-id").unwrap();
    assert!(id.len() >= 16, "{id}");
    let other = app.get("/health", None);
    assert_ne!(other.header("x-request-id"), Some(id));
    let echoed = app.request(
        "GET",
        "/nowhere",
        &[("x-request-id", "client-chosen-42")],
        None,
    );
    assert_eq!(echoed.header("x-request-id"), Some("client-chosen-42"));
    let refused = app.request(
        "GET",
        "/health",
        &[("x-request-id", "bad id with spaces")],
        None,
    );
    assert_ne!(refused.header("x-request-id"), Some("bad id with spaces"));
}

fn responses_are_never_cached_nor_sniffed(store: Store) {
    let app = TestApp::spawn(store);
    let (username, _, _) = app.signed_up_user();
    let login = app.login(&username, keygate_tests::PASSWORD);
    for reply in [
        &login,
        &app.get("/health", None),
        &app.get("/nowhere", None),
    ] {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{reply:?}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
}

fn load_balancers_may_probe_with_head(store: Store) {
    let app = TestApp::spawn(store);
    app.request("HEAD", "/health", &[], None).expect(200);
    app.request("HEAD", "/v1/ready", &[], None).expect(200);
}

store_tests!(
    responses_are_never_cached_nor_sniffed,
    load_balancers_may_probe_with_head,
    health_answers_ok_with_an_rfc3339_timestamp,
    ready_answers_when_the_store_does,
    every_response_carries_a_request_id_and_echoes_the_clients,
);
