//! §8: email verification, password reset and one-time login codes, through the mail the
//! server really wrote (the `.eml` outbox of a server without SMTP; the SMTP path has its own
//! tests against a real mail server).

use std::time::Duration;

use keygate_tests::{store_tests, unique, Store, TestApp, PASSWORD};
use serde_json::json;

const FORGOT: &str = "If the account exists, we sent a reset link";

/// Registers `username` with an address; returns the address.
fn register(app: &TestApp, username: &str) -> String {
    let email = format!("{username}@example.com");
    app.register(username, &email).expect(201);
    email
}

fn verification_links_prove_the_address_once(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("verify");
    let email = register(&app, &username);
    let login = app.login(&username, PASSWORD);
    let token = login.str("access_token").to_owned();
    assert_eq!(
        app.get("/profile", Some(&token)).body["email_verified"],
        false
    );

    let mail = app.mail_to(&email, "Confirm your email");
    assert!(mail.html.contains("href="), "an HTML part too");
    let link_token = mail.link_token();
    assert_eq!(link_token.len(), 43, "256 bits");
    let verified = app.post("/email/verify", &json!({"token": link_token}));
    verified.expect(200);
    assert_eq!(verified.body["email_verified"], true);
    // The first proof of the mailbox ends the sessions started before it (§12).
    app.get("/profile", Some(&token))
        .expect_error(401, "unauthorized");
    let token = app
        .login(&username, PASSWORD)
        .str("access_token")
        .to_owned();
    assert_eq!(
        app.get("/profile", Some(&token)).body["email_verified"],
        true
    );
    // Single use; unknown and malformed ones alike.
    for bad in [link_token.as_str(), "unknown-token", ""] {
        let reply = app.post("/email/verify", &json!({"token": bad}));
        if bad.is_empty() {
            reply.expect_error(400, "missing_parameters");
        } else {
            reply.expect_error(400, "invalid_token");
        }
    }
    // Asking again for a verified address sends nothing new but answers alike.
    app.json("POST", "/email/verify/request", Some(&token), &json!({}))
        .expect(202);
}

/// §12: a new address takes effect once proven. Until its link is used the old address stays
/// the account's for login and reset, and the profile shows `pending_email`.
fn an_email_change_takes_effect_once_proven_and_the_old_address_is_told(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("mover");
    let old = register(&app, &username);
    let first = app.mail_to(&old, "Confirm your email").link_token();
    app.post("/email/verify", &json!({"token": first}))
        .expect(200);
    let token = app
        .login(&username, PASSWORD)
        .str("access_token")
        .to_owned();

    let new = format!("{username}-new@example.com");
    let asked = app.json("PUT", "/profile", Some(&token), &json!({"email": new}));
    asked.expect(200);
    assert_eq!(asked.body["email"], old.as_str());
    assert_eq!(asked.body["pending_email"], new.as_str());
    let profile = app.get("/profile", Some(&token));
    assert_eq!(profile.body["email"], old.as_str());
    assert_eq!(profile.body["email_verified"], true);
    assert_eq!(profile.body["pending_email"], new.as_str());
    let notice = app.mail_to(&old, "email address of your account changed");
    // The new address shown masked: its local part is the caller's text (issue 31).
    let masked = format!("{}…@example.com", &new[..1]);
    assert!(notice.text.contains(&masked), "{}", notice.text);
    assert!(!notice.text.contains(&new), "{}", notice.text);
    // Meanwhile the old address is the account's: it logs in, a reset goes to it.
    app.post("/login", &json!({"email": old, "password": PASSWORD}))
        .expect(200);
    app.post("/login", &json!({"email": new, "password": PASSWORD}))
        .expect_error(401, "invalid_credentials");
    app.post("/password/forgot", &json!({"email": new}))
        .expect(202);
    app.post("/password/forgot", &json!({"email": old}))
        .expect(202);
    let reset_token = app.mail_to(&old, "Reset your password").link_token();

    let link = app.mail_to(&new, "Confirm your email").link_token();
    let proven = app.post("/email/verify", &json!({"token": link}));
    proven.expect(200);
    assert_eq!(proven.body["email"], new.as_str());
    let profile = app.get("/profile", Some(&token));
    assert_eq!(profile.body["email"], new.as_str());
    assert_eq!(profile.body["email_verified"], true);
    assert_eq!(profile.body["pending_email"], serde_json::Value::Null);
    app.post("/login", &json!({"email": new, "password": PASSWORD}))
        .expect(200);
    app.post("/login", &json!({"email": old, "password": PASSWORD}))
        .expect_error(401, "invalid_credentials");
    // No reset was mailed to the address while it was only asked for, and the one mailed to
    // the old address ended with the move.
    assert!(keygate_tests::mail::all(&app.outbox_dir())
        .iter()
        .all(|mail| mail.to != new || !mail.subject.contains("Reset your password")));
    app.post(
        "/password/reset",
        &json!({"token": reset_token, "new_password": "another-fine-lantern-9"}),
    )
    .expect_error(400, "invalid_token");
}

/// A pending address reserves nothing: if another account registers it first, proving it
/// is `409 email_taken` and the account keeps its address. An address taken already is
/// refused when it is asked for.
fn a_pending_address_taken_meanwhile_is_refused_when_proven(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("slowmover");
    let old = register(&app, &username);
    let token = app
        .login(&username, PASSWORD)
        .str("access_token")
        .to_owned();
    let other = unique("quick");
    let taken = register(&app, &other);
    app.json("PUT", "/profile", Some(&token), &json!({"email": taken}))
        .expect_error(409, "email_taken");
    let new = format!("{username}-new@example.com");
    app.json("PUT", "/profile", Some(&token), &json!({"email": new}))
        .expect(200);
    let link = app.mail_to(&new, "Confirm your email").link_token();
    app.register(&unique("squatter"), &new).expect(201);
    app.post("/email/verify", &json!({"token": link}))
        .expect_error(409, "email_taken");
    let profile = app.get("/profile", Some(&token));
    assert_eq!(profile.body["email"], old.as_str());
}

fn a_password_reset_sets_the_password_and_ends_every_session(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("forgetful");
    let email = register(&app, &username);
    let login = app.login(&username, PASSWORD);
    let (access, refresh) = (
        login.str("access_token").to_owned(),
        login.str("refresh_token").to_owned(),
    );

    // Known and unknown addresses get the same answer.
    let known = app.post("/password/forgot", &json!({"email": email}));
    known.expect(202);
    let unknown = app.post("/password/forgot", &json!({"email": "nobody@example.com"}));
    unknown.expect(202);
    assert_eq!(known.body, unknown.body);
    assert_eq!(known.body["message"], FORGOT);
    app.post("/password/forgot", &json!({"identifier": username}))
        .expect(202);

    let mail = app.mail_to(&email, "Reset your password");
    let reset_token = mail.link_token();
    assert_eq!(reset_token.len(), 43, "{}", mail.text);
    // The policy applies, and a refused password does not spend the link.
    app.post(
        "/password/reset",
        &json!({"token": reset_token, "new_password": "short"}),
    )
    .expect_error(400, "validation_failed");
    let new_password = "a-brand-new-passphrase-77";
    app.post(
        "/password/reset",
        &json!({"token": reset_token, "new_password": new_password}),
    )
    .expect(200);
    app.post(
        "/password/reset",
        &json!({"token": reset_token, "new_password": "another-passphrase-88"}),
    )
    .expect_error(400, "invalid_token");

    app.login(&username, PASSWORD)
        .expect_error(401, "invalid_credentials");
    app.login(&username, new_password).expect(200);
    // Every session of the account ended.
    std::thread::sleep(Duration::from_millis(50));
    app.get("/profile", Some(&access)).expect(401);
    app.post("/token/refresh", &json!({"refresh_token": refresh}))
        .expect(401);
    // The other link (asked by username) died with the reset.
    let other = app.mail_to(&email, "Reset your password").link_token();
    app.post(
        "/password/reset",
        &json!({"token": other, "new_password": "yet-another-passphrase-99"}),
    )
    .expect_error(400, "invalid_token");
}

fn login_codes_work_once_and_die_after_five_wrong_tries(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("coder");
    let email = register(&app, &username);
    let unknown = app.post(
        "/login/code/request",
        &json!({"email": "nobody@example.com"}),
    );
    unknown.expect(202);
    let known = app.post("/login/code/request", &json!({"email": email}));
    known.expect(202);
    assert_eq!(known.body, unknown.body);
    let code = app.mail_to(&email, "Your login code").code();

    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.post("/login/code", &json!({"email": email, "code": wrong}))
        .expect_error(401, "invalid_credentials");
    let logged_in = app.post("/login/code", &json!({"email": email, "code": code}));
    logged_in.expect(200);
    let token = logged_in.str("access_token").to_owned();
    app.get("/profile", Some(&token)).expect(200);
    // A code proves the mailbox too.
    assert_eq!(
        app.get("/profile", Some(&token)).body["email_verified"],
        true
    );
    app.post("/login/code", &json!({"email": email, "code": code}))
        .expect_error(401, "invalid_credentials");

    // Five wrong tries kill a code: the right one fails after them.
    app.post("/login/code/request", &json!({"email": email}))
        .expect(202);
    std::thread::sleep(Duration::from_millis(300));
    let code = wait_for_new_code(&app, &email, &code);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        app.post("/login/code", &json!({"email": email, "code": wrong}))
            .expect_error(401, "invalid_credentials");
    }
    app.post("/login/code", &json!({"email": email, "code": code}))
        .expect_error(401, "invalid_credentials");
    app.post(
        "/login/code",
        &json!({"email": "nobody@example.com", "code": "123456"}),
    )
    .expect_error(401, "invalid_credentials");
    app.post("/login/code", &json!({"email": email}))
        .expect_error(400, "missing_parameters");
}

/// The newest code mailed to `email` that is not `previous`.
fn wait_for_new_code(app: &TestApp, email: &str, previous: &str) -> String {
    for _ in 0..100 {
        let codes: Vec<String> = keygate_tests::mail::all(&app.outbox_dir())
            .iter()
            .filter(|m| m.to.contains(email) && m.subject.contains("login code"))
            .map(keygate_tests::mail::Mail::code)
            .collect();
        if codes.len() >= 2 {
            if let Some(code) = codes.iter().find(|c| c.as_str() != previous) {
                return code.clone();
            }
            if codes.iter().all(|c| c == previous) {
                // Two equal codes in a row (one in a million): the newest is the live one.
                return previous.to_owned();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no second login code arrived");
}

/// `auth.require_verified_email`: a right password of an unverified account gets 403.
fn an_unverified_account_is_refused_where_verification_is_required(store: Store) {
    let app = TestApp::spawn_with(store, &[("KEYGATE__AUTH__REQUIRE_VERIFIED_EMAIL", "true")]);
    let username = unique("strict");
    let email = register(&app, &username);
    app.login(&username, PASSWORD)
        .expect_error(403, "email_unverified");
    app.login(&username, "wrong-password-123")
        .expect_error(401, "invalid_credentials");
    let link = app.mail_to(&email, "Confirm your email").link_token();
    app.post("/email/verify", &json!({"token": link}))
        .expect(200);
    app.login(&username, PASSWORD).expect(200);
}

/// Outside development nothing secret (link tokens, codes) reaches the log.
#[test]
fn no_token_or_code_is_logged_outside_development() {
    let app = TestApp::spawn(Store::Embedded);
    let username = unique("quiet");
    let email = register(&app, &username);
    app.post("/password/forgot", &json!({"email": email}))
        .expect(202);
    app.post("/login/code/request", &json!({"email": email}))
        .expect(202);
    let verification = app.mail_to(&email, "Confirm your email").link_token();
    let reset = app.mail_to(&email, "Reset your password").link_token();
    let code = app.mail_to(&email, "Your login code").code();
    std::thread::sleep(Duration::from_millis(300));
    let log = app.log();
    for secret in [verification.as_str(), reset.as_str(), code.as_str()] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

/// Mail requests are throttled per address asked about (and per client address).
#[test]
fn mail_requests_are_throttled() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__AUTH__THROTTLE__MAIL_REQUESTS_PER_ACCOUNT", "2")],
    );
    for _ in 0..2 {
        app.post("/password/forgot", &json!({"email": "target@example.com"}))
            .expect(202);
    }
    let refused = app.post("/password/forgot", &json!({"email": "target@example.com"}));
    refused.expect_error(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    app.post("/password/forgot", &json!({"email": "other@example.com"}))
        .expect(202);
}

/// §12, what a change ends (issue 31, hole 5): a password change ends the reset link and the
/// login code mailed before it; an email change ends those mailed to the old address (the old
/// code even worked with the new address).
fn a_password_or_email_change_ends_the_links_and_codes_mailed_before(store: Store) {
    let app = TestApp::spawn(store);
    for change in ["password", "email"] {
        let username = unique(&format!("ends-{change}"));
        let email = register(&app, &username);
        let token = app
            .login(&username, PASSWORD)
            .str("access_token")
            .to_owned();
        app.post("/password/forgot", &json!({"email": email}))
            .expect(202);
        let reset_token = app.mail_to(&email, "Reset your password").link_token();
        app.post("/login/code/request", &json!({"email": email}))
            .expect(202);
        let code = app.mail_to(&email, "Your login code").code();
        let address = if change == "password" {
            app.json(
                "PUT",
                "/profile/password",
                Some(&token),
                &json!({"current_password": PASSWORD, "new_password": "another-fine-lantern-9"}),
            )
            .expect(200);
            email.clone()
        } else {
            let new = format!("{username}-new@example.com");
            app.json("PUT", "/profile", Some(&token), &json!({"email": new}))
                .expect(200);
            new
        };
        app.post(
            "/password/reset",
            &json!({"token": reset_token, "new_password": "yet-another-lantern-3"}),
        )
        .expect_error(400, "invalid_token");
        app.post("/login/code", &json!({"email": address, "code": code}))
            .expect_error(401, "invalid_credentials");
    }
}

/// A refused code login is answered no sooner than 25 ms after it arrived, whoever the
/// address belongs to, so that the store work behind it (a live code's try is a durable write)
/// cannot tell who has an account (issue 31). A lower bound only: it cannot fail by slowness.
fn refused_code_logins_wait_out_one_floor(store: Store) {
    let app = TestApp::spawn(store);
    let username = unique("floor");
    let email = register(&app, &username);
    app.post("/login/code/request", &json!({"email": email}))
        .expect(202);
    let _ = app.mail_to(&email, "Your login code");
    for address in [
        email.as_str(),
        "nobody-at-all@example.com",
        "not an address",
    ] {
        let started = std::time::Instant::now();
        app.post("/login/code", &json!({"email": address, "code": "000000"}))
            .expect_error(401, "invalid_credentials");
        assert!(
            started.elapsed() >= Duration::from_millis(25),
            "{address}: {:?}",
            started.elapsed()
        );
    }
}

store_tests!(
    refused_code_logins_wait_out_one_floor,
    a_password_or_email_change_ends_the_links_and_codes_mailed_before,
    verification_links_prove_the_address_once,
    an_email_change_takes_effect_once_proven_and_the_old_address_is_told,
    a_pending_address_taken_meanwhile_is_refused_when_proven,
    a_password_reset_sets_the_password_and_ends_every_session,
    login_codes_work_once_and_die_after_five_wrong_tries,
    an_unverified_account_is_refused_where_verification_is_required,
    mail_goes_out_over_smtp,
);

/// Over SMTP to a real mail server: the message arrives and its link works.
fn mail_goes_out_over_smtp(store: Store) {
    let smtp = keygate_tests::smtp::SmtpServer::start();
    let app = TestApp::spawn_with(store, &[("KEYGATE__EMAIL__SMTP_URL", &smtp.url())]);
    let username = unique("smtp");
    let email = register(&app, &username);
    let mail = smtp.mail_to(&email, "Confirm your email", Duration::from_secs(15));
    assert!(mail.html.contains("<a href="));
    app.post("/email/verify", &json!({"token": mail.link_token()}))
        .expect(200);
    assert!(
        keygate_tests::mail::all(&app.outbox_dir()).is_empty(),
        "nothing in the .eml directory when SMTP is configured"
    );
}

/// The mail server is down when mail is triggered: nothing is lost; once it is up the message
/// arrives (retried with backoff), and `/metrics` counted the failed tries.
#[test]
fn mail_waits_out_a_mail_server_outage() {
    let mut smtp = keygate_tests::smtp::SmtpServer::unstarted();
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__EMAIL__SMTP_URL", &smtp.url())],
    );
    let username = unique("outage");
    let email = register(&app, &username);
    app.post("/password/forgot", &json!({"email": email}))
        .expect(202);
    let metrics = || app.get("/metrics", None).text;
    let failed = "keygate_mail_messages_total{outcome=\"failed\"}";
    for _ in 0..100 {
        if metrics()
            .lines()
            .any(|l| l.starts_with(failed) && !l.ends_with(" 0"))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        metrics()
            .lines()
            .any(|l| l.starts_with(failed) && !l.ends_with(" 0")),
        "a failed try is counted:\n{}",
        metrics()
    );
    smtp.start_again();
    let reset = smtp.mail_to(&email, "Reset your password", Duration::from_secs(30));
    app.post(
        "/password/reset",
        &json!({"token": reset.link_token(), "new_password": "after-the-outage-2026"}),
    )
    .expect(200);
    let verification = smtp.mail_to(&email, "Confirm your email", Duration::from_secs(30));
    assert!(!verification.link_token().is_empty());
}

/// How many messages `app` has queued since it started (`/metrics`).
fn mail_queued(app: &TestApp) -> u64 {
    let queued = "keygate_mail_messages_total{outcome=\"queued\"} ";
    app.get("/metrics", None)
        .text
        .lines()
        .find_map(|line| line.strip_prefix(queued))
        .and_then(|count| count.trim().parse().ok())
        .expect("the queued mail counter")
}

/// Keygate killed (SIGKILL) with mail queued and the mail server down loses none of it: the
/// restarted server sends it.
#[test]
fn queued_mail_survives_a_kill_9() {
    let mut smtp = keygate_tests::smtp::SmtpServer::unstarted();
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__EMAIL__SMTP_URL", &smtp.url())],
    );
    let username = unique("killed");
    let email = register(&app, &username);
    let queued_before = mail_queued(&app);
    app.post("/login/code/request", &json!({"email": email}))
        .expect(202);
    // The 202 answers before the message is queued: wait until it is, then kill.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while mail_queued(&app) == queued_before {
        assert!(
            std::time::Instant::now() < deadline,
            "the code mail was never queued"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // restart() kills the process outright, then starts it on the same data.
    let app = app.restart();
    smtp.start_again();
    let code = smtp
        .mail_to(&email, "Your login code", Duration::from_secs(30))
        .code();
    app.post("/login/code", &json!({"email": email, "code": code}))
        .expect(200);
}
