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
        assert!(
            timestamp.ends_with('Z') && timestamp.contains('T'),
            "{timestamp}"
        );
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

store_tests!(
    health_answers_ok_with_an_rfc3339_timestamp,
    ready_answers_when_the_store_does,
    every_response_carries_a_request_id_and_echoes_the_clients,
);
