//! Token headers, POST /token/refresh and POST /logout.

use keygate_tests::{store_tests, Store, TestApp};
use serde_json::{json, Value};

fn every_token_header_style_is_accepted(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, _) = app.signed_up_user();
    let bearer = format!("Bearer {token}");
    for headers in [
        vec![("authorization", bearer.as_str())],
        vec![("authorization", token.as_str())],
        vec![("x-access-token", token.as_str())],
    ] {
        let reply = app.request("GET", "/profile", &headers, None);
        reply.expect(200);
        assert_eq!(reply.body["username"], username.as_str());
    }
}

fn missing_malformed_and_forged_tokens_are_401(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    app.get("/profile", None).expect_error(401, "unauthorized");
    app.get("/profile", Some("garbage"))
        .expect_error(401, "unauthorized");
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    app.get("/profile", Some(&parts.join(".")))
        .expect_error(401, "unauthorized");
    // alg=none with the same claims
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        token.split('.').nth(1).unwrap()
    );
    app.get("/profile", Some(&unsigned))
        .expect_error(401, "unauthorized");
    app.request(
        "GET",
        "/profile",
        &[("authorization", "ApiKey kg_abc_def")],
        None,
    )
    .expect_error(401, "unauthorized");
}

/// The claims of a token as the server issued them, read without checking the signature.
fn claims_of(token: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.insecure_disable_signature_validation();
    validation.validate_aud = false;
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(b""),
        &validation,
    )
    .unwrap()
    .claims
}

fn signed(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn tokens_of_another_deployment_are_refused(store: Store) {
    const SECRET: &str = "first-secret-first-secret-first-secret";
    let first = TestApp::spawn_with(store, &[("KEYGATE__AUTH__JWT_SECRET", SECRET)]);
    let second = TestApp::spawn_with(
        store,
        &[(
            "KEYGATE__AUTH__JWT_SECRET",
            "other-secret-other-secret-other-secret",
        )],
    );
    let (_, token, _) = first.signed_up_user();
    second
        .get("/profile", Some(&token))
        .expect_error(401, "unauthorized");

    // A token for a session that exists, signed with another secret: only the signature is
    // wrong. Re-signed with the right secret, the same claims work, so each refusal below is
    // the one check that differs.
    let claims = claims_of(&token);
    first
        .get("/profile", Some(&signed(&claims, SECRET)))
        .expect(200);
    first
        .get(
            "/profile",
            Some(&signed(&claims, "other-secret-other-secret-other-secret")),
        )
        .expect_error(401, "unauthorized");
    let with = |field: &str, value: Value| {
        let mut changed = claims.clone();
        changed[field] = value;
        signed(&changed, SECRET)
    };
    for (field, value) in [
        ("iss", json!("someone-else")),
        ("aud", json!("another-audience")),
        ("exp", json!(claims["iat"].as_i64().unwrap() - 60)),
        ("sid", json!("6553f1000000000000000099")),
    ] {
        first
            .get("/profile", Some(&with(field, value)))
            .expect_error(401, "unauthorized");
    }
    let mut unsigned = claims.clone();
    unsigned["iss"] = json!("keygate");
    let header = r#"{"alg":"none","typ":"JWT"}"#;
    let forged = format!(
        "{}.{}.",
        base64url(header.as_bytes()),
        base64url(unsigned.to_string().as_bytes())
    );
    first
        .get("/profile", Some(&forged))
        .expect_error(401, "unauthorized");
}

/// Base64url without padding, as JWTs use it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn refresh_rotates_and_reuse_revokes_the_session(store: Store) {
    let app = TestApp::spawn(store);
    let (_, access, refresh) = app.signed_up_user();
    let rotated = app.post("/token/refresh", &json!({"refresh_token": refresh}));
    rotated.expect(200);
    assert_eq!(rotated.body["token_type"], "Bearer");
    assert_eq!(rotated.body["expires_in"], 900);
    let (access2, refresh2) = (
        rotated.str("access_token").to_owned(),
        rotated.str("refresh_token").to_owned(),
    );
    assert_ne!(refresh2, refresh);
    app.get("/profile", Some(&access2)).expect(200);
    app.get("/profile", Some(&access)).expect(200);

    // The first refresh token again: theft. The whole session ends.
    app.post("/token/refresh", &json!({"refresh_token": refresh}))
        .expect_error(401, "unauthorized");
    app.post("/token/refresh", &json!({"refresh_token": refresh2}))
        .expect_error(401, "unauthorized");
    app.get("/profile", Some(&access2))
        .expect_error(401, "unauthorized");
    app.get("/profile", Some(&access))
        .expect_error(401, "unauthorized");
}

fn refresh_needs_a_known_token(store: Store) {
    let app = TestApp::spawn(store);
    app.post("/token/refresh", &json!({}))
        .expect_error(400, "missing_parameters");
    app.post("/token/refresh", &json!({"refresh_token": ""}))
        .expect_error(400, "missing_parameters");
    app.post(
        "/v1/token/refresh",
        &json!({"refresh_token": "never-issued"}),
    )
    .expect_error(401, "unauthorized");
    app.post("/token/refresh", &json!({"refresh_token": 12}))
        .expect_error(400, "invalid_json");
}

fn logout_revokes_the_access_and_refresh_tokens(store: Store) {
    let app = TestApp::spawn(store);
    let (username, access, refresh) = app.signed_up_user();
    let other = app.login(&username, keygate_tests::PASSWORD);
    let other_access = other.str("access_token").to_owned();

    let reply = app.json("POST", "/logout", Some(&access), &json!({}));
    reply.expect(200);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["message"], "Logged out");
    app.get("/profile", Some(&access))
        .expect_error(401, "unauthorized");
    app.post("/token/refresh", &json!({"refresh_token": refresh}))
        .expect_error(401, "unauthorized");
    app.json("POST", "/logout", Some(&access), &json!({}))
        .expect_error(401, "unauthorized");
    // The other session lives on.
    app.get("/profile", Some(&other_access)).expect(200);
}

fn logout_with_no_body_works(store: Store) {
    let app = TestApp::spawn(store);
    let (_, access, _) = app.signed_up_user();
    let bearer = format!("Bearer {access}");
    app.request(
        "POST",
        "/v1/logout",
        &[("authorization", bearer.as_str())],
        None,
    )
    .expect(200);
    app.get("/profile", Some(&access))
        .expect_error(401, "unauthorized");
}

fn logout_all_revokes_every_session(store: Store) {
    let app = TestApp::spawn(store);
    let (username, first, _) = app.signed_up_user();
    let second = app.login(&username, keygate_tests::PASSWORD);
    let (second_access, second_refresh) = (
        second.str("access_token").to_owned(),
        second.str("refresh_token").to_owned(),
    );
    app.json("POST", "/logout", Some(&first), &json!({"all": true}))
        .expect(200);
    app.get("/profile", Some(&first))
        .expect_error(401, "unauthorized");
    app.get("/profile", Some(&second_access))
        .expect_error(401, "unauthorized");
    app.post("/token/refresh", &json!({"refresh_token": second_refresh}))
        .expect_error(401, "unauthorized");
    app.post("/logout", &json!({}))
        .expect_error(401, "unauthorized");
    app.json("POST", "/logout", Some(&first), &json!({"all": "yes"}))
        .expect_error(401, "unauthorized");
}

fn logout_body_must_be_json(store: Store) {
    let app = TestApp::spawn(store);
    let (_, access, _) = app.signed_up_user();
    let bearer = format!("Bearer {access}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    app.request("POST", "/logout", &headers, Some(b"{oops"))
        .expect_error(400, "invalid_json");
    app.request("POST", "/logout", &headers, Some(br#"{"all": "yes"}"#))
        .expect_error(400, "invalid_json");
    app.get("/profile", Some(&access)).expect(200);
}

store_tests!(
    every_token_header_style_is_accepted,
    missing_malformed_and_forged_tokens_are_401,
    tokens_of_another_deployment_are_refused,
    refresh_rotates_and_reuse_revokes_the_session,
    refresh_needs_a_known_token,
    logout_revokes_the_access_and_refresh_tokens,
    logout_with_no_body_works,
    logout_all_revokes_every_session,
    logout_body_must_be_json,
);
