//! §9: passkeys, end to end with a software authenticator built on Yubico's `fido2` library
//! (`tests/fixtures/soft_authenticator.py`), on both stores; and a ceremony started on one
//! instance finished on another.

use std::path::{Path, PathBuf};

use keygate_tests::{store_tests, unique, Reply, Store, TestApp, PASSWORD};
use serde_json::{json, Value};

const ORIGIN: &str = "http://localhost:8080";

fn webauthn_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KEYGATE__AUTH__WEBAUTHN__RP_ID", "localhost"),
        ("KEYGATE__AUTH__WEBAUTHN__ORIGIN", ORIGIN),
    ]
}

/// A software authenticator with its credentials in a state file of its own.
struct Authenticator {
    state: PathBuf,
    _dir: tempfile::TempDir,
}

impl Authenticator {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a directory");
        Self {
            state: dir.path().join("authenticator.json"),
            _dir: dir,
        }
    }

    /// Runs the authenticator: `create` or `get` for `options`, as a page at `origin`.
    fn run(&self, command: &str, options: &Value, origin: &str, extra: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/soft_authenticator.py");
        let mut args: Vec<std::ffi::OsString> = vec![
            script.into(),
            command.into(),
            self.state.clone().into(),
            options.to_string().into(),
            origin.into(),
        ];
        args.extend(extra.iter().map(Into::into));
        serde_json::from_slice(&keygate_tests::python::run(args)).expect("a credential as JSON")
    }

    fn create(&self, options: &Value) -> Value {
        self.run("create", options, ORIGIN, &[])
    }

    fn get(&self, options: &Value) -> Value {
        self.run("get", options, ORIGIN, &[])
    }
}

/// A new account and its access token.
fn account(app: &TestApp) -> (String, String) {
    let username = unique("pk");
    app.register(&username, &format!("{username}@example.com"))
        .expect(201);
    let token = app
        .login(&username, PASSWORD)
        .str("access_token")
        .to_owned();
    (username, token)
}

/// Registers a passkey of `authenticator` for the holder of `token`.
fn register(app: &TestApp, token: &str, authenticator: &Authenticator, name: &str) -> Reply {
    let start = app.json("POST", "/passkeys/register/start", Some(token), &json!({}));
    start.expect(200);
    let credential = authenticator.create(&start.body["options"]);
    app.json(
        "POST",
        "/passkeys/register/finish",
        Some(token),
        &json!({"challenge_id": start.str("challenge_id"), "credential": credential, "name": name}),
    )
}

/// Starts a passkey login, optionally for `username`: `(challenge_id, options)`.
fn login_start(app: &TestApp, username: Option<&str>) -> (String, Value) {
    let body = username.map_or_else(|| json!({}), |u| json!({"username": u}));
    let start = app.post("/login/passkey/start", &body);
    start.expect(200);
    (
        start.str("challenge_id").to_owned(),
        start.body["options"].clone(),
    )
}

fn login_finish(app: &TestApp, challenge_id: &str, credential: &Value) -> Reply {
    app.post(
        "/login/passkey/finish",
        &json!({"challenge_id": challenge_id, "credential": credential}),
    )
}

fn a_passkey_registers_lists_logs_in_without_a_username_and_is_deleted(store: Store) {
    let app = TestApp::spawn_with(store, &webauthn_env());
    let (username, token) = account(&app);
    let authenticator = Authenticator::new();

    let start = app.json("POST", "/passkeys/register/start", Some(&token), &json!({}));
    start.expect(200);
    let options = &start.body["options"];
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(options["user"]["name"], username.as_str());
    let credential = authenticator.create(options);
    let finish = json!({"challenge_id": start.str("challenge_id"), "credential": credential, "name": "Laptop"});
    let registered = app.json("POST", "/passkeys/register/finish", Some(&token), &finish);
    registered.expect(201);
    assert_eq!(registered.body["name"], "Laptop");
    let passkey_id = registered.str("passkey_id").to_owned();
    assert_eq!(passkey_id.len(), 24);
    // The challenge was spent.
    app.json("POST", "/passkeys/register/finish", Some(&token), &finish)
        .expect_error(400, "invalid_token");

    let listed = app.get("/passkeys", Some(&token));
    listed.expect(200);
    assert_eq!(
        listed.body["passkeys"][0]["passkey_id"],
        passkey_id.as_str()
    );
    assert_eq!(listed.body["passkeys"][0]["name"], "Laptop");
    assert_eq!(listed.body["passkeys"][0]["last_used_at"], Value::Null);
    assert!(!listed.text.contains("credential"), "{}", listed.text);
    assert_eq!(
        app.get("/profile", Some(&token)).body["mfa"],
        json!({"totp": false, "passkeys": 1})
    );

    // Usernameless: no body at all.
    let start = app.request("POST", "/login/passkey/start", &[], None);
    start.expect(200);
    let (challenge_id, options) = (
        start.str("challenge_id").to_owned(),
        start.body["options"].clone(),
    );
    assert_eq!(options["rpId"], "localhost");
    let assertion = authenticator.get(&options);
    let logged_in = login_finish(&app, &challenge_id, &assertion);
    logged_in.expect(200);
    let access = logged_in.str("access_token").to_owned();
    assert_eq!(app.get("/profile", Some(&access)).str("username"), username);
    // Single use: the same answer again is refused, as is any answer to it.
    login_finish(&app, &challenge_id, &assertion).expect_error(400, "invalid_token");
    assert!(app.get("/passkeys", Some(&token)).body["passkeys"][0]["last_used_at"].is_string());

    // With the username, as §9 allows.
    let (challenge_id, options) = login_start(&app, Some(&username));
    login_finish(&app, &challenge_id, &authenticator.get(&options)).expect(200);

    // Deleted: it logs in no more.
    let (_, other_token) = account(&app);
    app.json(
        "DELETE",
        &format!("/passkeys/{passkey_id}"),
        Some(&other_token),
        &json!({}),
    )
    .expect_error(404, "not_found");
    app.json("DELETE", "/passkeys/not-an-id", Some(&token), &json!({}))
        .expect_error(404, "not_found");
    app.json(
        "DELETE",
        &format!("/passkeys/{passkey_id}"),
        Some(&token),
        &json!({}),
    )
    .expect(200);
    assert_eq!(
        app.get("/passkeys", Some(&token)).body["passkeys"],
        json!([])
    );
    let (challenge_id, options) = login_start(&app, None);
    login_finish(&app, &challenge_id, &authenticator.get(&options))
        .expect_error(401, "invalid_credentials");
}

fn every_refusal_of_a_passkey_ceremony(store: Store) {
    let app = TestApp::spawn_with(store, &webauthn_env());
    let (username, token) = account(&app);
    let authenticator = Authenticator::new();
    register(&app, &token, &authenticator, "Main").expect(201);

    // Registration: another account's challenge, a wrong origin, no user verification,
    // an unknown challenge, a malformed body.
    let (_, other_token) = account(&app);
    let start = app.json(
        "POST",
        "/passkeys/register/start",
        Some(&other_token),
        &json!({}),
    );
    let stranger = Authenticator::new();
    let credential = stranger.create(&start.body["options"]);
    app.json(
        "POST",
        "/passkeys/register/finish",
        Some(&token),
        &json!({"challenge_id": start.str("challenge_id"), "credential": credential}),
    )
    .expect_error(400, "invalid_token");
    for (origin, extra) in [
        ("http://evil.example:8080", &[][..]),
        (ORIGIN, &["--no-uv"][..]),
    ] {
        let start = app.json("POST", "/passkeys/register/start", Some(&token), &json!({}));
        let credential = stranger.run("create", &start.body["options"], origin, extra);
        app.json(
            "POST",
            "/passkeys/register/finish",
            Some(&token),
            &json!({"challenge_id": start.str("challenge_id"), "credential": credential}),
        )
        .expect_error(400, "validation_failed");
    }
    app.json(
        "POST",
        "/passkeys/register/finish",
        Some(&token),
        &json!({"challenge_id": "A".repeat(43), "credential": {"id": "x"}}),
    )
    .expect_error(400, "invalid_token");
    app.json(
        "POST",
        "/passkeys/register/finish",
        Some(&token),
        &json!({"challenge_id": "x"}),
    )
    .expect_error(400, "missing_parameters");
    app.json(
        "POST",
        "/passkeys/register/finish",
        Some(&token),
        &json!({"challenge_id": "x", "credential": "a string"}),
    )
    .expect_error(400, "validation_failed");
    let start = app.json("POST", "/passkeys/register/start", Some(&token), &json!({}));
    app.json(
        "POST",
        "/passkeys/register/finish",
        Some(&token),
        &json!({"challenge_id": start.str("challenge_id"), "credential": {"id": "garbage", "response": 7}}),
    )
    .expect_error(400, "validation_failed");
    app.json("POST", "/passkeys/register/start", None, &json!({}))
        .expect_error(401, "unauthorized");

    // Login: a wrong origin, no user verification, a sign counter that did not move, an
    // assertion claiming another account, one for an account the username does not name,
    // a garbage credential, an unknown challenge.
    // (A login first, so that Keygate holds the authenticator's current sign counter.)
    let (challenge_id, options) = login_start(&app, None);
    login_finish(&app, &challenge_id, &authenticator.get(&options)).expect(200);
    for (origin, extra) in [
        (ORIGIN, &["--counter", "0"][..]),
        ("http://evil.example:8080", &[][..]),
        (ORIGIN, &["--no-uv"][..]),
    ] {
        let (challenge_id, options) = login_start(&app, None);
        let assertion = authenticator.run("get", &options, origin, extra);
        login_finish(&app, &challenge_id, &assertion).expect_error(401, "invalid_credentials");
    }
    let (other, _) = account(&app);
    let (challenge_id, options) = login_start(&app, Some(&other));
    login_finish(&app, &challenge_id, &authenticator.get(&options))
        .expect_error(401, "invalid_credentials");
    let (challenge_id, options) = login_start(&app, Some("no-such-user-at-all"));
    login_finish(&app, &challenge_id, &authenticator.get(&options))
        .expect_error(401, "invalid_credentials");
    let other_id = app.get("/profile", Some(&other_token)).str("id").to_owned();
    let claimed: String = {
        // The other account's user handle: its 12 id bytes and four zero bytes, base64url.
        let mut bytes: Vec<u8> = (0..12)
            .map(|i| u8::from_str_radix(&other_id[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        bytes.extend([0, 0, 0, 0]);
        base64_url(&bytes)
    };
    let (challenge_id, options) = login_start(&app, None);
    let forged = authenticator.run("get", &options, ORIGIN, &["--user-handle", &claimed]);
    login_finish(&app, &challenge_id, &forged).expect_error(401, "invalid_credentials");
    let (challenge_id, _) = login_start(&app, None);
    login_finish(
        &app,
        &challenge_id,
        &json!({"id": "x", "type": "public-key"}),
    )
    .expect_error(401, "invalid_credentials");
    login_finish(&app, &"B".repeat(43), &json!({"id": "x"})).expect_error(400, "invalid_token");
    app.post("/login/passkey/finish", &json!({"credential": {}}))
        .expect_error(400, "missing_parameters");

    // After all that, the passkey still logs in; with TOTP on, still without a second factor
    // (while a password login now asks for one).
    let secret = app
        .json("POST", "/mfa/totp", Some(&token), &json!({}))
        .str("secret")
        .to_owned();
    let code = keygate_tests::otp::pyotp_code(&secret, keygate_tests::otp::unix_now());
    app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&token),
        &json!({"code": code}),
    )
    .expect(200);
    assert_eq!(app.login(&username, PASSWORD).body["mfa_required"], true);
    let (challenge_id, options) = login_start(&app, Some(&username));
    let logged_in = login_finish(&app, &challenge_id, &authenticator.get(&options));
    logged_in.expect(200);
    logged_in.str("access_token");
}

/// base64url without padding (no dependency for one helper).
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// §12, account pre-hijacking (issue 31 hole 1): someone registers with the owner's address,
/// which nobody has proven, and adds TOTP and a passkey. The owner resets the password from
/// their mailbox: the intruder's session ends, their passkey logs in no more, and the owner's
/// login asks for no second factor the intruder holds; the owner is told by mail.
fn the_owners_first_proof_of_the_mailbox_removes_what_an_intruder_added(store: Store) {
    let app = TestApp::spawn_with(store, &webauthn_env());
    let (username, intruder) = account(&app);
    let address = format!("{username}@example.com");
    let enrolment = app.json("POST", "/mfa/totp", Some(&intruder), &json!({}));
    enrolment.expect(201);
    let secret = enrolment.str("secret").to_owned();
    let code = keygate_tests::otp::pyotp_code(&secret, keygate_tests::otp::unix_now());
    app.json(
        "POST",
        "/mfa/totp/confirm",
        Some(&intruder),
        &json!({"code": code}),
    )
    .expect(200);
    let authenticator = Authenticator::new();
    register(&app, &intruder, &authenticator, "intruder").expect(201);

    app.post("/password/forgot", &json!({"email": address}))
        .expect(202);
    let reset = app.mail_to(&address, "Reset your password").link_token();
    app.post(
        "/password/reset",
        &json!({"token": reset, "new_password": "owners-own-lantern-5"}),
    )
    .expect(200);

    app.get("/profile", Some(&intruder))
        .expect_error(401, "unauthorized");
    let (challenge_id, options) = login_start(&app, None);
    login_finish(&app, &challenge_id, &authenticator.get(&options))
        .expect_error(401, "invalid_credentials");
    let owner = app.post(
        "/login",
        &json!({"username": username, "password": "owners-own-lantern-5"}),
    );
    owner.expect(200);
    assert!(owner.body.get("mfa_required").is_none(), "{}", owner.body);
    let token = owner.str("access_token");
    let profile = app.get("/profile", Some(token));
    assert_eq!(profile.body["email_verified"], true);
    assert_eq!(profile.body["mfa"], json!({"totp": false, "passkeys": 0}));
    let told = app.mail_to(&address, "Your account was secured");
    assert!(told.text.contains("removed"), "{}", told.text);
}

/// An owner who proved the address first keeps what they add afterwards: a reset of a
/// verified address removes no passkey.
fn factors_added_after_the_proof_stay(store: Store) {
    let app = TestApp::spawn_with(store, &webauthn_env());
    let (username, token) = app.proven_account("pk");
    let address = format!("{username}@example.com");
    let authenticator = Authenticator::new();
    register(&app, &token, &authenticator, "mine").expect(201);
    app.post("/password/forgot", &json!({"email": address}))
        .expect(202);
    let reset = app.mail_to(&address, "Reset your password").link_token();
    app.post(
        "/password/reset",
        &json!({"token": reset, "new_password": "owners-own-lantern-5"}),
    )
    .expect(200);
    let (challenge_id, options) = login_start(&app, None);
    login_finish(&app, &challenge_id, &authenticator.get(&options)).expect(200);
}

store_tests!(
    the_owners_first_proof_of_the_mailbox_removes_what_an_intruder_added,
    factors_added_after_the_proof_stay,
    a_passkey_registers_lists_logs_in_without_a_username_and_is_deleted,
    every_refusal_of_a_passkey_ceremony,
);

/// A ceremony started on instance A finishes on instance B (one MongoDB), registration and
/// login alike.
#[test]
fn a_ceremony_started_on_one_instance_finishes_on_another() {
    let database = keygate_tests::fresh_database_name();
    let uri = keygate_tests::mongodb_uri();
    let mut env = webauthn_env();
    env.push(("KEYGATE__DATABASE__URL", uri.as_str()));
    env.push(("KEYGATE__DATABASE__NAME", database.as_str()));
    let a = TestApp::spawn_with(Store::Mongo, &env);
    let b = TestApp::spawn_with(Store::Mongo, &env);
    let (username, token) = account(&a);
    let authenticator = Authenticator::new();
    let start = a.json("POST", "/passkeys/register/start", Some(&token), &json!({}));
    let credential = authenticator.create(&start.body["options"]);
    b.json(
        "POST",
        "/passkeys/register/finish",
        Some(&token),
        &json!({"challenge_id": start.str("challenge_id"), "credential": credential}),
    )
    .expect(201);
    let (challenge_id, options) = login_start(&b, Some(&username));
    let assertion = authenticator.get(&options);
    let logged_in = login_finish(&a, &challenge_id, &assertion);
    logged_in.expect(200);
    logged_in.str("access_token");
    // And the spent challenge is spent on both.
    login_finish(&b, &challenge_id, &assertion).expect_error(400, "invalid_token");
}

/// Once in a real browser: headless Chromium with a virtual authenticator (DevTools `WebAuthn`
/// domain) on a small page served from `http://localhost:<port>` registers a passkey with
/// `navigator.credentials.create()` and logs in with `.get()`, without a username.
#[test]
fn headless_chromium_registers_a_passkey_and_logs_in_with_it() {
    let browser = std::env::var_os("KEYGATE_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/bin/chromium")])
        .find(|p| p.is_file())
        // Never skipped: a test that cannot run must not be reported as passed.
        .expect("no Chromium at KEYGATE_CHROMIUM or /usr/bin/chromium: run make test");
    let page_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let origin = format!("http://localhost:{page_port}");
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("KEYGATE__AUTH__WEBAUTHN__RP_ID", "localhost"),
            ("KEYGATE__AUTH__WEBAUTHN__ORIGIN", &origin),
            ("KEYGATE__SERVER__CORS_ORIGINS", &origin),
        ],
    );
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cdp_webauthn.py");
    let username = unique("chromium");
    let report = keygate_tests::python::run([
        driver.into_os_string(),
        browser.into_os_string(),
        page_port.to_string().into(),
        app.base.clone().into(),
        username.clone().into(),
    ]);
    let result: Value = serde_json::from_slice(&report).expect("the page's report");
    assert_eq!(
        result,
        json!({
            "registered": 201,
            "passkey_name": "Chromium",
            "logged_in": 200,
            "profile_username": username,
            "profile_mfa": {"totp": false, "passkeys": 1},
            "replayed": 400,
        })
    );
}
