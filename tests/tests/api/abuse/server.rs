//! Abuse of the server itself: weak secrets, file permissions, trickled bodies, made-up
//! methods in the metrics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use keygate_tests::{Store, TestApp};

/// Round one, item 13: A weak legacy secret is refused in every mode unless explicitly allowed.
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

/// Round one, item 14: The data directory is private, and so are the secret and the store, even
/// when they existed with looser permissions.
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

/// Round one, item 15: A client that trickles its body is cut off after the body timeout.
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

/// Round two, item 7: made-up methods became metrics series, unauthenticated, for ever.
#[test]
fn made_up_methods_never_become_metrics_series() {
    let app = TestApp::spawn(Store::Embedded);
    // Sent by hand: an HTTP client library refuses made-up methods.
    let address = app.base.trim_start_matches("http://").to_owned();
    let send = |method: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        let request = format!("{method} /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    for i in 0..40 {
        let answer = send(&format!("BREW{i}"));
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    }
    send(&"X".repeat(60_000));
    let metrics = app.get("/metrics", None);
    metrics.expect(200);
    assert!(
        !metrics.text.contains("BREW"),
        "a made-up method is a label"
    );
    assert!(
        !metrics.text.contains("XXXXXXXX"),
        "a long method is a label"
    );
    assert!(metrics.text.contains("method=\"OTHER\""));
}
