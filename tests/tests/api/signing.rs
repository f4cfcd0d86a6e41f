//! §7: asymmetric signing keys, the JWKS, rotation, forged tokens and introspection.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keygate_tests::{store_tests, unique, Reply, Store, TestApp, PASSWORD};
use serde_json::{json, Value};

/// The JSON header of a compact JWS.
fn header_of(token: &str) -> Value {
    let part = token.split('.').next().expect("a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// The JSON claims of a compact JWS.
fn claims_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("claims");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// `token` with one signature character changed: well inside the signature, where every bit
/// counts (the last character of base64url may carry only padding bits).
fn tamper(token: &str) -> String {
    let mut characters: Vec<char> = token.chars().collect();
    let at = characters.len() - 10;
    characters[at] = if characters[at] == 'A' { 'B' } else { 'A' };
    characters.into_iter().collect()
}

fn jwks(app: &TestApp) -> Reply {
    let reply = app.get("/.well-known/jwks.json", None);
    reply.expect(200);
    reply
}

fn kids(app: &TestApp) -> Vec<String> {
    jwks(app).body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// Polls `done` every 100 ms for up to `within`.
fn eventually(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn the_default_is_eddsa_published_in_a_cacheable_jwks(store: Store) {
    let app = TestApp::spawn(store);
    let reply = jwks(&app);
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    let etag = reply.header("etag").expect("an ETag").to_owned();
    let keys = reply.body["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{}", reply.text);
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["x"].as_str().map(str::len), Some(43));
    // Public members only.
    let members: Vec<&str> = key
        .as_object()
        .expect("a JWK")
        .keys()
        .map(String::as_str)
        .collect();
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(!members.contains(&private), "{private} published: {key}");
    }

    let (_, token, _) = app.signed_up_user();
    let header = header_of(&token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], key["kid"]);
    app.get("/profile", Some(&token)).expect(200);

    let unchanged = app.request(
        "GET",
        "/.well-known/jwks.json",
        &[("if-none-match", &etag)],
        None,
    );
    assert_eq!(unchanged.status, 304);
    assert_eq!(unchanged.header("etag"), Some(etag.as_str()));
    // Also under /v1, and the same keys after a restart (they live in the store).
    assert_eq!(app.get("/v1/.well-known/jwks.json", None).body, reply.body);
    let app = app.restart();
    assert_eq!(jwks(&app).body, reply.body);
    app.get("/profile", Some(&token)).expect(200);
}

fn es256_and_rs256_are_selectable(store: Store) {
    for (algorithm, kty, public) in [
        (
            "ES256",
            "EC",
            &["kty", "crv", "x", "y", "alg", "use", "kid"][..],
        ),
        ("RS256", "RSA", &["kty", "n", "e", "alg", "use", "kid"][..]),
    ] {
        let app = TestApp::spawn_with(store, &[("KEYGATE__AUTH__SIGNING__ALGORITHM", algorithm)]);
        let key = jwks(&app).body["keys"][0].clone();
        assert_eq!(key["kty"], kty, "{key}");
        assert_eq!(key["alg"], algorithm);
        // Exactly the public members: no `d` (EC), no `d`, `p`, `q`, `dp`, `dq`, `qi` (RSA).
        let mut members: Vec<&str> = key
            .as_object()
            .expect("a JWK")
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        let mut expected = public.to_vec();
        expected.sort_unstable();
        assert_eq!(members, expected, "{key}");
        let (_, token, _) = app.signed_up_user();
        assert_eq!(header_of(&token)["alg"], algorithm);
        assert_eq!(header_of(&token)["kid"], key["kid"]);
        app.get("/profile", Some(&token)).expect(200);
    }
}

/// A shared secret means HS256 (compat 004): nothing to publish, a `kid` still in the header.
#[test]
fn a_shared_secret_signs_hs256_and_publishes_no_key() {
    let app = TestApp::spawn_with(
        Store::Embedded,
        &[("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef-004")],
    );
    assert_eq!(jwks(&app).body, json!({"keys": []}));
    let (_, token, _) = app.signed_up_user();
    let header = header_of(&token);
    assert_eq!(header["alg"], "HS256");
    assert!(header["kid"]
        .as_str()
        .is_some_and(|k| k.starts_with("hs256-")));
    // The earlier system's way of checking a token still works with the shared secret.
    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.set_audience(&["keygate"]);
    jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef-004"),
        &validation,
    )
    .expect("verifies with the shared secret");
}

/// Moving a deployment from HS256 to EdDSA: tokens issued before keep working.
#[test]
fn hs256_tokens_keep_working_after_the_move_to_eddsa() {
    let secret = ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef-moving");
    let app = TestApp::spawn_with(Store::Embedded, &[secret]);
    let (_, old_token, _) = app.signed_up_user();
    assert_eq!(header_of(&old_token)["alg"], "HS256");
    let moved = TestApp::spawn_prepared(
        &[secret, ("KEYGATE__AUTH__SIGNING__ALGORITHM", "EdDSA")],
        |dir| copy_dir(app.data_dir(), dir),
    );
    drop(app);
    moved.get("/profile", Some(&old_token)).expect(200);
    let (_, new_token, _) = moved.signed_up_user();
    assert_eq!(header_of(&new_token)["alg"], "EdDSA");
    assert_eq!(kids(&moved).len(), 1);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("a directory");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("an entry");
        if entry.file_type().expect("a type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copied");
        }
    }
}

/// RFC 8037's example Ed25519 key: the attacker's own key.
fn attacker_key() -> EncodingKey {
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend(
        URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .expect("seed"),
    );
    EncodingKey::from_ed_der(&pkcs8)
}

fn forged_tokens_are_refused(store: Store) {
    let app = TestApp::spawn(store);
    let (_, token, _) = app.signed_up_user();
    app.get("/profile", Some(&token)).expect(200);
    let claims = claims_of(&token);
    let key = jwks(&app).body["keys"][0].clone();
    let our_kid = key["kid"].as_str().expect("kid").to_owned();
    let x = key["x"].as_str().expect("x").to_owned();

    let signed = |header: &Header, secret: &EncodingKey| {
        jsonwebtoken::encode(header, &claims, secret).expect("signed")
    };
    let with = |alg: Algorithm, kid: Option<&str>| {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        header
    };
    let mut forged = vec![
        (
            "unknown kid",
            signed(
                &with(Algorithm::EdDSA, Some("no-such-key")),
                &attacker_key(),
            ),
        ),
        (
            "our kid, their key",
            signed(&with(Algorithm::EdDSA, Some(&our_kid)), &attacker_key()),
        ),
        (
            "no kid",
            signed(&with(Algorithm::EdDSA, None), &attacker_key()),
        ),
        (
            "HS256 with the public key as secret",
            signed(
                &with(Algorithm::HS256, Some(&our_kid)),
                &EncodingKey::from_secret(x.as_bytes()),
            ),
        ),
        (
            "HS256 with the JWK as secret",
            signed(
                &with(Algorithm::HS256, Some(&our_kid)),
                &EncodingKey::from_secret(key.to_string().as_bytes()),
            ),
        ),
    ];
    for (what, field, url) in [
        ("jku elsewhere", "jku", "https://attacker.example/jwks.json"),
        ("x5u elsewhere", "x5u", "https://attacker.example/key.pem"),
    ] {
        let mut header = with(Algorithm::EdDSA, Some("attacker-kid"));
        match field {
            "jku" => header.jku = Some(url.into()),
            _ => header.x5u = Some(url.into()),
        }
        forged.push((what, signed(&header, &attacker_key())));
    }
    // `none`, with our kid and the real claims, and the real token's signature re-headed.
    let body = token.split('.').nth(1).expect("claims").to_owned();
    let signature = token.split('.').nth(2).expect("signature").to_owned();
    let b64 = |text: String| URL_SAFE_NO_PAD.encode(text.as_bytes());
    forged.push((
        "alg none",
        format!(
            "{}.{body}.",
            b64(format!(r#"{{"alg":"none","kid":"{our_kid}"}}"#))
        ),
    ));
    forged.push((
        "alg switched to ES256",
        format!(
            "{}.{body}.{signature}",
            b64(format!(r#"{{"alg":"ES256","kid":"{our_kid}"}}"#))
        ),
    ));
    forged.push((
        "jku beside our own signature",
        format!(
            "{}.{body}.{signature}",
            b64(format!(
                r#"{{"alg":"EdDSA","kid":"{our_kid}","jku":"https://attacker.example/k"}}"#
            ))
        ),
    ));
    for (what, token) in forged {
        app.get("/profile", Some(&token))
            .expect_error(401, "unauthorized");
        let _ = what;
    }
}

/// `keygate keys rotate`: the next key is published at once and signs after
/// `publish_ahead_secs`; tokens of the old key verify until they expire; once its last token
/// has expired the old key leaves the JWKS.
#[test]
fn a_rotation_publishes_ahead_then_retires_the_old_key() {
    let env = [
        ("KEYGATE__AUTH__ACCESS_TOKEN_TTL_SECS", "3"),
        ("KEYGATE__AUTH__SIGNING__PUBLISH_AHEAD_SECS", "2"),
        ("KEYGATE__AUTH__SIGNING__REFRESH_SECS", "1"),
    ];
    let app = TestApp::spawn_with(Store::Embedded, &env);
    let (username, old_token, _) = app.signed_up_user();
    let first = kids(&app);
    assert_eq!(first.len(), 1);
    let (output, app) = app.run_offline(&["keys", "rotate"]);
    let said = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("made signing key"), "{said}");
    let rotated_at = Instant::now();
    let both = kids(&app);
    assert_eq!(both.len(), 2, "the next key is published at once");
    assert_eq!(both[0], first[0]);
    let next = both[1].clone();
    assert!(said.contains(&next), "{said}");

    // Until the next key's signs_from the old key still signs, and its tokens verify: a
    // token issued a whole second before that moment carries the old kid, one issued at or
    // after it the next (judged by the token's own iat, whatever this machine's speed).
    let signs_from = said
        .rsplit("signs from ")
        .next()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at.trim()).ok())
        .expect("the rotation says when the next key signs")
        .timestamp();
    let login = app.login(&username, PASSWORD);
    let token = login.str("access_token");
    let issued_at = claims_of(token)["iat"].as_i64().expect("iat");
    let kid = header_of(token)["kid"].clone();
    if issued_at < signs_from {
        assert_eq!(kid, first[0], "issued at {issued_at}, before {signs_from}");
    } else {
        assert_eq!(
            kid,
            next.as_str(),
            "issued at {issued_at}, from {signs_from}"
        );
    }
    assert!(
        issued_at < signs_from || rotated_at.elapsed() > Duration::from_secs(1),
        "the old key stopped signing before publish_ahead had passed"
    );
    app.get("/profile", Some(&old_token)).expect(200);

    eventually(Duration::from_secs(10), "the next key signs", || {
        let login = app.login(&username, PASSWORD);
        header_of(login.str("access_token"))["kid"] == next.as_str()
    });
    // The old key goes once its last token (3 s) has expired, plus slack (3 s here).
    eventually(
        Duration::from_secs(15),
        "the old key leaves the JWKS",
        || kids(&app) == [next.clone()],
    );
    app.get("/profile", Some(&old_token))
        .expect_error(401, "unauthorized");
    // Rotating again while a next key waits makes nothing.
    let (output, app) = app.run_offline(&["keys", "rotate"]);
    assert!(output.status.success());
    let (again, _app) = app.run_offline(&["keys", "rotate"]);
    let said = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(said.contains("already published"), "{said}");
}

/// Two instances on one MongoDB: a token from A verifies on B; a rotation made beside A is
/// seen by B; two rotations at once make one key.
#[test]
fn instances_on_one_mongodb_share_keys_and_rotations() {
    let database = keygate_tests::fresh_database_name();
    let uri = keygate_tests::mongodb_uri();
    let env = [
        ("KEYGATE__DATABASE__URL", uri.as_str()),
        ("KEYGATE__DATABASE__NAME", database.as_str()),
        ("KEYGATE__AUTH__SIGNING__REFRESH_SECS", "1"),
    ];
    let a = TestApp::spawn_with(Store::Mongo, &env);
    let b = TestApp::spawn_with(Store::Mongo, &env);
    assert_eq!(
        kids(&a),
        kids(&b),
        "B uses the key A made, not one of its own"
    );
    let (_, token, _) = a.signed_up_user();
    b.get("/profile", Some(&token)).expect(200);

    let (first, second) = std::thread::scope(|s| {
        let one = s.spawn(|| a.run_beside(&["keys", "rotate"]));
        let two = s.spawn(|| a.run_beside(&["keys", "rotate"]));
        (one.join().expect("ran"), two.join().expect("ran"))
    });
    for output in [&first, &second] {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    eventually(Duration::from_secs(10), "B publishes the new key", || {
        kids(&b).len() == 2
    });
    eventually(Duration::from_secs(10), "A publishes it too", || {
        kids(&a).len() == 2
    });
    assert_eq!(kids(&a), kids(&b));
    b.get("/profile", Some(&token)).expect(200);
}

fn introspection_env() -> [(&'static str, &'static str); 1] {
    [(
        "KEYGATE__AUTH__INTROSPECTION_TOKEN",
        "an-introspection-secret-of-32-bytes-or-more",
    )]
}

fn introspect(app: &TestApp, token: &str) -> Reply {
    app.request(
        "POST",
        "/token/introspect",
        &[
            ("content-type", "application/json"),
            (
                "authorization",
                "Bearer an-introspection-secret-of-32-bytes-or-more",
            ),
        ],
        Some(json!({ "token": token }).to_string().as_bytes()),
    )
}

fn introspection_says_what_a_token_is_and_nothing_more(store: Store) {
    let app = TestApp::spawn_with(store, &introspection_env());
    let (_, token, _) = app.signed_up_user();
    let reply = introspect(&app, &token);
    reply.expect(200);
    let body = &reply.body;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "access_token");
    let claims = claims_of(&token);
    for field in ["sub", "sid", "exp", "iat", "iss", "aud"] {
        assert_eq!(body[field], claims[field], "{field}");
    }

    // Form-encoded, as RFC 7662 sends it.
    let form = app.request(
        "POST",
        "/token/introspect",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            (
                "authorization",
                "Bearer an-introspection-secret-of-32-bytes-or-more",
            ),
        ],
        Some(format!("token={token}&token_type_hint=access_token").as_bytes()),
    );
    assert_eq!(form.body["active"], true, "{}", form.text);

    // An API key, then the same key revoked.
    let created = app.create_api(
        &token,
        &unique("intro"),
        &[("items", json!({"type": "object"}))],
    );
    created.expect(201);
    let key = created.body["api_key"]
        .as_str()
        .or_else(|| created.body["key"].as_str())
        .expect("an API key")
        .to_owned();
    let reply = introspect(&app, &key);
    assert_eq!(reply.body["active"], true, "{}", reply.text);
    assert_eq!(reply.body["token_type"], "api_key");
    assert_eq!(reply.body["api_id"], created.body["api_id"]);
    assert_eq!(reply.body["scope"], "read write");
    assert!(reply.body["key_id"].is_string());

    // Every kind of bad token: exactly {"active": false}.
    let tampered = tamper(&token);
    // The last character changed (to one it is not: a key may well end in "x").
    let last = if key.ends_with('x') { "y" } else { "x" };
    let wrong_key = format!("{}{last}", &key[..key.len() - 1]);
    for bad in [
        "",
        "garbage",
        "a.b.c",
        tampered.as_str(),
        "kg_AAAAAAAA_0123456789abcdefghijklmnopqrstuvwxyzABCDEF",
        wrong_key.as_str(),
        &"x".repeat(10_000),
    ] {
        let reply = introspect(&app, bad);
        reply.expect(200);
        assert_eq!(reply.body, json!({"active": false}), "{bad:.40}");
    }
    // A logout shows at once.
    app.json("POST", "/logout", Some(&token), &json!({}))
        .expect(200);
    assert_eq!(introspect(&app, &token).body, json!({"active": false}));

    // The route's own errors.
    let unauthenticated = app.post("/token/introspect", &json!({"token": key}));
    unauthenticated.expect(401);
    let wrong = app.json(
        "POST",
        "/token/introspect",
        Some("not-the-introspection-secret-at-all-no"),
        &json!({"token": key}),
    );
    wrong.expect(401);
    let missing = app.request(
        "POST",
        "/token/introspect",
        &[
            ("content-type", "application/json"),
            (
                "authorization",
                "Bearer an-introspection-secret-of-32-bytes-or-more",
            ),
        ],
        Some(b"{}"),
    );
    assert_eq!(missing.status, 400, "{}", missing.text);
}

#[test]
fn introspection_is_not_found_unless_configured() {
    let app = TestApp::spawn(Store::Embedded);
    let (_, token, _) = app.signed_up_user();
    app.json(
        "POST",
        "/token/introspect",
        Some(&token),
        &json!({"token": token}),
    )
    .expect(404);
}

/// An independent JOSE library (PyJWT with `cryptography`), given nothing but the JWKS,
/// verifies Keygate's tokens of every asymmetric algorithm.
#[test]
fn pyjwt_verifies_tokens_from_the_jwks_alone() {
    let python = std::env::var("KEYGATE_TEST_PYTHON").expect(
        "KEYGATE_TEST_PYTHON names a Python with PyJWT and cryptography \
         (scripts/with-python-tools.sh, which make test runs, provides it)",
    );
    const VERIFY: &str = r#"
import json, sys, urllib.request, jwt
base, token = sys.argv[1], sys.argv[2]
keys = jwt.PyJWKSet.from_json(urllib.request.urlopen(base + "/.well-known/jwks.json").read().decode())
kid = jwt.get_unverified_header(token)["kid"]
key = next(k for k in keys.keys if k.key_id == kid)
claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience="keygate", issuer="keygate")
print(json.dumps({"sub": claims["sub"], "alg": key.algorithm_name}))
"#;
    for algorithm in ["EdDSA", "ES256", "RS256"] {
        let app = TestApp::spawn_with(
            Store::Embedded,
            &[("KEYGATE__AUTH__SIGNING__ALGORITHM", algorithm)],
        );
        let (_, token, _) = app.signed_up_user();
        let output = std::process::Command::new(&python)
            .args(["-c", VERIFY, &app.base, &token])
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "{algorithm}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let said: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(said["sub"], claims_of(&token)["sub"], "{algorithm}");
        assert_eq!(said["alg"], algorithm);

        // And PyJWT refuses the token once tampered with.
        let tampered = tamper(&token);
        let refused = std::process::Command::new(&python)
            .args(["-c", VERIFY, &app.base, &tampered])
            .output()
            .expect("python runs");
        assert!(
            !refused.status.success(),
            "{algorithm}: a tampered token verified"
        );
    }
}

store_tests!(
    the_default_is_eddsa_published_in_a_cacheable_jwks,
    es256_and_rs256_are_selectable,
    forged_tokens_are_refused,
    introspection_says_what_a_token_is_and_nothing_more,
);

/// `keygate keys rotate` beside a running server on the embedded store: the server owns the
/// file, so the command asks it through its control socket, and the key is published at once.
#[cfg(unix)]
#[test]
fn keys_rotate_works_beside_a_running_embedded_server() {
    let app = TestApp::spawn(Store::Embedded);
    let before = kids(&app);
    let output = app.run_beside(&["keys", "rotate"]);
    let said = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("by the running server"), "{said}");
    let after = kids(&app);
    assert_eq!(after.len(), 2, "published at once");
    assert_eq!(after[0], before[0]);
    assert!(said.contains(&after[1]), "{said}");
    // The socket is owner-only, and speaks only its few commands.
    use std::io::{BufRead, Write};
    use std::os::unix::fs::PermissionsExt;
    let socket = app.data_dir().join("keygate.sock");
    let mode = std::fs::metadata(&socket)
        .expect("a socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("listening");
    stream.write_all(b"users promote someone\n").expect("sent");
    let mut answer = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut answer)
        .expect("an answer");
    assert!(answer.starts_with("error unknown command"), "{answer}");
    // A stopped server leaves no socket behind; the command then opens the store itself.
    let (output, app) = app.run_offline(&["keys", "rotate"]);
    let said = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success());
    assert!(said.contains("already published"), "{said}");
    assert!(!said.contains("by the running server"), "{said}");
    drop(app);
}
