//! §12, re-authentication: every sensitive change needs the current password or a login
//! within `auth.reauth_window_secs` (1 s here), on both stores. Each route's refusal is asked
//! for separately, so a route that skips the proof fails here.

use keygate_tests::otp::{pyotp_code, unix_now};
use keygate_tests::{store_tests, Store, TestApp, PASSWORD};
use serde_json::json;

/// The server with a 1 s window and passkeys configured.
fn spawn(store: Store) -> TestApp {
    TestApp::spawn_with(
        store,
        &[
            ("KEYGATE__AUTH__REAUTH_WINDOW_SECS", "1"),
            ("KEYGATE__AUTH__WEBAUTHN__RP_ID", "localhost"),
            ("KEYGATE__AUTH__WEBAUTHN__ORIGIN", "http://localhost:8080"),
        ],
    )
}

/// Waits until a session started now is past the 1 s window.
fn let_the_window_pass() {
    std::thread::sleep(std::time::Duration::from_millis(2_500));
}

fn every_second_factor_change_needs_a_fresh_proof(store: Store) {
    let app = spawn(store);
    let (_, fresh) = app.proven_account("reauth");
    // Within the window no password is needed, and no body either.
    app.request(
        "POST",
        "/mfa/totp",
        &[("authorization", &format!("Bearer {fresh}"))],
        None,
    )
    .expect(201);
    app.json("POST", "/passkeys/register/start", Some(&fresh), &json!({}))
        .expect(200);

    let (_, stale) = app.proven_account("reauth");
    let_the_window_pass();
    let with = |password: &str| json!({ "password": password });
    app.json("POST", "/mfa/totp", Some(&stale), &json!({}))
        .expect_error(403, "reauthentication_required");
    app.json("POST", "/mfa/totp", Some(&stale), &with("not-the-password"))
        .expect_error(401, "invalid_credentials");
    let enrolment = app.json("POST", "/mfa/totp", Some(&stale), &with(PASSWORD));
    enrolment.expect(201);
    let code = pyotp_code(enrolment.str("secret"), unix_now());
    app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&stale),
        &json!({"code": code}),
    )
    .expect(200);
    app.json("POST", "/mfa/recovery_codes", Some(&stale), &json!({}))
        .expect_error(403, "reauthentication_required");
    let codes = app.json("POST", "/mfa/recovery_codes", Some(&stale), &with(PASSWORD));
    codes.expect(200);
    assert_eq!(
        codes.body["recovery_codes"].as_array().map(Vec::len),
        Some(10)
    );
    app.request(
        "DELETE",
        "/mfa/totp",
        &[("authorization", &format!("Bearer {stale}"))],
        None,
    )
    .expect_error(403, "reauthentication_required");
    app.json("DELETE", "/mfa/totp", Some(&stale), &with(PASSWORD))
        .expect(200);

    app.json("POST", "/passkeys/register/start", Some(&stale), &json!({}))
        .expect_error(403, "reauthentication_required");
    app.json(
        "POST",
        "/passkeys/register/start",
        Some(&stale),
        &with(PASSWORD),
    )
    .expect(200);
    let unknown = "/passkeys/0123456789abcdef01234567";
    app.json("DELETE", unknown, Some(&stale), &json!({}))
        .expect_error(403, "reauthentication_required");
    app.json("DELETE", unknown, Some(&stale), &with(PASSWORD))
        .expect_error(404, "not_found");
}

fn deleting_the_account_needs_a_fresh_proof(store: Store) {
    let app = spawn(store);
    let (username, stale) = app.proven_account("reauth");
    let_the_window_pass();
    app.request(
        "DELETE",
        "/profile",
        &[("authorization", &format!("Bearer {stale}"))],
        None,
    )
    .expect_error(403, "reauthentication_required");
    app.json(
        "DELETE",
        "/profile",
        Some(&stale),
        &json!({"password": "not-the-password"}),
    )
    .expect_error(401, "invalid_credentials");
    app.get("/profile", Some(&stale)).expect(200);
    // A new login is a fresh proof: no password needed.
    let fresh = app
        .login(&username, PASSWORD)
        .str("access_token")
        .to_owned();
    app.json("DELETE", "/profile", Some(&fresh), &json!({}))
        .expect(200);
    app.login(&username, PASSWORD)
        .expect_error(401, "invalid_credentials");
}

store_tests!(
    every_second_factor_change_needs_a_fresh_proof,
    deleting_the_account_needs_a_fresh_proof,
);
