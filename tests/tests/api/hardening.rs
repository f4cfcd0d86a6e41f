//! Holes found by attacking the running server (the hardening issue): each test here failed
//! on the main branch before its fix.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use keygate_tests::{unique, Reply, Store, TestApp, PASSWORD};
use serde_json::json;

/// Runs `count` requests at once (one thread each) and returns their replies.
fn at_once<T: Send>(count: usize, request: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let request = &request;
        let handles: Vec<_> = (0..count)
            .map(|i| scope.spawn(move || request(i)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

/// Item 1: A burst of concurrent wrong guesses gets no more tries than the throttle allows.
#[test]
fn a_burst_of_guesses_cannot_beat_the_account_throttle() {
    let app = TestApp::spawn(Store::Embedded);
    let (username, _, _) = app.signed_up_user();
    let replies = at_once(40, |_| app.login(&username, "wrong-password-123"));
    let checked = replies.iter().filter(|r| r.status == 401).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!(checked + limited, 40, "{:?}", statuses(&replies));
    assert!(
        checked <= 10,
        "{checked} guesses were checked: {:?}",
        statuses(&replies)
    );
    assert!(replies
        .iter()
        .filter(|r| r.status == 429)
        .all(|r| r.header("retry-after").is_some()));
    // The right password is refused too while the account is throttled.
    app.login(&username, PASSWORD)
        .expect_error(429, "rate_limited");
}

/// Item 1: The per-address limit holds under a burst as well.
#[test]
fn a_burst_of_guesses_cannot_beat_the_address_throttle() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES", "5")],
    );
    let replies = at_once(40, |i| {
        app.login(&format!("nobody{i}"), "wrong-password-123")
    });
    assert!(
        replies.iter().all(|r| r.status == 401 || r.status == 429),
        "{:?}",
        statuses(&replies)
    );
    let checked = replies.iter().filter(|r| r.status == 401).count();
    assert!(
        checked <= 5,
        "{checked} guesses were checked: {:?}",
        statuses(&replies)
    );
    // Each refusal of the burst says when to come back: whole seconds, within the window
    // (the address window is 5 minutes by default).
    for refused in replies.iter().filter(|r| r.status == 429) {
        refused.expect_error(429, "rate_limited");
        let retry: u64 = refused
            .header("retry-after")
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("a 429 without a Retry-After: {:?}", refused.text));
        assert!((1..=300).contains(&retry), "Retry-After: {retry}");
    }
}

/// Item 2: Resident memory stays bounded through a storm of real (OWASP-cost) logins.
#[test]
fn memory_stays_bounded_through_a_login_storm() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("KEYGATE__AUTH__HASHING__MEMORY_KIB", "19456"),
            ("KEYGATE__AUTH__HASHING__ITERATIONS", "2"),
            ("KEYGATE__SERVER__WORKERS", "4"),
        ],
    );
    // One account per client: concurrent attempts on one account count against its throttle
    // while they are hashed (that is the burst fix), and this test is about memory.
    let users: Vec<String> = (0..32).map(|_| app.signed_up_user().0).collect();
    let until = Instant::now() + Duration::from_secs(4);
    let logins = at_once(32, |i| {
        let mut succeeded = 0;
        while Instant::now() < until {
            let reply = app.login(&users[i], PASSWORD);
            assert!(reply.status == 200 || reply.status == 503, "{}", reply.text);
            succeeded += usize::from(reply.status == 200);
        }
        succeeded
    });
    // The storm really hashed: a run in which every login was refused would prove nothing.
    let succeeded: usize = logins.iter().sum();
    assert!(
        succeeded >= 32,
        "only {succeeded} logins were hashed during the storm"
    );
    let resident_mib = app.resident_kib() / 1024;
    println!("resident after the login storm: {resident_mib} MiB");
    assert!(
        resident_mib < 128,
        "{resident_mib} MiB resident after a login storm"
    );
}

/// Item 4: Past `auth.hashing.max_waiting` queued hashes, a login is refused at once with 503 and
/// `Retry-After` instead of waiting in an unbounded queue.
#[test]
fn the_hashing_queue_is_bounded() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("KEYGATE__AUTH__HASHING__MEMORY_KIB", "65536"),
            ("KEYGATE__AUTH__HASHING__ITERATIONS", "4"),
            ("KEYGATE__AUTH__HASHING__MAX_CONCURRENT", "1"),
            ("KEYGATE__AUTH__HASHING__MAX_WAITING", "2"),
            ("KEYGATE__SERVER__WORKERS", "4"),
        ],
    );
    let users: Vec<String> = (0..24).map(|_| app.signed_up_user().0).collect();
    let replies = at_once(24, |i| app.login(&users[i], PASSWORD));
    let busy: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    assert!(!busy.is_empty(), "{:?}", statuses(&replies));
    for reply in busy {
        reply.expect_error(503, "unavailable");
        assert!(reply.header("retry-after").is_some());
    }
    assert!(replies.iter().any(|r| r.status == 200));
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 503));
}

/// Item 3: Behind a trusted proxy, each client is throttled by its own address.
#[test]
fn behind_a_trusted_proxy_clients_are_throttled_by_their_own_address() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("KEYGATE__SERVER__TRUSTED_PROXIES", "127.0.0.0/8,::1"),
            ("KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES", "3"),
        ],
    );
    let guess = |forwarded: &str, name: &str| {
        app.request(
            "POST",
            "/login",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", forwarded),
            ],
            Some(
                json!({"username": name, "password": "wrong-password-1"})
                    .to_string()
                    .as_bytes(),
            ),
        )
    };
    for i in 0..3 {
        guess("203.0.113.7", &format!("a{i}")).expect_error(401, "invalid_credentials");
    }
    guess("203.0.113.7", "a9").expect_error(429, "rate_limited");
    // Another client behind the same proxy is unaffected; a forged hop before the real one
    // does not help the attacker.
    guess("198.51.100.1", "b0").expect_error(401, "invalid_credentials");
    guess("198.51.100.1, 203.0.113.7", "a10").expect_error(429, "rate_limited");
    let forwarded = app.request(
        "POST",
        "/login",
        &[
            ("content-type", "application/json"),
            ("forwarded", "for=\"[2001:db8::1]:4711\""),
        ],
        Some(
            json!({"username": "c", "password": "wrong-password-1"})
                .to_string()
                .as_bytes(),
        ),
    );
    forwarded.expect_error(401, "invalid_credentials");
}

/// Item 3: Without trusted proxies, a forwarding header is the client's to forge: ignored.
#[test]
fn forwarding_headers_from_untrusted_peers_are_ignored() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES", "3")],
    );
    for i in 0..3 {
        app.request(
            "POST",
            "/login",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", &format!("10.0.0.{i}")),
            ],
            Some(
                json!({"username": format!("x{i}"), "password": "wrong-password-1"})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .expect_error(401, "invalid_credentials");
    }
    app.request(
        "POST",
        "/login",
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", "10.9.9.9"),
        ],
        Some(
            json!({"username": "y", "password": "wrong-password-1"})
                .to_string()
                .as_bytes(),
        ),
    )
    .expect_error(429, "rate_limited");
}

/// Item 5: Huge identifiers are refused before any lookup and never kept whole by the throttle.
#[test]
fn huge_identifiers_cost_no_memory() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__AUTH__THROTTLE__ADDRESS_FAILURES", "1000")],
    );
    app.login("warm-up", "wrong-password-123");
    let before = app.resident_kib();
    for i in 0..90 {
        let identifier = format!("{i}{}", "x".repeat(900 * 1024));
        let reply = app.login(&identifier, "wrong-password-123");
        reply.expect_error(401, "invalid_credentials");
    }
    let long_password = "p".repeat(100_000);
    app.login("someone", &long_password)
        .expect_error(401, "invalid_credentials");
    let grown_mib = app.resident_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 30, "resident memory grew by {grown_mib} MiB");
}

/// Item 6: Registrations are throttled per address; a 409 counts like a registration.
#[test]
fn registrations_are_throttled_per_address() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__AUTH__THROTTLE__REGISTRATIONS_PER_ADDRESS", "3")],
    );
    let name = unique("reg");
    app.register(&name, &format!("{name}@example.com"))
        .expect(201);
    app.register(&unique("reg"), &format!("{name}@example.com"))
        .expect_error(409, "email_taken");
    let other = unique("reg");
    app.register(&other, &format!("{other}@example.com"))
        .expect(201);
    let refused = app.register(&unique("reg"), "fourth@example.com");
    refused.expect_error(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
}

/// Item 12: A password typed in another normal form (NFKC) still logs in.
#[test]
fn passwords_are_compared_in_nfkc() {
    let app = TestApp::spawn(Store::Embedded);
    let name = unique("nfkc");
    // Fullwidth letters and a ligature: NFKC makes them plain ASCII.
    let typed_on_a_phone = "ｖｉｖｉｄ-otter-42-ﬁle";
    app.post(
        "/register",
        &json!({"username": name, "password": typed_on_a_phone}),
    )
    .expect(201);
    app.login(&name, "vivid-otter-42-file").expect(200);
    app.login(&name, typed_on_a_phone).expect(200);
}

/// Item 13: A weak legacy secret is refused in every mode unless explicitly allowed.
#[test]
fn weak_secrets_are_refused_unless_explicitly_allowed() {
    for environment in ["development", "test"] {
        let failure = TestApp::spawn_expecting_failure(&[
            ("KEYGATE__ENVIRONMENT", environment),
            ("SECRET_KEY", "changeme"),
        ]);
        let log = failure.log.join("\n");
        assert!(log.contains("32 bytes"), "{log}");
        assert!(
            !log.contains("changeme"),
            "the secret itself is never logged"
        );
    }
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[
            ("SECRET_KEY", "changeme"),
            ("KEYGATE__AUTH__ALLOW_WEAK_SECRET", "true"),
        ],
    );
    app.get("/health", None).expect(200);
    assert!(app.log().contains("WEAK"), "{}", app.log());
    assert!(!app.log().contains("changeme"));
}

/// Item 14: The data directory is private, and so are the secret and the store, even when they
/// existed with looser permissions.
#[cfg(unix)]
#[test]
fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn_prepared(&[], |dir| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let secret = dir.join("jwt-secret");
        std::fs::write(&secret, "s".repeat(64)).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    });
    let mode = |name: &str| {
        std::fs::metadata(app.data_dir().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "data directory");
    assert_eq!(mode("jwt-secret"), 0o600);
    assert_eq!(mode("keygate.redb"), 0o600);
}

/// Item 15: A client that trickles its body is cut off after the body timeout.
#[test]
fn a_trickled_body_is_cut_off() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__SERVER__BODY_TIMEOUT_SECS", "1")],
    );
    let address = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100000\r\n\r\n{\"username\":",
        )
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held for {:?}",
        started.elapsed()
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
}

/// Item 7: one account cannot fill the disk: data entries and records count against the same
/// per-account limits on entries and bytes, answered `413 quota_exceeded`; deleting frees.
fn storage_is_limited_per_account(store: Store) {
    let app = TestApp::spawn_with(
        store,
        &[
            ("KEYGATE__LIMITS__MAX_ENTRIES_PER_ACCOUNT", "3"),
            ("KEYGATE__LIMITS__MAX_BYTES_PER_ACCOUNT", "4096"),
        ],
    );
    let (_, token, _) = app.signed_up_user();
    let put = |key: &str, value: serde_json::Value| {
        app.json(
            "POST",
            "/api/data",
            Some(&token),
            &json!({"key": key, "value": value}),
        )
    };
    put("a", json!(1)).expect(201);
    put("b", json!(2)).expect(201);
    let api = app.create_api(&token, "Quota", &[("items", json!({}))]);
    let key = api.str("api_key").to_owned();
    app.with_key("POST", "/api/quota/items", &key, Some(&json!({"n": 1})))
        .expect(201);
    let full = put("c", json!(3));
    full.expect_error(413, "quota_exceeded");
    app.with_key("POST", "/api/quota/items", &key, Some(&json!({"n": 2})))
        .expect_error(413, "quota_exceeded");
    app.json("DELETE", "/api/data/a", Some(&token), &json!({}))
        .expect(200);
    put("c", json!(3)).expect(201);
    // Bytes: a value that would pass the 4 KiB account total is refused, even with room
    // for entries; growing a value counts its growth.
    app.json("DELETE", "/api/data/c", Some(&token), &json!({}))
        .expect(200);
    put("big", json!("x".repeat(5000))).expect_error(413, "quota_exceeded");
    put("small", json!("x".repeat(100))).expect(201);
    app.json(
        "PUT",
        "/api/data/small",
        Some(&token),
        &json!({"value": "x".repeat(5000)}),
    )
    .expect_error(413, "quota_exceeded");
    // Deleting the API gives its records' room back.
    app.json(
        "DELETE",
        &format!("/api/{}", api.str("api_id")),
        Some(&token),
        &json!({}),
    )
    .expect(200);
    put("d", json!(4)).expect(201);
}

keygate_tests::store_tests!(storage_is_limited_per_account);

/// Item 9: a profile edit racing a password change never writes the old password hash back.
fn profile_edits_racing_password_changes_lose_nothing(store: Store) {
    let app = TestApp::spawn(store);
    let (username, token, _) = app.signed_up_user();
    let passwords: Vec<String> = (0..6).map(|i| format!("{PASSWORD}-{i}")).collect();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut current = PASSWORD.to_owned();
            for next in &passwords {
                app.json(
                    "PUT",
                    "/profile/password",
                    Some(&token),
                    &json!({"current_password": current, "new_password": next}),
                )
                .expect(200);
                current.clone_from(next);
            }
        });
        scope.spawn(|| {
            for age in 0..60 {
                app.json("PUT", "/profile", Some(&token), &json!({"age": age}))
                    .expect(200);
            }
        });
    });
    let last = passwords.last().unwrap();
    app.login(&username, last).expect(200);
    assert_eq!(app.get("/profile", Some(&token)).body["age"], 59);
}

keygate_tests::store_tests!(profile_edits_racing_password_changes_lose_nothing);
