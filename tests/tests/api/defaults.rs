//! The binary as shipped: `config/default.toml` (and `production.toml`, which changes nothing
//! else), with none of the test suite's cheap settings. Checks the contract's defaults.

use std::time::{Duration, Instant};

use keygate_tests::{fresh_database_name, mongodb_uri, unique, Store, TestApp, PASSWORD};
use serde_json::json;

const SECRET: &str = "a-production-secret-of-at-least-32-bytes";

fn production(store: Store, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("KEYGATE__ENVIRONMENT", "production"),
        ("KEYGATE__AUTH__JWT_SECRET", SECRET),
    ];
    env.extend_from_slice(extra);
    TestApp::spawn_with(store, &env)
}

fn retry_after(reply: &keygate_tests::Reply) -> u64 {
    reply.expect_error(429, "rate_limited");
    reply.header("retry-after").unwrap().parse().unwrap()
}

/// OWASP-strength Argon2id, 15-minute tokens, pages of 50, and the throttle windows of the
/// contract: 10 failures per account within 900 s, 100 per address within 300 s.
#[test]
fn production_defaults_are_the_contracts() {
    let app = production(Store::Embedded, &[]);
    let username = unique("prod");
    let registered = app.register(&username, &format!("{username}@example.com"));
    registered.expect(201);
    let login = app.login(&username, PASSWORD);
    login.expect(200);
    assert_eq!(login.body["expires_in"], 900);
    let token = login.str("access_token").to_owned();

    for i in 0..51 {
        app.json(
            "POST",
            "/api/data",
            Some(&token),
            &json!({"key": format!("k{i:02}"), "value": i}),
        )
        .expect(201);
    }
    let page = app.get("/api/data", Some(&token));
    assert_eq!(page.body["entries"].as_array().unwrap().len(), 50);
    assert!(page.body["next_cursor"].is_string());

    for _ in 0..10 {
        app.login(&username, "wrong-password-123")
            .expect_error(401, "invalid_credentials");
    }
    let account = retry_after(&app.login(&username, "wrong-password-123"));
    assert!((800..=900).contains(&account), "Retry-After {account}");

    // Unknown accounts, each tried once: only the address counts them. It has counted the 10
    // above (the refused 11th is not counted, and a right password is refunded).
    for i in 0..90 {
        app.login(&format!("nobody-{i}"), "wrong-password-123")
            .expect_error(401, "invalid_credentials");
    }
    let address = retry_after(&app.login("nobody-last", "wrong-password-123"));
    assert!((200..=300).contains(&address), "Retry-After {address}");

    let user_id = registered.str("user_id").to_owned();
    let hash = app.stored_password_hash(&user_id);
    assert!(
        hash.starts_with("$argon2id$") && hash.contains("m=19456,t=2,p=1"),
        "{hash}"
    );
}

/// A logout on one instance is seen by another within the default revocation TTL of 2 s, and
/// not at once (so the TTL is in force, not zero).
#[test]
fn the_default_revocation_ttl_is_two_seconds() {
    let database = fresh_database_name();
    let uri = mongodb_uri();
    let env = [
        ("KEYGATE__DATABASE__URL", uri.as_str()),
        ("KEYGATE__DATABASE__NAME", database.as_str()),
    ];
    let (a, b) = (
        production(Store::Mongo, &env),
        production(Store::Mongo, &env),
    );
    let username = unique("ttl");
    a.register(&username, &format!("{username}@example.com"))
        .expect(201);
    let token = a.login(&username, PASSWORD).str("access_token").to_owned();
    // b checks the session once and keeps the answer for the TTL, from this moment.
    let checked = Instant::now();
    b.get("/profile", Some(&token)).expect(200);
    a.json("POST", "/logout", Some(&token), &json!({}))
        .expect(200);
    loop {
        if b.get("/profile", Some(&token)).status == 401 {
            break;
        }
        assert!(
            checked.elapsed() < Duration::from_secs(5),
            "still accepted 5 s after b checked the session"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Measured from b's check, not from the logout, so a slow logout cannot shift it.
    assert!(
        checked.elapsed() >= Duration::from_millis(1500),
        "refused {:?} after b checked: no cache TTL of 2 s in force",
        checked.elapsed()
    );
}
