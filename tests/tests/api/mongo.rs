//! MongoDB only: several instances on one database, and surviving an outage.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keygate_tests::{fresh_database_name, mongodb_uri, Store, TestApp, PASSWORD};

fn two_instances_on(database: &str, extra: &[(&str, &str)]) -> (TestApp, TestApp) {
    let uri = mongodb_uri();
    let mut env = vec![
        ("KEYGATE__DATABASE__URL", uri.as_str()),
        ("KEYGATE__DATABASE__NAME", database),
        (
            "KEYGATE__AUTH__JWT_SECRET",
            "one-secret-shared-by-every-instance-0123",
        ),
    ];
    env.extend_from_slice(extra);
    (
        TestApp::spawn_with(Store::Mongo, &env),
        TestApp::spawn_with(Store::Mongo, &env),
    )
}

#[test]
fn a_user_registered_on_one_instance_logs_in_on_the_other() {
    let (a, b) = two_instances_on(&fresh_database_name(), &[]);
    a.register("shared", "shared@example.com").expect(201);
    let login = b.login("shared", PASSWORD);
    login.expect(200);
    a.get("/profile", Some(login.str("access_token")))
        .expect(200);
    b.register("Shared", "other@example.com")
        .expect_error(409, "username_taken");
}

#[test]
fn a_logout_on_one_instance_revokes_on_the_other_within_the_cache_ttl() {
    let (a, b) = two_instances_on(
        &fresh_database_name(),
        &[("KEYGATE__AUTH__REVOCATION_CACHE_TTL_SECS", "1")],
    );
    let (_, token, refresh) = a.signed_up_user();
    b.get("/profile", Some(&token)).expect(200);
    a.json("POST", "/logout", Some(&token), &serde_json::json!({}))
        .expect(200);
    // Within the 1 s TTL, and 2 s of slack for a busy machine (still far under any TTL that
    // was ignored).
    refused_within_the_ttl(&b, &token, "a logout");
    b.post(
        "/token/refresh",
        &serde_json::json!({"refresh_token": refresh}),
    )
    .expect_error(401, "unauthorized");
}

/// Polls `token` on `instance` until it is refused, within a 1 s TTL and 2 s of slack.
fn refused_within_the_ttl(instance: &TestApp, token: &str, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let reply = instance.get("/profile", Some(token));
        if reply.status == 401 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still accepted 3 s after {after} with a 1 s TTL: {}",
            reply.text
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A password change on one instance ends the other sessions on every instance: the other
/// instance refuses a session it had checked within the revocation TTL, and its refresh token.
#[test]
fn a_password_change_on_one_instance_revokes_on_the_other_within_the_cache_ttl() {
    let (a, b) = two_instances_on(
        &fresh_database_name(),
        &[("KEYGATE__AUTH__REVOCATION_CACHE_TTL_SECS", "1")],
    );
    let (username, kept, _) = a.signed_up_user();
    let other = a.login(&username, keygate_tests::PASSWORD);
    let (token, refresh) = (other.str("access_token"), other.str("refresh_token"));
    b.get("/profile", Some(token)).expect(200);
    a.json(
        "PUT",
        "/profile/password",
        Some(&kept),
        &serde_json::json!({"current_password": keygate_tests::PASSWORD,
            "new_password": "another long passphrase 77"}),
    )
    .expect(200);
    refused_within_the_ttl(&b, token, "a password change");
    b.post(
        "/token/refresh",
        &serde_json::json!({"refresh_token": refresh}),
    )
    .expect_error(401, "unauthorized");
    // The session that changed it stays.
    b.get("/profile", Some(&kept)).expect(200);
}

/// Deleting the account on one instance ends its sessions on the other within the TTL.
#[test]
fn an_account_deleted_on_one_instance_is_refused_by_the_other_within_the_cache_ttl() {
    let (a, b) = two_instances_on(
        &fresh_database_name(),
        &[("KEYGATE__AUTH__REVOCATION_CACHE_TTL_SECS", "1")],
    );
    let (_, token, refresh) = a.signed_up_user();
    b.get("/profile", Some(&token)).expect(200);
    a.json(
        "DELETE",
        "/profile",
        Some(&token),
        &serde_json::json!({"password": keygate_tests::PASSWORD}),
    )
    .expect(200);
    refused_within_the_ttl(&b, &token, "the account's deletion");
    b.post(
        "/token/refresh",
        &serde_json::json!({"refresh_token": refresh}),
    )
    .expect_error(401, "unauthorized");
}

#[test]
fn a_key_revoked_on_one_instance_is_refused_by_the_other_within_the_cache_ttl() {
    let (a, b) = two_instances_on(
        &fresh_database_name(),
        &[("KEYGATE__AUTH__REVOCATION_CACHE_TTL_SECS", "1")],
    );
    let (_, token, _) = a.signed_up_user();
    let created = a.create_api(&token, "Shared", &[("items", serde_json::json!({}))]);
    let key = created.str("api_key").to_owned();
    // The other instance verifies the key and remembers it.
    b.with_key("GET", "/api/shared/items", &key, None)
        .expect(200);
    let path = format!(
        "/api/{}/keys/{}",
        created.str("api_id"),
        created.str("key_id")
    );
    a.json("DELETE", &path, Some(&token), &serde_json::json!({}))
        .expect(200);
    a.with_key("GET", "/api/shared/items", &key, None)
        .expect_error(401, "invalid_api_key");
    let revoked_at = Instant::now();
    loop {
        let reply = b.with_key("GET", "/api/shared/items", &key, None);
        if reply.status == 401 {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(3),
            "still accepted 3 s after a revocation with a 1 s TTL: {}",
            reply.text
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sixteen_racing_registrations_over_two_instances_make_one_account() {
    let (a, b) = two_instances_on(&fresh_database_name(), &[]);
    keygate_tests::assert_one_registration_wins(&[&a, &b], 16, "race@example.com");
}

/// §12 (issue 31 hole 7): the login throttle holds for both instances together. Ten wrong
/// passwords for one account, alternating between the instances, are each `401`; the 11th is
/// `429` wherever it arrives. Before, each instance allowed ten of its own.
#[test]
fn two_instances_refuse_the_eleventh_wrong_password_wherever_it_arrives() {
    let (a, b) = two_instances_on(&fresh_database_name(), &[]);
    a.register("guarded", "guarded@example.com").expect(201);
    let wrong = serde_json::json!({"username": "guarded", "password": "not-the-password-1"});
    for i in 0..10 {
        let instance = if i % 2 == 0 { &a } else { &b };
        instance
            .post("/login", &wrong)
            .expect_error(401, "invalid_credentials");
    }
    for instance in [&a, &b] {
        let refused = instance.post("/login", &wrong);
        refused.expect_error(429, "rate_limited");
        assert!(refused.header("retry-after").is_some(), "{}", refused.text);
    }
    // Even the right password waits: the account's window is full.
    a.login("guarded", PASSWORD)
        .expect_error(429, "rate_limited");
}

/// Racing guesses over both instances: of 24 wrong passwords sent at once, at most 10 are
/// checked (`401`); the others are `429`.
#[test]
fn racing_guesses_over_two_instances_check_at_most_the_limit() {
    let (a, b) = two_instances_on(&fresh_database_name(), &[]);
    a.register("raced", "raced@example.com").expect(201);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let instance = if i % 2 == 0 { &a } else { &b };
                scope.spawn(move || {
                    instance
                        .post(
                            "/login",
                            &serde_json::json!({"username": "raced", "password": "wrong-guess-12"}),
                        )
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 24, "{statuses:?}");
    assert!(
        checked <= 10,
        "{checked} guesses were checked: {statuses:?}"
    );
    assert!(checked >= 1, "{statuses:?}");
}

/// The mail-request throttle too: five reset requests for one address over both instances,
/// then the sixth is `429` on either (the suite's own limit lifted back to the default).
#[test]
fn two_instances_share_the_mail_request_throttle() {
    let (a, b) = two_instances_on(
        &fresh_database_name(),
        &[("KEYGATE__AUTH__THROTTLE__MAIL_REQUESTS_PER_ACCOUNT", "5")],
    );
    let forgot = serde_json::json!({"email": "someone@example.com"});
    for i in 0..5 {
        let instance = if i % 2 == 0 { &a } else { &b };
        instance.post("/password/forgot", &forgot).expect(202);
    }
    b.post("/password/forgot", &forgot)
        .expect_error(429, "rate_limited");
    a.post("/password/forgot", &forgot)
        .expect_error(429, "rate_limited");
}

/// Two instances on one MongoDB, both delivering from the one outbox to one real mail
/// server: every message arrives exactly once (each is claimed by one worker at a time).
#[test]
fn two_instances_deliver_each_message_exactly_once() {
    let smtp = keygate_tests::smtp::SmtpServer::start();
    let url = smtp.url();
    let (a, b) = two_instances_on(
        &fresh_database_name(),
        &[("KEYGATE__EMAIL__SMTP_URL", url.as_str())],
    );
    let count = 12;
    for i in 0..count {
        let instance = if i % 2 == 0 { &a } else { &b };
        instance
            .register(&format!("once{i}"), &format!("once{i}@example.com"))
            .expect(201);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while keygate_tests::mail::all(smtp.maildir()).len() < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Both workers poll every 100 ms: give a second delivery every chance to happen.
    std::thread::sleep(Duration::from_secs(2));
    let arrived = keygate_tests::mail::all(smtp.maildir());
    let mut recipients: Vec<String> = arrived.iter().map(|mail| mail.to.clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(arrived.len(), count, "{recipients:?}");
    assert_eq!(recipients.len(), count, "{recipients:?}");
}

/// A SecantusDB server of this test's own, on disk so it can be stopped and started again.
struct OwnServer {
    python: String,
    port: u16,
    storage: tempfile::TempDir,
    child: Option<Child>,
}

impl OwnServer {
    fn start() -> Self {
        let python = std::env::var("KEYGATE_TEST_SECANTUS_PYTHON").unwrap_or_else(|_| {
            panic!("KEYGATE_TEST_SECANTUS_PYTHON is not set: run `make test`, which installs SecantusDB")
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            python,
            port,
            storage: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.resume();
        server
    }

    fn resume(&mut self) {
        let child = Command::new(&self.python)
            .args([
                "-m",
                "secantus",
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
            ])
            .arg("--storage-path")
            .arg(self.storage.path().join("db"))
            // Durable commits, as a real MongoDB's journal gives: the outage is a kill -9.
            .args(["--log-level", "WARNING", "--sync-on-commit"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "SecantusDB did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn an_outage_answers_503_quickly_and_keygate_recovers_without_a_restart() {
    let mut server = OwnServer::start();
    let url = server.url();
    let app = TestApp::spawn_with(
        Store::Mongo,
        &[
            ("KEYGATE__DATABASE__URL", url.as_str()),
            ("KEYGATE__DATABASE__NAME", "outage"),
            ("KEYGATE__DATABASE__TIMEOUT_MS", "1000"),
        ],
    );
    let (username, token, _) = app.signed_up_user();
    app.get("/ready", None).expect(200);

    server.stop();
    let started = Instant::now();
    let ready = app.get("/ready", None);
    ready.expect_error(503, "unavailable");
    let login = app.login(&username, PASSWORD);
    login.expect_error(503, "unavailable");
    app.get("/profile", Some(&token))
        .expect_error(503, "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "503s took {:?}",
        started.elapsed()
    );
    let text = format!("{}{}", ready.text, login.text).to_lowercase();
    assert!(
        !text.contains("mongo") && !text.contains("127.0.0.1"),
        "driver detail leaked: {text}"
    );
    app.get("/health", None).expect(200);

    server.resume();
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get("/ready", None).status != 200 {
        assert!(Instant::now() < deadline, "keygate did not recover");
        std::thread::sleep(Duration::from_millis(200));
    }
    app.login(&username, PASSWORD).expect(200);
    app.get("/profile", Some(&token)).expect(200);

    // The outage is in /metrics, by the operation that met it.
    let metrics = app.get("/metrics", None).text;
    for failed in ["users.ping", "users.find_by_username"] {
        let series = format!(
            "keygate_store_operation_errors_total{{operation=\"{failed}\",kind=\"unavailable\"}} "
        );
        assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
    }
}

#[test]
fn an_unreachable_database_at_start_up_is_a_clear_failure() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let failure = TestApp::spawn_expecting_failure(&[
        ("KEYGATE__DATABASE__URL", url.as_str()),
        ("KEYGATE__DATABASE__TIMEOUT_MS", "500"),
    ]);
    let log = failure.log.join("\n");
    assert!(log.contains("cannot open the store"), "{log}");
}
