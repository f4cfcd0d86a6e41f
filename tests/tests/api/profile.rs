//! GET/PUT/PATCH/DELETE /profile and PUT /profile/password.

use keygate_tests::{store_tests, unique, Leftovers, Store, TestApp, PASSWORD};
use serde_json::json;

fn profile_shows_the_account_without_secrets(store: Store) {
    let app = TestApp::spawn(store);
    let reply = app.post(
        "/register",
        &json!({"username": "Olga", "email": "Olga@Example.com", "password": PASSWORD,
                "full_name": "Olga O.", "age": 41, "gender": "female", "name": "Olga"}),
    );
    reply.expect(201);
    let id = reply.str("user_id").to_owned();
    let token = app.login("olga", PASSWORD).str("access_token").to_owned();
    let profile = app.get("/v1/profile", Some(&token));
    profile.expect(200);
    let body = &profile.body;
    assert_eq!(body["status"], "success");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["username"], "Olga");
    assert_eq!(body["email"], "olga@example.com");
    assert_eq!(body["name"], "Olga");
    assert_eq!(body["full_name"], "Olga O.");
    assert_eq!(body["age"], 41);
    assert_eq!(body["gender"], "female");
    assert_eq!(body["role"], "user");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(body["updated_at"].as_str().is_some());
    let text = profile.text.to_lowercase();
    assert!(
        !text.contains("argon2") && !text.contains("password"),
        "{text}"
    );
}

fn put_and_patch_change_the_profile(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, _) = app.signed_up_user();
    let reply = app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"full_name": "New Name", "age": 30}),
    );
    reply.expect(200);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["full_name"], "New Name");
    assert_eq!(reply.body["age"], 30);
    assert_eq!(reply.body["username"], username.as_str());
    let patched = app.json(
        "PATCH",
        "/v1/profile",
        Some(&token),
        &json!({"age": null, "gender": "x"}),
    );
    patched.expect(200);
    assert_eq!(patched.body["age"], serde_json::Value::Null);
    assert_eq!(patched.body["full_name"], "New Name");
    let renamed = unique("renamed");
    app.json(
        "PATCH",
        "/profile",
        Some(&token),
        &json!({"username": renamed, "email": format!("{renamed}@example.com")}),
    )
    .expect(200);
    app.login(&renamed, PASSWORD).expect(200);
    app.login(&username, PASSWORD)
        .expect_error(401, "invalid_credentials");
    let profile = app.get("/profile", Some(&token));
    assert_eq!(profile.body["gender"], "x");
    assert_eq!(profile.body["age"], serde_json::Value::Null);
}

fn profile_changes_follow_the_registration_rules(store: Store) {
    let app = TestApp::spawn(store);
    app.register("taken_name", "taken@example.com").expect(201);
    let (_, token, _) = app.signed_up_user();
    app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"username": "TAKEN_NAME"}),
    )
    .expect_error(409, "username_taken");
    app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"email": "taken@example.com"}),
    )
    .expect_error(409, "email_taken");
    let invalid = app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"email": "nope", "age": 200}),
    );
    invalid.expect_error(400, "validation_failed");
    let mut fields = invalid.detail_fields();
    fields.sort();
    assert_eq!(fields, vec!["/age", "/email"]);
    app.json("PUT", "/profile", Some(&token), &json!({"role": "admin"}))
        .expect_error(400, "validation_failed");
    app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"password": "new-password-123"}),
    )
    .expect_error(400, "validation_failed");
    app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"username": null, "email": null}),
    )
    .expect_error(400, "validation_failed");
    assert_eq!(app.get("/profile", Some(&token)).body["role"], "user");
    app.json("PUT", "/profile", None, &json!({"age": 3}))
        .expect_error(401, "unauthorized");
    app.request(
        "PUT",
        "/profile",
        &[("content-type", "application/json")],
        Some(b"[]"),
    )
    .expect_error(401, "unauthorized");
    let bearer = format!("Bearer {token}");
    app.request(
        "PUT",
        "/profile",
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        Some(b"[]"),
    )
    .expect_error(400, "invalid_json");
}

fn password_change_revokes_the_other_sessions(store: Store) {
    let app = TestApp::spawn(store);
    let (username, current, _) = app.signed_up_user();
    let other = app.login(&username, PASSWORD);
    let (other_access, other_refresh) = (
        other.str("access_token").to_owned(),
        other.str("refresh_token").to_owned(),
    );
    let path = "/profile/password";
    app.json(
        "PUT",
        path,
        Some(&current),
        &json!({"current_password": "not-the-password", "new_password": "a-brand-new-secret"}),
    )
    .expect_error(401, "invalid_credentials");
    app.json(
        "PUT",
        path,
        Some(&current),
        &json!({"current_password": PASSWORD}),
    )
    .expect_error(400, "missing_parameters");
    app.json(
        "PUT",
        path,
        Some(&current),
        &json!({"current_password": PASSWORD, "new_password": "password"}),
    )
    .expect_error(400, "validation_failed");
    app.json(
        "PUT",
        path,
        None,
        &json!({"current_password": PASSWORD, "new_password": "a-brand-new-secret"}),
    )
    .expect_error(401, "unauthorized");
    let changed = app.json(
        "PUT",
        "/v1/profile/password",
        Some(&current),
        &json!({"current_password": PASSWORD, "new_password": "a-brand-new-secret"}),
    );
    changed.expect(200);
    assert_eq!(changed.body["status"], "success");
    app.get("/profile", Some(&current)).expect(200);
    app.get("/profile", Some(&other_access))
        .expect_error(401, "unauthorized");
    app.post("/token/refresh", &json!({"refresh_token": other_refresh}))
        .expect_error(401, "unauthorized");
    app.login(&username, PASSWORD)
        .expect_error(401, "invalid_credentials");
    app.login(&username, "a-brand-new-secret").expect(200);
}

fn deleting_the_account_checks_a_given_password_and_removes_everything(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, refresh) = app.signed_up_user();
    let user_id = app.get("/profile", Some(&token)).str("id").to_owned();
    app.json(
        "POST",
        "/api/data",
        Some(&token),
        &json!({"key": "k", "value": 1}),
    )
    .expect(201);
    let api = app.create_api(&token, "Everything", &[("items", json!({}))]);
    let api_id = api.str("api_id").to_owned();
    app.with_key(
        "POST",
        "/api/everything/items",
        api.str("api_key"),
        Some(&json!({"a": 1})),
    )
    .expect(201);
    app.json(
        "DELETE",
        "/profile",
        Some(&token),
        &json!({"password": "not-the-password"}),
    )
    .expect_error(401, "invalid_credentials");
    app.json("DELETE", "/profile", None, &json!({"password": PASSWORD}))
        .expect_error(401, "unauthorized");
    let deleted = app.json(
        "DELETE",
        "/profile",
        Some(&token),
        &json!({"password": PASSWORD}),
    );
    deleted.expect(200);
    assert_eq!(deleted.body["status"], "success");
    app.get("/profile", Some(&token))
        .expect_error(401, "unauthorized");
    app.post("/token/refresh", &json!({"refresh_token": refresh}))
        .expect_error(401, "unauthorized");
    app.login(&username, PASSWORD)
        .expect_error(401, "invalid_credentials");
    app.register(&username, &format!("{username}@example.com"))
        .expect(201);
    // Everything the old account owned is gone from the store itself.
    assert_eq!(app.leftovers(&user_id, &[&api_id]), Leftovers::default());
}

fn guessing_the_current_password_is_throttled_like_logins(store: Store) {
    let app = TestApp::spawn_with(store, &[("KEYGATE__AUTH__THROTTLE__ACCOUNT_FAILURES", "2")]);
    let (username, token, _) = app.signed_up_user();
    let guess = json!({"current_password": "a-wrong-guess", "new_password": "a-brand-new-secret"});
    for _ in 0..2 {
        app.json("PUT", "/profile/password", Some(&token), &guess)
            .expect_error(401, "invalid_credentials");
    }
    let limited = app.json("PUT", "/profile/password", Some(&token), &guess);
    limited.expect_error(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    app.json(
        "DELETE",
        "/profile",
        Some(&token),
        &json!({"password": "a-wrong-guess"}),
    )
    .expect_error(429, "rate_limited");
    app.login(&username, PASSWORD)
        .expect_error(429, "rate_limited");
}

/// §12: changing the email needs a fresh proof. After `auth.reauth_window_secs` (1 s here)
/// the session, refreshed or not, gets `403 reauthentication_required`; a wrong password is
/// `401`; the current password confirms it. Other fields need nothing.
fn an_email_change_needs_the_password_after_the_reauthentication_window(store: Store) {
    let app = TestApp::spawn_with(store, &[("KEYGATE__AUTH__REAUTH_WINDOW_SECS", "1")]);
    let username = unique("reauth");
    app.register(&username, &format!("{username}@example.com"))
        .expect(201);
    let login = app.login(&username, PASSWORD);
    let refresh = login.str("refresh_token").to_owned();
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    // A refresh does not renew the window.
    let refreshed = app.post("/token/refresh", &json!({"refresh_token": refresh}));
    refreshed.expect(200);
    let token = refreshed.str("access_token").to_owned();
    let new = format!("{username}-new@example.com");
    app.json("PUT", "/profile", Some(&token), &json!({"email": new}))
        .expect_error(403, "reauthentication_required");
    app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"email": new, "password": "not-the-password"}),
    )
    .expect_error(401, "invalid_credentials");
    app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"full_name": "Re Auth"}),
    )
    .expect(200);
    let changed = app.json(
        "PUT",
        "/profile",
        Some(&token),
        &json!({"email": new, "password": PASSWORD}),
    );
    changed.expect(200);
    assert_eq!(changed.body["pending_email"], new.as_str());
}

store_tests!(
    an_email_change_needs_the_password_after_the_reauthentication_window,
    guessing_the_current_password_is_throttled_like_logins,
    profile_shows_the_account_without_secrets,
    put_and_patch_change_the_profile,
    profile_changes_follow_the_registration_rules,
    password_change_revokes_the_other_sessions,
    deleting_the_account_checks_a_given_password_and_removes_everything,
);
