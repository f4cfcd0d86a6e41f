//! Abuse of logins, registrations, sessions and profiles: throttles under bursts, proxies,
//! huge identifiers, the hashing queue, and races against a password change or a logout.

use std::time::{Duration, Instant};

use keygate_tests::{store_tests, unique, Reply, Store, TestApp, PASSWORD};
use serde_json::json;

use super::probes::{at_once, statuses};

/// Round one, item 1: A burst of concurrent wrong guesses gets no more tries than the throttle
/// allows.
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

/// Round one, item 1: The per-address limit holds under a burst as well.
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

/// Round one, item 2: Resident memory stays bounded through a storm of real (OWASP-cost) logins.
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

/// Round one, item 4: Past `auth.hashing.max_waiting` queued hashes, a login is refused at once
/// with 503 and `Retry-After` instead of waiting in an unbounded queue.
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

/// Round one, item 3: Behind a trusted proxy, each client is throttled by its own address.
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

/// Round one, item 3: Without trusted proxies, a forwarding header is the client's to forge:
/// ignored.
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

/// Round one, item 5: Huge identifiers are refused before any lookup and never kept whole by the
/// throttle.
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

/// Round one, item 6: Registrations are throttled per address; a 409 counts like a registration.
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

/// Round one, item 12: A password typed in another normal form (NFKC) still logs in.
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

/// Round one, item 9: a profile edit racing a password change never writes the old password hash
/// back.
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

/// Round two, item 15: after a logout answered 200, the token kept working on the same instance
/// while readers re-cached the live session (4 of 4 trials on the embedded store).
fn logout_is_immediate_under_concurrent_reads(store: Store) {
    let app = TestApp::spawn(store);
    for _ in 0..4 {
        let (_, token, _) = app.signed_up_user();
        let logged_out = std::sync::Mutex::new(None::<Instant>);
        let late_successes = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    let started = Instant::now();
                    while started.elapsed() < Duration::from_millis(600) {
                        let asked = Instant::now();
                        let reply = app.get("/profile", Some(&token));
                        let after_logout = logged_out.lock().unwrap().is_some_and(|at| asked > at);
                        if after_logout && reply.status == 200 {
                            late_successes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(200));
            app.json("POST", "/logout", Some(&token), &json!({}))
                .expect(200);
            *logged_out.lock().unwrap() = Some(Instant::now());
        });
        assert_eq!(
            late_successes.into_inner(),
            0,
            "the token worked after its logout answered"
        );
        app.get("/profile", Some(&token))
            .expect_error(401, "unauthorized");
    }
}

store_tests!(
    profile_edits_racing_password_changes_lose_nothing,
    logout_is_immediate_under_concurrent_reads,
);
