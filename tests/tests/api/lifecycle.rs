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

/// §6 and §7 together: HS256 in production needs a strong secret; without any secret
/// production signs with EdDSA keys of its own (see `production_without_a_secret_signs_eddsa`).
#[test]
fn production_refuses_to_start_without_a_strong_secret() {
    let failure = TestApp::spawn_expecting_failure(&[
        ("KEYGATE__ENVIRONMENT", "production"),
        ("KEYGATE__AUTH__SIGNING__ALGORITHM", "HS256"),
    ]);
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
fn production_without_a_secret_signs_eddsa() {
    let app = TestApp::spawn_with(Store::Embedded, &[("KEYGATE__ENVIRONMENT", "production")]);
    let jwks = app.get("/.well-known/jwks.json", None);
    jwks.expect(200);
    assert_eq!(jwks.body["keys"][0]["alg"], "EdDSA", "{}", jwks.text);
    assert!(app.log().contains("signed with EdDSA"), "{}", app.log());
    assert!(!app.data_dir().join("jwt-secret").exists());
}

#[test]
fn development_generates_a_secret_and_says_so_without_showing_it() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("KEYGATE__ENVIRONMENT", "development"),
            ("KEYGATE__AUTH__SIGNING__ALGORITHM", "HS256"),
        ],
    );
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

fn an_operator_can_promote_and_demote_an_admin(store: Store) {
    let app = TestApp::spawn(store);
    let (admin, _, _) = app.signed_up_user();
    let (ordinary, _, _) = app.signed_up_user();

    let (output, app) = app.run_offline(&["promote", &format!("{admin}@example.com")]);
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("'admin'"), "{said}");

    let token = app.login(&admin, PASSWORD).str("access_token").to_owned();
    assert_eq!(app.get("/profile", Some(&token)).body["role"], "admin");
    let full = app.get("/users", Some(&token));
    full.expect(200);
    let users = full.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    for user in users {
        assert!(
            user["id"].is_string() && user["email"].is_string() && user["role"].is_string(),
            "{user}"
        );
        assert!(!user.to_string().contains("argon2"), "no secrets: {user}");
    }
    let plain = app
        .login(&ordinary, PASSWORD)
        .str("access_token")
        .to_owned();
    let names = app.get("/users", Some(&plain));
    assert!(names.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u.as_object().unwrap().len() == 1));

    let (output, app) = app.run_offline(&["demote", &admin]);
    assert!(output.status.success());
    let token = app.login(&admin, PASSWORD).str("access_token").to_owned();
    assert_eq!(app.get("/profile", Some(&token)).body["role"], "user");

    let (output, _app) = app.run_offline(&["promote", "nobody-at-all"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not found"));
}

store_tests!(an_operator_can_promote_and_demote_an_admin);

fn sessions_end_at_their_lifetime_and_are_then_purged(store: Store) {
    let app = TestApp::spawn_with(
        store,
        &[
            ("KEYGATE__AUTH__SESSION_TTL_SECS", "3"),
            ("KEYGATE__AUTH__PURGE_INTERVAL_SECS", "1"),
        ],
    );
    let (_, token, refresh) = app.signed_up_user();
    app.get("/profile", Some(&token)).expect(200);
    // Polled rather than slept for: a slow machine only makes the test wait longer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while app.get("/profile", Some(&token)).status == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the session outlived its 3 s lifetime by 12 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    app.get("/profile", Some(&token))
        .expect_error(401, "unauthorized");
    app.post(
        "/token/refresh",
        &serde_json::json!({"refresh_token": refresh}),
    )
    .expect_error(401, "unauthorized");
    // The purge runs. On MongoDB the server's own TTL index may remove the session first, so
    // Keygate's purge then finds nothing to log: there, that the purge ran is what is shown.
    let purged = |app: &TestApp| match store {
        Store::Embedded => app.log().contains("purged ended sessions"),
        Store::Mongo => app.get("/metrics", None).text.lines().any(|line| {
            line.starts_with("keygate_store_operation_duration_seconds_count")
                && line.contains("operation=\"sessions.purge_expired\"")
                && !line.ends_with(" 0")
        }),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !purged(&app) {
        assert!(
            std::time::Instant::now() < deadline,
            "no purge:\n{}",
            app.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

store_tests!(sessions_end_at_their_lifetime_and_are_then_purged);

/// Writes answered 2xx are on disk: a `kill -9` right after a burst of concurrent writes (which
/// share fsyncs through group commit) loses none of them.
#[test]
fn acknowledged_writes_survive_a_kill_9() {
    let app = TestApp::spawn(Store::Embedded);
    let (_, token, _) = app.signed_up_user();
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let (app, token) = (&app, &token);
            scope.spawn(move || {
                for i in 0..25 {
                    app.json(
                        "POST",
                        "/api/data",
                        Some(token),
                        &serde_json::json!({"key": format!("k{thread}-{i}"), "value": i}),
                    )
                    .expect(201);
                }
            });
        }
    });
    // `restart` kills the process (SIGKILL: no shutdown, no flush) and starts it again.
    let app = app.restart();
    let mut keys = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/data?limit=500&cursor={c}"),
            None => "/api/data?limit=500".to_owned(),
        };
        let page = app.get(&path, Some(&token));
        page.expect(200);
        keys += page.body["entries"].as_array().unwrap().len();
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(keys, 200);
}
