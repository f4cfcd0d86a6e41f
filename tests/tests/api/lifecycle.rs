//! Restarts, start-up refusals and configuration through the environment.

use keygate_tests::{store_tests, Store, TestApp, PASSWORD};

fn accounts_and_sessions_survive_a_restart(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, refresh) = app.signed_up_user();
    let app = app.restart();
    app.login(&username, PASSWORD).expect(200);
    app.get("/profile", Some(&token)).expect(200);
    app.post(
        "/token/refresh",
        &serde_json::json!({"refresh_token": refresh}),
    )
    .expect(200);
}

#[test]
fn production_refuses_to_start_without_a_strong_secret() {
    let failure = TestApp::spawn_expecting_failure(&[("KEYGATE__ENVIRONMENT", "production")]);
    let log = failure.log.join("\n");
    assert!(log.contains("at least 32 bytes"), "{log}");
    let failure = TestApp::spawn_expecting_failure(&[
        ("KEYGATE__ENVIRONMENT", "production"),
        ("JWT_SECRET_KEY", "too-short"),
    ]);
    let log = failure.log.join("\n");
    assert!(log.contains("too short"), "{log}");
    assert!(
        !log.contains("too-short"),
        "the secret itself must not be logged: {log}"
    );
}

#[test]
fn production_starts_with_a_strong_secret_from_an_earlier_systems_variable() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("KEYGATE__ENVIRONMENT", "production"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ],
    );
    app.get("/health", None).expect(200);
    assert!(!app.log().contains("0123456789abcdef0123456789abcdef"));
}

#[test]
fn development_generates_a_secret_and_says_so_without_showing_it() {
    let app = TestApp::spawn_with(Store::Embedded, &[("KEYGATE__ENVIRONMENT", "development")]);
    let log = app.log();
    assert!(log.contains("generated one for development"), "{log}");
    let (_, token, _) = app.signed_up_user();
    // Same data directory, same secret: tokens survive the restart.
    let app = app.restart();
    app.get("/profile", Some(&token)).expect(200);
    assert!(app.log().contains("using the development signing secret"));
}

#[test]
fn an_unsupported_database_url_stops_start_up_with_advice() {
    let failure =
        TestApp::spawn_expecting_failure(&[("DATABASE_URI", "postgresql://localhost/legacy")]);
    let log = failure.log.join("\n");
    assert!(log.contains("postgresql"), "{log}");
}

store_tests!(accounts_and_sessions_survive_a_restart);
