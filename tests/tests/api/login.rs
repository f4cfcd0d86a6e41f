//! POST /login and POST /api/token, including throttling.

use keygate_tests::{store_tests, Store, TestApp, PASSWORD};
use serde_json::json;

fn logs_in_by_username_email_or_identifier(store: Store) {
    let app = TestApp::spawn(store);
    let user_id = app
        .register("Ivan", "ivan@example.com")
        .str("user_id")
        .to_owned();
    for (path, body) in [
        ("/login", json!({"username": "ivan", "password": PASSWORD})),
        (
            "/v1/login",
            json!({"email": "IVAN@example.com", "password": PASSWORD}),
        ),
        (
            "/api/token",
            json!({"identifier": "Ivan", "password": PASSWORD}),
        ),
        (
            "/login",
            json!({"identifier": "ivan@example.com", "password": PASSWORD}),
        ),
    ] {
        let reply = app.post(path, &body);
        reply.expect(200);
        assert_eq!(reply.body["status"], "success");
        assert_eq!(reply.body["user_id"], user_id.as_str());
        assert_eq!(reply.body["token_type"], "Bearer");
        assert_eq!(reply.body["expires_in"], 900);
        assert_eq!(reply.str("access_token").split('.').count(), 3, "a JWT");
        assert!(reply.str("refresh_token").len() >= 43);
    }
}

fn wrong_password_and_unknown_account_get_the_same_answer(store: Store) {
    let app = TestApp::spawn(store);
    app.register("judy", "judy@example.com").expect(201);
    let wrong = app.login("judy", "not-her-password");
    wrong.expect_error(401, "invalid_credentials");
    let unknown = app.login("nobody-here", "not-her-password");
    unknown.expect_error(401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["message"], "Invalid credentials");
    let odd = app.post(
        "/login",
        &json!({"email": "not an email", "password": "whatever-it-is"}),
    );
    odd.expect_error(401, "invalid_credentials");
    assert_eq!(odd.body, wrong.body);
}

fn missing_login_fields_are_missing_parameters(store: Store) {
    let app = TestApp::spawn(store);
    for body in [
        json!({"username": "judy"}),
        json!({"password": PASSWORD}),
        json!({"username": "", "password": PASSWORD}),
        json!({}),
    ] {
        let reply = app.post("/login", &body);
        reply.expect_error(400, "missing_parameters");
        assert_eq!(reply.body["message"], "Missing parameters");
    }
}

fn repeated_failures_on_an_account_are_throttled(store: Store) {
    let app = TestApp::spawn_with(
        store,
        &[
            ("KEYGATE__AUTH__THROTTLE__ACCOUNT_FAILURES", "3"),
            ("KEYGATE__AUTH__THROTTLE__ACCOUNT_WINDOW_SECS", "600"),
        ],
    );
    app.register("kate", "kate@example.com").expect(201);
    for _ in 0..3 {
        app.login("kate", "wrong-password!")
            .expect_error(401, "invalid_credentials");
    }
    let limited = app.login("kate", "wrong-password!");
    limited.expect_error(429, "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    // Even the right password waits, and so does the account under its other identifier.
    app.login("kate", PASSWORD)
        .expect_error(429, "rate_limited");
    app.post(
        "/login",
        &json!({"email": "kate@example.com", "password": PASSWORD}),
    )
    .expect_error(429, "rate_limited");
    // Other accounts are untouched.
    app.register("leo", "leo@example.com").expect(201);
    app.login("leo", PASSWORD).expect(200);
}

fn a_successful_login_resets_the_accounts_failures(store: Store) {
    let app = TestApp::spawn_with(store, &[("KEYGATE__AUTH__THROTTLE__ACCOUNT_FAILURES", "3")]);
    app.register("mia", "mia@example.com").expect(201);
    for _ in 0..2 {
        app.login("mia", "wrong-password!").expect(401);
    }
    app.login("mia", PASSWORD).expect(200);
    for _ in 0..2 {
        app.login("mia", "wrong-password!").expect(401);
    }
    app.login("mia", PASSWORD).expect(200);
}

fn repeated_failures_from_one_address_are_throttled(store: Store) {
    let app = TestApp::spawn_with(
        store,
        &[
            ("KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES", "5"),
            ("KEYGATE__AUTH__THROTTLE__ADDRESS_WINDOW_SECS", "300"),
        ],
    );
    app.register("nina", "nina@example.com").expect(201);
    for i in 0..5 {
        app.login(&format!("ghost{i}"), "wrong-password!")
            .expect(401);
    }
    let limited = app.login("nina", PASSWORD);
    limited.expect_error(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
}

store_tests!(
    logs_in_by_username_email_or_identifier,
    wrong_password_and_unknown_account_get_the_same_answer,
    missing_login_fields_are_missing_parameters,
    repeated_failures_on_an_account_are_throttled,
    a_successful_login_resets_the_accounts_failures,
    repeated_failures_from_one_address_are_throttled,
);
