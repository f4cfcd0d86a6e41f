//! POST /register and POST /api/register.

use keygate_tests::{store_tests, unique, Store, TestApp, PASSWORD};
use serde_json::json;

fn registers_with_every_earlier_systems_fields(store: Store) {
    let app = TestApp::spawn(store);
    // compat 000: name + email
    let reply = app.post(
        "/register",
        &json!({"name": "Ann", "email": "ann@example.com", "password": PASSWORD}),
    );
    reply.expect(201);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["message"], "User registered successfully");
    let id = reply.str("user_id");
    assert!(
        id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    // compat 002: username + email + full_name + age + gender
    let aliased = app.post(
        "/api/register",
        &json!({"username": "bob_2", "email": "bob@example.com", "password": PASSWORD,
                "full_name": "Bob Two", "age": 33, "gender": "male"}),
    );
    // compat 004: username only
    let versioned = app.post(
        "/v1/register",
        &json!({"username": "carol.4", "password": PASSWORD}),
    );
    // The aliases answer with the same body as /register, each with an id of its own.
    for reply in [&aliased, &versioned] {
        reply.expect(201);
        assert_eq!(reply.body["status"], "success", "{}", reply.text);
        assert_eq!(reply.body["message"], "User registered successfully");
        let other = reply.str("user_id");
        assert!(
            other.len() == 24 && other.bytes().all(|b| b.is_ascii_hexdigit()) && other != id,
            "{other}"
        );
    }
    assert_ne!(aliased.str("user_id"), versioned.str("user_id"));
    // The accounts log in with what they registered with.
    app.post(
        "/login",
        &json!({"email": "ann@example.com", "password": PASSWORD}),
    )
    .expect(200);
    app.post(
        "/login",
        &json!({"username": "bob_2", "password": PASSWORD}),
    )
    .expect(200);
    app.post(
        "/login",
        &json!({"username": "carol.4", "password": PASSWORD}),
    )
    .expect(200);
}

fn missing_fields_are_missing_parameters(store: Store) {
    let app = TestApp::spawn(store);
    for body in [
        json!({"username": "alice"}),
        json!({"username": "alice", "password": ""}),
        json!({"password": PASSWORD}),
        json!({"username": "", "email": "", "password": PASSWORD}),
        json!({}),
    ] {
        let reply = app.post("/register", &body);
        reply.expect_error(400, "missing_parameters");
        assert_eq!(reply.body["message"], "Missing parameters");
    }
    app.request(
        "POST",
        "/register",
        &[("content-type", "application/json")],
        Some(b""),
    )
    .expect_error(400, "missing_parameters");
}

fn invalid_fields_are_listed_in_details(store: Store) {
    let app = TestApp::spawn(store);
    let reply = app.post(
        "/register",
        &json!({"username": "x!", "email": "not-an-email", "password": "short", "age": 151, "gender": "g".repeat(33)}),
    );
    reply.expect_error(400, "validation_failed");
    let mut fields = reply.detail_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["/age", "/email", "/gender", "/password", "/username"]
    );
    for age in [json!(-1), json!("30"), json!(30.5)] {
        app.post(
            "/register",
            &json!({"username": "dave", "password": PASSWORD, "age": age}),
        )
        .expect_error(400, "validation_failed");
    }
    let long = "p".repeat(129);
    app.post("/register", &json!({"username": "dave", "password": long}))
        .expect_error(400, "validation_failed");
    app.post(
        "/register",
        &json!({"username": "ab", "password": PASSWORD}),
    )
    .expect_error(400, "validation_failed");
    app.post(
        "/register",
        &json!({"username": "a".repeat(33), "password": PASSWORD}),
    )
    .expect_error(400, "validation_failed");
}

fn weak_passwords_are_refused(store: Store) {
    let app = TestApp::spawn(store);
    for (username, password) in [
        ("erin", "password"),
        ("erin", "Password1"),
        ("erin", "qwertyuiop"),
        ("erin", "1234567890"),
        ("frankfurter", "FrankFurter"),
    ] {
        let reply = app.post(
            "/register",
            &json!({"username": username, "password": password}),
        );
        reply.expect_error(400, "validation_failed");
        assert_eq!(reply.detail_fields(), vec!["/password"], "{password}");
    }
    let reply = app.post(
        "/register",
        &json!({"email": "gina.long.name@example.com", "password": "Gina.Long.Name@example.com"}),
    );
    reply.expect_error(400, "validation_failed");
}

fn taken_email_and_username_are_409(store: Store) {
    let app = TestApp::spawn(store);
    app.register("Henry", "henry@example.com").expect(201);
    let email = app.register("someone_else", "HENRY@example.com");
    email.expect_error(409, "email_taken");
    let name = app.register("hENRY", "other@example.com");
    name.expect_error(409, "username_taken");
    assert_eq!(name.body["message"], "Username already exists");
    app.register("henry2", "henry2@example.com").expect(201);
}

fn sixteen_racing_registrations_of_one_email_make_one_account(store: Store) {
    let app = TestApp::spawn(store);
    keygate_tests::assert_one_registration_wins(&[&app], 16, "race@example.com");
}

/// Sixteen racing registrations of one username (in any letter case), each with its own
/// email, make one account.
fn sixteen_racing_registrations_of_one_username_make_one_account(store: Store) {
    let app = TestApp::spawn(store);
    keygate_tests::assert_one_wins(16, |i| {
        let name = if i % 2 == 0 { "RaceName" } else { "racename" };
        app.register(name, &format!("racer{i}@example.com")).status
    });
}

/// Several accounts may lack an email, and several a username: absent is not a value the
/// uniqueness rules compare (on MongoDB: the unique indexes are partial).
fn many_accounts_may_lack_an_email_or_a_username(store: Store) {
    let app = TestApp::spawn(store);
    for i in 0..3 {
        app.post(
            "/register",
            &json!({"username": format!("no-email-{i}"), "password": PASSWORD}),
        )
        .expect(201);
        app.post(
            "/register",
            &json!({"email": format!("no-name-{i}@example.com"), "password": PASSWORD}),
        )
        .expect(201);
    }
    app.login("no-email-2", PASSWORD).expect(200);
    app.post(
        "/login",
        &json!({"email": "no-name-2@example.com", "password": PASSWORD}),
    )
    .expect(200);
}

fn passwords_never_reach_the_log(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("quiet");
    app.register(&username, &format!("{username}@example.com"))
        .expect(201);
    let login = app.login(&username, PASSWORD);
    login.expect(200);
    app.login(&username, "wrong-password-xyz").expect(401);
    let log = app.log();
    assert!(!log.contains(PASSWORD), "password in log:\n{log}");
    assert!(
        !log.contains("wrong-password-xyz"),
        "password in log:\n{log}"
    );
    assert!(
        !log.contains(login.str("refresh_token")),
        "refresh token in log"
    );
    assert!(
        !log.contains(login.str("access_token")),
        "access token in log"
    );
}

store_tests!(
    registers_with_every_earlier_systems_fields,
    missing_fields_are_missing_parameters,
    invalid_fields_are_listed_in_details,
    weak_passwords_are_refused,
    taken_email_and_username_are_409,
    sixteen_racing_registrations_of_one_email_make_one_account,
    sixteen_racing_registrations_of_one_username_make_one_account,
    many_accounts_may_lack_an_email_or_a_username,
    passwords_never_reach_the_log,
);
