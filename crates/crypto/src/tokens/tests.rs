use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use keygate_domain::signing::{SigningKey, SigningKeyGenerator};

use super::*;
use crate::OsKeyGenerator;

const SECRET: &str = "a-secret-of-at-least-32-bytes-long!!";

fn settings(algorithm: SigningAlgorithm, secret: Option<&str>) -> JwtSettings {
    JwtSettings {
        algorithm,
        secret: secret.map(|s| s.as_bytes().to_vec()),
        issuer: "keygate".into(),
        audience: "keygate-clients".into(),
        access_token_ttl: Duration::minutes(15),
    }
}

fn hs256(secret: &str) -> JwtTokens {
    JwtTokens::new(&settings(SigningAlgorithm::HS256, Some(secret)))
}

fn claims(expires_in: Duration) -> AccessClaims {
    let now = Utc::now();
    AccessClaims {
        user_id: Id::generate(now.timestamp()),
        session_id: Id::generate(now.timestamp()),
        token_id: "jti-1".into(),
        issued_at: now,
        expires_at: now + expires_in,
    }
}

fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text.as_bytes())
}

fn part(token: &str, index: usize) -> &str {
    token.split('.').nth(index).expect("three parts")
}

fn header_of(token: &str) -> serde_json::Value {
    let bytes = URL_SAFE_NO_PAD.decode(part(token, 0)).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON header")
}

fn installed(
    key: SigningKey,
    retires_in: Option<Duration>,
    gone_in: Option<Duration>,
) -> InstalledKey {
    let now = Utc::now();
    InstalledKey {
        key,
        retires_at: retires_in.map(|d| now + d),
        gone_at: gone_in.map(|d| now + d),
    }
}

fn key(algorithm: SigningAlgorithm, generation: u64, signs_from: DateTime<Utc>) -> SigningKey {
    let material = OsKeyGenerator.generate(algorithm).expect("generated");
    SigningKey::new(material, algorithm, generation, signs_from, signs_from)
}

/// Tokens signing with one fresh key of `algorithm`.
fn asymmetric(algorithm: SigningAlgorithm) -> (JwtTokens, SigningKey) {
    let tokens = JwtTokens::new(&settings(algorithm, None));
    let key = key(algorithm, 1, Utc::now() - Duration::minutes(1));
    tokens
        .install(&[installed(key.clone(), None, None)])
        .expect("installed");
    (tokens, key)
}

#[test]
fn round_trips_every_claim_with_every_algorithm() {
    for algorithm in [
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
        SigningAlgorithm::HS256,
    ] {
        let (tokens, kid) = if algorithm == SigningAlgorithm::HS256 {
            let tokens = hs256(SECRET);
            (tokens, shared_secret_kid(SECRET.as_bytes()))
        } else {
            let (tokens, key) = asymmetric(algorithm);
            (tokens, key.kid)
        };
        let original = claims(Duration::minutes(15));
        let token = tokens.issue(&original).expect("signed");
        let header = header_of(&token);
        assert_eq!(header["alg"], algorithm.as_str());
        assert_eq!(header["kid"], kid.as_str());
        let verified = tokens.verify(&token).expect("valid");
        assert_eq!(verified.user_id, original.user_id, "{algorithm}");
        assert_eq!(verified.session_id, original.session_id);
        assert_eq!(verified.token_id, "jti-1");
        assert_eq!(
            verified.expires_at.timestamp(),
            original.expires_at.timestamp()
        );
    }
}

#[test]
fn refuses_expired_foreign_and_tampered_tokens() {
    let tokens = hs256(SECRET);
    let expired = tokens
        .issue(&claims(Duration::seconds(-1)))
        .expect("signed");
    assert!(tokens.verify(&expired).is_err());

    let other = hs256("another-secret-of-at-least-32-bytes");
    let foreign = other.issue(&claims(Duration::minutes(5))).expect("signed");
    assert!(tokens.verify(&foreign).is_err());

    let mut wrong_audience = settings(SigningAlgorithm::HS256, Some(SECRET));
    wrong_audience.audience = "someone-else".into();
    let token = JwtTokens::new(&wrong_audience)
        .issue(&claims(Duration::minutes(5)))
        .expect("signed");
    assert!(tokens.verify(&token).is_err());

    assert!(tokens.verify("not.a.token").is_err());
    assert!(tokens.verify("").is_err());

    let (eddsa, _) = asymmetric(SigningAlgorithm::EdDSA);
    let good = eddsa.issue(&claims(Duration::minutes(5))).expect("signed");
    let tampered = format!(
        "{}.{}.{}",
        part(&good, 0),
        b64(r#"{"sub":"someone-else"}"#),
        part(&good, 2)
    );
    assert!(eddsa.verify(&tampered).is_err());
}

#[test]
fn refuses_none_and_every_algorithm_switch() {
    let tokens = hs256(SECRET);
    let good = tokens.issue(&claims(Duration::minutes(5))).expect("signed");
    let payload = part(&good, 1);
    let unsigned = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), payload);
    assert!(tokens.verify(&unsigned).is_err());
    let switched = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"HS512","typ":"JWT"}"#),
        payload,
        part(&good, 2)
    );
    assert!(tokens.verify(&switched).is_err());
}

#[test]
fn refuses_hs256_signed_with_a_published_key_as_the_secret() {
    for algorithm in [
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
    ] {
        let (tokens, key) = asymmetric(algorithm);
        let good = tokens.issue(&claims(Duration::minutes(5))).expect("signed");
        let public = serde_json::to_vec(&key.public).expect("JSON");
        for secret in [
            public.as_slice(),
            key.public.x.as_deref().unwrap_or("").as_bytes(),
        ] {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.kid.clone());
            let forged = encode(
                &header,
                &serde_json::from_slice::<serde_json::Value>(
                    &URL_SAFE_NO_PAD.decode(part(&good, 1)).expect("payload"),
                )
                .expect("claims"),
                &EncodingKey::from_secret(secret),
            )
            .expect("forged");
            assert!(tokens.verify(&forged).is_err(), "{algorithm}");
        }
        let unsigned = format!(
            "{}.{}.",
            b64(&format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid)),
            part(&good, 1)
        );
        assert!(tokens.verify(&unsigned).is_err());
    }
}

#[test]
fn refuses_unknown_kids_and_headers_naming_other_key_sources() {
    let (tokens, key) = asymmetric(SigningAlgorithm::EdDSA);
    let (stranger, _) = asymmetric(SigningAlgorithm::EdDSA);
    let theirs = stranger
        .issue(&claims(Duration::minutes(5)))
        .expect("signed");
    assert!(
        tokens.verify(&theirs).is_err(),
        "a key that is not installed"
    );

    // The attacker signs with their own key and points at their own key set, naming our kid.
    let attacker = OsKeyGenerator
        .generate(SigningAlgorithm::EdDSA)
        .expect("generated");
    let body = URL_SAFE_NO_PAD.decode(part(&theirs, 1)).expect("payload");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("claims");
    for header in ["jku", "x5u"] {
        for kid in [key.kid.as_str(), attacker.kid.as_str()] {
            let mut forged = Header::new(Algorithm::EdDSA);
            forged.kid = Some(kid.to_owned());
            match header {
                "jku" => forged.jku = Some("https://attacker.example/jwks.json".into()),
                _ => forged.x5u = Some("https://attacker.example/cert.pem".into()),
            }
            let token = encode(
                &forged,
                &body,
                &EncodingKey::from_ed_der(attacker.private_key.expose()),
            )
            .expect("signed");
            assert!(tokens.verify(&token).is_err(), "{header} {kid}");
        }
    }
    // Even our own signature is refused with a foreign key source named beside it.
    let good = tokens.issue(&claims(Duration::minutes(5))).expect("signed");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    header.jku = Some("https://attacker.example/jwks.json".into());
    let with_jku = encode(
        &header,
        &body,
        &EncodingKey::from_ed_der(key.private_key.expose()),
    )
    .expect("signed");
    assert!(tokens.verify(&good).is_ok());
    assert!(tokens.verify(&with_jku).is_err());
}

#[test]
fn a_retired_key_verifies_until_it_is_gone_and_the_next_signs() {
    let tokens = JwtTokens::new(&settings(SigningAlgorithm::EdDSA, None));
    let now = Utc::now();
    let old = key(SigningAlgorithm::EdDSA, 1, now - Duration::hours(1));
    let next = key(SigningAlgorithm::EdDSA, 2, now - Duration::seconds(1));
    tokens
        .install(&[
            installed(
                old.clone(),
                Some(Duration::seconds(-1)),
                Some(Duration::minutes(15)),
            ),
            installed(next.clone(), None, None),
        ])
        .expect("installed");
    let token = tokens.issue(&claims(Duration::minutes(5))).expect("signed");
    assert_eq!(header_of(&token)["kid"], next.kid.as_str());

    // A token the old key signed before it retired still verifies.
    let before = JwtTokens::new(&settings(SigningAlgorithm::EdDSA, None));
    before
        .install(&[installed(old.clone(), None, None)])
        .expect("installed");
    let old_token = before.issue(&claims(Duration::minutes(5))).expect("signed");
    assert!(tokens.verify(&old_token).is_ok());

    // Once it is gone, it is refused.
    tokens
        .install(&[
            installed(
                old,
                Some(Duration::minutes(-20)),
                Some(Duration::seconds(-1)),
            ),
            installed(next, None, None),
        ])
        .expect("installed");
    assert!(tokens.verify(&old_token).is_err());
}

#[test]
fn hs256_tokens_keep_verifying_after_a_move_to_eddsa() {
    let before = hs256(SECRET);
    let with_kid = before.issue(&claims(Duration::minutes(5))).expect("signed");
    // A token from before kids were added: same claims, no kid.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = None;
    let body: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part(&with_kid, 1)).expect("payload"))
            .expect("claims");
    let without_kid =
        encode(&header, &body, &EncodingKey::from_secret(SECRET.as_bytes())).expect("signed");

    let after = JwtTokens::new(&settings(SigningAlgorithm::EdDSA, Some(SECRET)));
    after
        .install(&[installed(
            key(SigningAlgorithm::EdDSA, 1, Utc::now()),
            None,
            None,
        )])
        .expect("installed");
    assert!(after.verify(&with_kid).is_ok());
    assert!(after.verify(&without_kid).is_ok());
    let fresh = after.issue(&claims(Duration::minutes(5))).expect("signed");
    assert_eq!(header_of(&fresh)["alg"], "EdDSA");

    // Without the secret, neither verifies, and a kid-less asymmetric token never does.
    let (eddsa_only, _) = asymmetric(SigningAlgorithm::EdDSA);
    assert!(eddsa_only.verify(&with_kid).is_err());
    assert!(eddsa_only.verify(&without_kid).is_err());
}

/// Beside an asymmetric algorithm the shared secret honours only tokens the server itself
/// made before the move: issued before the earliest key began to sign, expiring within one
/// token lifetime of it, and only during that lifetime. It verified any HS256 token, so
/// whoever held the old secret could mint tokens for ever (issue 31).
#[test]
fn after_a_move_the_shared_secret_verifies_only_tokens_from_before_it() {
    let minted = |issued_at: DateTime<Utc>, expires_at: DateTime<Utc>| {
        hs256(SECRET)
            .issue(&AccessClaims {
                issued_at,
                expires_at,
                ..claims(Duration::minutes(5))
            })
            .expect("signed")
    };
    let moved_after = |ago: Duration| {
        let tokens = JwtTokens::new(&settings(SigningAlgorithm::EdDSA, Some(SECRET)));
        let moved_at = Utc::now() - ago;
        tokens
            .install(&[installed(
                key(SigningAlgorithm::EdDSA, 1, moved_at),
                None,
                None,
            )])
            .expect("installed");
        (tokens, moved_at)
    };
    let (just_moved, moved_at) = moved_after(Duration::minutes(1));
    let from_before = minted(
        moved_at - Duration::minutes(2),
        moved_at + Duration::minutes(10),
    );
    assert!(
        just_moved.verify(&from_before).is_ok(),
        "issued before the move"
    );
    let now = Utc::now();
    assert!(
        just_moved
            .verify(&minted(now, now + Duration::minutes(5)))
            .is_err(),
        "minted after the move"
    );
    assert!(
        just_moved
            .verify(&minted(
                moved_at - Duration::minutes(2),
                moved_at + Duration::hours(1)
            ))
            .is_err(),
        "backdated, but living past one token lifetime after the move"
    );
    let (long_moved, moved_at) = moved_after(Duration::hours(1));
    assert!(
        long_moved
            .verify(&minted(
                moved_at - Duration::minutes(2),
                Utc::now() + Duration::minutes(5)
            ))
            .is_err(),
        "an hour after the move the secret verifies nothing"
    );
}

#[test]
fn issuing_before_any_key_is_installed_is_unavailable_not_unsigned() {
    let tokens = JwtTokens::new(&settings(SigningAlgorithm::EdDSA, None));
    assert!(matches!(
        tokens.issue(&claims(Duration::minutes(5))),
        Err(Error::Unavailable(_))
    ));
}

/// RFC 8037 appendix A.1-A.5: the Ed25519 key, its public half, and the JWS it signs.
#[test]
fn ed25519_matches_rfc_8037_appendix_a() {
    let seed = URL_SAFE_NO_PAD
        .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        .expect("d");
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    // PKCS#8 v1 around the 32-byte seed (RFC 8410).
    let mut pkcs8 = hex::decode("302e020100300506032b657004220420").expect("hex");
    pkcs8.extend_from_slice(&seed);
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).expect("key");
    use ring::signature::KeyPair;
    assert_eq!(URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()), x);

    let signing_input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let expected =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_ed_der(&pkcs8),
        Algorithm::EdDSA,
    )
    .expect("signed");
    assert_eq!(signature, expected);
    let public = DecodingKey::from_ed_components(x).expect("public key");
    assert!(jsonwebtoken::crypto::verify(
        expected,
        signing_input.as_bytes(),
        &public,
        Algorithm::EdDSA
    )
    .expect("verified"));
    assert!(!jsonwebtoken::crypto::verify(
        expected,
        b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmd",
        &public,
        Algorithm::EdDSA
    )
    .unwrap_or(false));
}

/// RFC 7515 appendix A.1: the HS256 JWS of its example, signed and verified.
#[test]
fn hs256_matches_rfc_7515_appendix_a1() {
    let key = URL_SAFE_NO_PAD
        .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
        .expect("k");
    let signing_input = concat!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    );
    let expected = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(&key),
        Algorithm::HS256,
    )
    .expect("signed");
    assert_eq!(signature, expected);
    assert!(jsonwebtoken::crypto::verify(
        expected,
        signing_input.as_bytes(),
        &DecodingKey::from_secret(&key),
        Algorithm::HS256
    )
    .expect("verified"));
}
