//! §9: TOTP with recovery codes, with codes computed by an independent implementation (PyPI
//! `pyotp`, from `scripts/with-python-tools.sh`), on both stores.

use keygate_tests::{store_tests, unique, Store, TestApp, PASSWORD};
use serde_json::{json, Value};

use keygate_tests::otp::{pyotp_code, unix_now as now};

/// Some other 6-digit code than `code`.
fn other_than(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// A new account with its address proven and TOTP on: `(username, access token, secret,
/// recovery codes)`. Proven first, as an owner would: a first proof of the mailbox removes
/// the factors added before it (§12).
fn account_with_totp(app: &TestApp) -> (String, String, String, Vec<String>) {
    let (username, token) = app.proven_account("totp");
    let enrolment = app.json("POST", "/mfa/totp", Some(&token), &json!({}));
    enrolment.expect(201);
    let secret = enrolment.str("secret").to_owned();
    let confirmed = app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&token),
        &json!({"code": pyotp_code(&secret, now())}),
    );
    confirmed.expect(200);
    let codes = confirmed.body["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    (username, token, secret, codes)
}

/// The `mfa_token` a right password gets, checking the shape of that answer.
fn password_step(app: &TestApp, path: &str, username: &str) -> String {
    let first = app.post(path, &json!({"username": username, "password": PASSWORD}));
    first.expect(200);
    assert_eq!(first.body["status"], "success");
    assert_eq!(first.body["mfa_required"], true, "{}", first.body);
    assert_eq!(first.body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(first.body.get("access_token"), None, "no tokens yet");
    assert_eq!(first.body.get("refresh_token"), None, "no tokens yet");
    first.str("mfa_token").to_owned()
}

fn second_step(app: &TestApp, body: &Value) -> keygate_tests::Reply {
    app.post("/login/mfa", body)
}

fn enrolment_confirmation_and_login_with_totp(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("enrol");
    app.register(&username, &format!("{username}@example.com"))
        .expect(201);
    let token = app
        .login(&username, PASSWORD)
        .str("access_token")
        .to_owned();
    let other_session = app
        .login(&username, PASSWORD)
        .str("access_token")
        .to_owned();
    let profile = app.get("/profile", Some(&token));
    assert_eq!(profile.body["mfa"], json!({"totp": false, "passkeys": 0}));
    // Nothing to confirm yet.
    app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&token),
        &json!({"code": "123456"}),
    )
    .expect_error(409, "conflict");

    let enrolment = app.json("POST", "/mfa/totp", Some(&token), &json!({}));
    enrolment.expect(201);
    let secret = enrolment.str("secret").to_owned();
    assert_eq!(secret.len(), 32, "160 bits of base32: {secret}");
    let uri = enrolment.str("otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains(&username), "{uri}");
    // Not on until confirmed: a login still gets tokens at once.
    app.login(&username, PASSWORD)
        .expect(200)
        .str("access_token");
    assert_eq!(app.get("/profile", Some(&token)).body["mfa"]["totp"], false);

    let code = pyotp_code(&secret, now());
    app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&token),
        &json!({"code": other_than(&code)}),
    )
    .expect_error(401, "invalid_credentials");
    app.json("POST", "/mfa/totp/confirm", Some(&token), &json!({}))
        .expect_error(400, "missing_parameters");
    let confirmed = app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&token),
        &json!({"code": code}),
    );
    confirmed.expect(200);
    let codes = confirmed.body["recovery_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    let mut distinct: Vec<&str> = codes.iter().filter_map(Value::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    assert_eq!(app.get("/profile", Some(&token)).body["mfa"]["totp"], true);
    // Every other session ended: only this one has passed the factor.
    app.get("/profile", Some(&other_session))
        .expect_error(401, "unauthorized");
    app.json("POST", "/mfa/totp", Some(&token), &json!({}))
        .expect_error(409, "conflict");

    // A right password alone gets no tokens, on /login and its aliases.
    for path in ["/login", "/api/token", "/v1/login"] {
        password_step(&app, path, &username);
    }
    let mfa_token = password_step(&app, "/login", &username);
    // The code used to confirm is spent: replaying it in its step is refused.
    second_step(&app, &json!({"mfa_token": mfa_token, "code": code}))
        .expect_error(401, "invalid_credentials");
    let next = pyotp_code(&secret, now() + 30);
    let done = second_step(&app, &json!({"mfa_token": mfa_token, "code": next}));
    done.expect(200);
    assert_eq!(done.body["token_type"], "Bearer");
    let access = done.str("access_token").to_owned();
    app.get("/profile", Some(&access)).expect(200);
    // The refresh token continues the session that passed the factor.
    let refreshed = app.post(
        "/token/refresh",
        &json!({"refresh_token": done.str("refresh_token")}),
    );
    refreshed.expect(200);
    // The token is single use, and so is the code.
    second_step(&app, &json!({"mfa_token": mfa_token, "code": next}))
        .expect_error(400, "invalid_token");
    let again = password_step(&app, "/login", &username);
    second_step(&app, &json!({"mfa_token": again, "code": next}))
        .expect_error(401, "invalid_credentials");
}

fn recovery_codes_work_once_and_can_be_replaced(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, _secret, codes) = account_with_totp(&app);
    let mfa_token = password_step(&app, "/login", &username);
    // Written any case, with or without its dashes.
    let first = codes[0].to_uppercase().replace('-', "");
    second_step(
        &app,
        &json!({"mfa_token": mfa_token, "recovery_code": first}),
    )
    .expect(200);
    let mfa_token = password_step(&app, "/login", &username);
    second_step(
        &app,
        &json!({"mfa_token": mfa_token, "recovery_code": codes[0]}),
    )
    .expect_error(401, "invalid_credentials");
    second_step(
        &app,
        &json!({"mfa_token": mfa_token, "recovery_code": codes[1]}),
    )
    .expect(200);

    app.json(
        "POST",
        "/mfa/recovery_codes",
        Some(&token),
        &json!({"password": "wrong-password-1"}),
    )
    .expect_error(401, "invalid_credentials");
    let renewed = app.json(
        "POST",
        "/mfa/recovery_codes",
        Some(&token),
        &json!({"password": PASSWORD}),
    );
    renewed.expect(200);
    let fresh = renewed.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .clone();
    assert_eq!(fresh.len(), 10);
    let mfa_token = password_step(&app, "/login", &username);
    second_step(
        &app,
        &json!({"mfa_token": mfa_token, "recovery_code": codes[2]}),
    )
    .expect_error(401, "invalid_credentials");
    second_step(
        &app,
        &json!({"mfa_token": mfa_token, "recovery_code": fresh[0]}),
    )
    .expect(200);
}

fn mfa_tokens_die_after_five_wrong_codes_and_refuse_the_malformed(store: Store) {
    let app = TestApp::spawn(store);
    let (username, _token, secret, codes) = account_with_totp(&app);
    let mfa_token = password_step(&app, "/login", &username);
    let right = pyotp_code(&secret, now() + 30);
    for _ in 0..5 {
        second_step(
            &app,
            &json!({"mfa_token": mfa_token, "code": other_than(&right)}),
        )
        .expect_error(401, "invalid_credentials");
    }
    second_step(&app, &json!({"mfa_token": mfa_token, "code": right}))
        .expect_error(400, "invalid_token");
    // (A recovery code logs in, which also clears the account's failed attempts.)
    let reset = password_step(&app, "/login", &username);
    second_step(
        &app,
        &json!({"mfa_token": reset, "recovery_code": codes[0]}),
    )
    .expect(200);

    for unknown in ["", "x", &"A".repeat(43), &"é".repeat(5000)] {
        let reply = second_step(&app, &json!({"mfa_token": unknown, "code": right}));
        let code = if unknown.is_empty() {
            "missing_parameters"
        } else {
            "invalid_token"
        };
        reply.expect_error(400, code);
    }
    let mfa_token = password_step(&app, "/login", &username);
    second_step(&app, &json!({"mfa_token": mfa_token})).expect_error(400, "missing_parameters");
    second_step(
        &app,
        &json!({"mfa_token": mfa_token, "code": right, "recovery_code": "abcd"}),
    )
    .expect_error(400, "validation_failed");
    for malformed in ["12345", "１２３４５６"] {
        second_step(&app, &json!({"mfa_token": mfa_token, "code": malformed}))
            .expect_error(401, "invalid_credentials");
    }
    // Two wrong codes took two tries: the right code still works.
    second_step(&app, &json!({"mfa_token": mfa_token, "code": right})).expect(200);
    // A token belongs to the login it came from: another account's code does not fit.
    let (other, _, other_secret, _) = account_with_totp(&app);
    let theirs = password_step(&app, "/login", &other);
    let mine = pyotp_code(&secret, now() - 30);
    second_step(&app, &json!({"mfa_token": theirs, "code": mine}))
        .expect_error(401, "invalid_credentials");
    second_step(
        &app,
        &json!({"mfa_token": theirs, "code": pyotp_code(&other_secret, now() + 30)}),
    )
    .expect(200);
}

/// Someone with the password only: every wrong code counts against the account's login
/// throttle, and a right password does not clear it while the factor is missing.
fn second_factor_failures_are_throttled(store: Store) {
    let app = TestApp::spawn(store);
    let (username, _token, _secret, _codes) = account_with_totp(&app);
    let mut limited = false;
    for _ in 0..12 {
        let first = app.post(
            "/login",
            &json!({"username": username, "password": PASSWORD}),
        );
        if first.status == 429 {
            limited = true;
            break;
        }
        let mfa_token = first.str("mfa_token").to_owned();
        for _ in 0..2 {
            let wrong = second_step(&app, &json!({"mfa_token": mfa_token, "code": "000000"}));
            if wrong.status == 429 {
                limited = true;
            }
        }
        if limited {
            break;
        }
    }
    assert!(
        limited,
        "10 failures per account window: the throttle must stop the guessing"
    );
}

fn totp_off_checks_a_given_password_and_logins_get_tokens_again(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, _secret, codes) = account_with_totp(&app);
    app.json(
        "DELETE",
        "/mfa/totp",
        Some(&token),
        &json!({"password": "wrong-password-1"}),
    )
    .expect_error(401, "invalid_credentials");
    app.json(
        "DELETE",
        "/mfa/totp",
        Some(&token),
        &json!({"password": PASSWORD}),
    )
    .expect(200);
    app.json(
        "DELETE",
        "/mfa/totp",
        Some(&token),
        &json!({"password": PASSWORD}),
    )
    .expect_error(409, "conflict");
    assert_eq!(app.get("/profile", Some(&token)).body["mfa"]["totp"], false);
    let login = app.login(&username, PASSWORD);
    login.expect(200);
    login.str("access_token");
    // Its recovery codes went with it.
    app.json(
        "POST",
        "/mfa/recovery_codes",
        Some(&token),
        &json!({"password": PASSWORD}),
    )
    .expect_error(409, "conflict");
    assert_eq!(codes.len(), 10);
    // Unauthenticated calls are refused.
    app.json("POST", "/mfa/totp", None, &json!({}))
        .expect_error(401, "unauthorized");
}

/// The emailed one-time code logs in a TOTP account only with its second step too.
fn an_emailed_login_code_also_needs_the_second_factor(store: Store) {
    let app = TestApp::spawn(store);
    let (username, _token, secret, _codes) = account_with_totp(&app);
    let email = format!("{username}@example.com");
    app.post("/login/code/request", &json!({"email": email}))
        .expect(202);
    let code = app.mail_to(&email, "Your login code").code();
    let first = app.post("/login/code", &json!({"email": email, "code": code}));
    first.expect(200);
    assert_eq!(first.body["mfa_required"], true, "{}", first.body);
    assert_eq!(first.body.get("access_token"), None);
    second_step(
        &app,
        &json!({"mfa_token": first.str("mfa_token"), "code": pyotp_code(&secret, now() + 30)}),
    )
    .expect(200);
}

/// §12 (issue 31 hole 1): TOTP turned on by someone who registered with the owner's address
/// before anyone proved it does not stand between the owner and the account: the owner's
/// emailed code, the first proof of the mailbox, logs in with no second step, and ends the
/// intruder's session. So does a verification link.
fn an_intruders_totp_goes_when_the_owner_first_proves_the_mailbox(store: Store) {
    let app = TestApp::spawn(store);
    for proof in ["code", "link"] {
        let username = unique("prehijack");
        let email = format!("{username}@example.com");
        app.register(&username, &email).expect(201);
        let intruder = app
            .login(&username, PASSWORD)
            .str("access_token")
            .to_owned();
        let enrolment = app.json("POST", "/mfa/totp", Some(&intruder), &json!({}));
        enrolment.expect(201);
        let code = pyotp_code(enrolment.str("secret"), now());
        app.json(
            "POST",
            "/mfa/totp/confirm",
            Some(&intruder),
            &json!({"code": code}),
        )
        .expect(200);
        if proof == "code" {
            app.post("/login/code/request", &json!({"email": email}))
                .expect(202);
            let code = app.mail_to(&email, "Your login code").code();
            let owner = app.post("/login/code", &json!({"email": email, "code": code}));
            owner.expect(200);
            assert!(owner.body.get("mfa_required").is_none(), "{}", owner.body);
            app.get("/profile", Some(owner.str("access_token")))
                .expect(200);
        } else {
            let link = app.mail_to(&email, "Confirm your email").link_token();
            app.post("/email/verify", &json!({"token": link}))
                .expect(200);
            let owner = app.login(&username, PASSWORD);
            owner.expect(200);
            assert!(owner.body.get("mfa_required").is_none(), "{}", owner.body);
        }
        app.get("/profile", Some(&intruder))
            .expect_error(401, "unauthorized");
    }
}

/// Deleting an account removes its second factors from the store too (issue 31 asks it
/// beyond what HTTP can see): TOTP, recovery codes and passkeys are one stored value.
fn a_deleted_account_leaves_no_second_factor_in_the_store(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, _secret, _codes) = account_with_totp(&app);
    let user_id = app.get("/profile", Some(&token)).str("id").to_owned();
    app.json(
        "DELETE",
        "/profile",
        Some(&token),
        &json!({"password": PASSWORD}),
    )
    .expect(200);
    app.login(&username, PASSWORD)
        .expect_error(401, "invalid_credentials");
    let left = app.leftovers(&user_id, &[]);
    assert!(!left.factors, "{left:?}");
    assert!(!left.account, "{left:?}");
}

store_tests!(
    an_intruders_totp_goes_when_the_owner_first_proves_the_mailbox,
    a_deleted_account_leaves_no_second_factor_in_the_store,
    enrolment_confirmation_and_login_with_totp,
    recovery_codes_work_once_and_can_be_replaced,
    mfa_tokens_die_after_five_wrong_codes_and_refuse_the_malformed,
    second_factor_failures_are_throttled,
    totp_off_checks_a_given_password_and_logins_get_tokens_again,
    an_emailed_login_code_also_needs_the_second_factor,
);

/// An account `keygate import` brought in with its old werkzeug hash: its owner logs in with
/// an emailed code, turns TOTP on, and from then on even the first login with the old
/// password (which upgrades the hash) asks for the second factor.
#[test]
fn an_imported_accounts_first_password_login_asks_for_the_second_factor() {
    let hash = keygate_tests::python::run_text([
        "-c",
        "from werkzeug.security import generate_password_hash as h; print(h('old-Passw0rd!', method='pbkdf2:sha256:1000'))",
    ]);
    assert!(hash.starts_with("pbkdf2:sha256:1000$"), "{hash}");
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("users.jsonl");
    std::fs::write(
        &file,
        json!({"id": 1, "username": "legacy-ada", "email": "legacy-ada@example.com", "password": hash})
            .to_string(),
    )
    .expect("written");
    let app = TestApp::spawn(Store::Embedded);
    let (output, app) = app.run_offline(&["import", "--from", file.to_str().expect("a path")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    app.post(
        "/login/code/request",
        &json!({"email": "legacy-ada@example.com"}),
    )
    .expect(202);
    let code = app
        .mail_to("legacy-ada@example.com", "Your login code")
        .code();
    let session = app.post(
        "/login/code",
        &json!({"email": "legacy-ada@example.com", "code": code}),
    );
    session.expect(200);
    let token = session.str("access_token").to_owned();
    let id = app.get("/profile", Some(&token)).str("id").to_owned();
    let secret = app
        .json("POST", "/mfa/totp", Some(&token), &json!({}))
        .str("secret")
        .to_owned();
    app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&token),
        &json!({"code": pyotp_code(&secret, now())}),
    )
    .expect(200);

    let first = app.post(
        "/login",
        &json!({"username": "legacy-ada", "password": "old-Passw0rd!"}),
    );
    first.expect(200);
    assert_eq!(first.body["mfa_required"], true, "{}", first.body);
    assert_eq!(first.body.get("access_token"), None);
    second_step(
        &app,
        &json!({"mfa_token": first.str("mfa_token"), "code": pyotp_code(&secret, now() + 30)}),
    )
    .expect(200);
    assert!(app.stored_password_hash(&id).starts_with("$argon2id$"));
}
