//! The framework's own errors in the contract's envelope: 404, 405, 400, 413, 415.

use keygate_tests::{store_tests, Store, TestApp};

fn unknown_routes_are_404_in_the_envelope(store: Store) {
    let app = TestApp::spawn(store);
    for path in ["/nope", "/v1/nope", "/v1", "/api/a/b/c/d"] {
        app.get(path, None).expect_error(404, "not_found");
    }
}

fn wrong_methods_are_405_in_the_envelope(store: Store) {
    let app = TestApp::spawn(store);
    app.get("/login", None)
        .expect_error(405, "method_not_allowed");
    app.request("DELETE", "/v1/register", &[], None)
        .expect_error(405, "method_not_allowed");
    app.request("POST", "/health", &[], None)
        .expect_error(405, "method_not_allowed");
    app.request("GET", "/profile/password", &[], None)
        .expect_error(405, "method_not_allowed");
}

fn bodies_that_are_not_json_objects_are_invalid_json(store: Store) {
    let app = TestApp::spawn(store);
    let json = [("content-type", "application/json")];
    for body in [
        "{not json",
        "[1,2]",
        "\"text\"",
        "42",
        "null",
        "{\"username\": 5, \"password\": \"x\"}",
    ] {
        app.request("POST", "/register", &json, Some(body.as_bytes()))
            .expect_error(400, "invalid_json");
        app.request("POST", "/login", &json, Some(body.as_bytes()))
            .expect_error(400, "invalid_json");
    }
}

fn other_media_types_are_415(store: Store) {
    let app = TestApp::spawn(store);
    let body = br#"{"username":"alice","password":"vivid-otter-42-lamp"}"#;
    app.request(
        "POST",
        "/login",
        &[("content-type", "text/plain")],
        Some(body),
    )
    .expect_error(415, "unsupported_media_type");
    app.request(
        "POST",
        "/register",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body),
    )
    .expect_error(415, "unsupported_media_type");
    // A declared charset is fine.
    app.request(
        "POST",
        "/login",
        &[("content-type", "application/json; charset=utf-8")],
        Some(body),
    )
    .expect_error(401, "invalid_credentials");
}

fn bodies_over_the_limit_are_413(store: Store) {
    let app = TestApp::spawn_with(store, &[("KEYGATE__SERVER__MAX_BODY_BYTES", "2048")]);
    let padding = "x".repeat(4096);
    let body = format!(r#"{{"username":"alice","password":"{padding}"}}"#);
    app.request(
        "POST",
        "/register",
        &[("content-type", "application/json")],
        Some(body.as_bytes()),
    )
    .expect_error(413, "payload_too_large");
    let fits = format!(
        r#"{{"username":"alice","email":"a@example.com","password":"{}"}}"#,
        "y".repeat(100)
    );
    app.request(
        "POST",
        "/register",
        &[("content-type", "application/json")],
        Some(fits.as_bytes()),
    )
    .expect(201);
}

fn the_default_limit_is_one_mebibyte(store: Store) {
    let app = TestApp::spawn(store);
    let body = format!(
        r#"{{"username":"alice","name":"{}"}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    app.request(
        "POST",
        "/register",
        &[("content-type", "application/json")],
        Some(body.as_bytes()),
    )
    .expect_error(413, "payload_too_large");
}

store_tests!(
    unknown_routes_are_404_in_the_envelope,
    wrong_methods_are_405_in_the_envelope,
    bodies_that_are_not_json_objects_are_invalid_json,
    other_media_types_are_415,
    bodies_over_the_limit_are_413,
    the_default_limit_is_one_mebibyte,
);
