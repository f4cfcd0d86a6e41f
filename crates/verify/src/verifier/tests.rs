use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::Utc;
use keygate_crypto::{JwtSettings, JwtTokens, OsKeyGenerator};
use keygate_domain::crypto::{AccessClaims, TokenIssuer};
use keygate_domain::signing::{
    InstalledKey, SigningAlgorithm, SigningKey, SigningKeyGenerator, TokenKeyInstaller,
};
use keygate_domain::Id;

use super::*;

/// Keygate as a key source: serves the JWKS of whatever keys it holds, counting fetches.
struct FakeKeygate {
    keys: Mutex<Vec<SigningKey>>,
    fetches: AtomicUsize,
    live: bool,
}

impl FakeKeygate {
    fn new(keys: Vec<SigningKey>) -> Arc<Self> {
        Arc::new(Self {
            keys: Mutex::new(keys),
            fetches: AtomicUsize::new(0),
            live: true,
        })
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl KeySource for FakeKeygate {
    async fn fetch_key_set(&self) -> Result<String, String> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let keys: Vec<serde_json::Value> = self
            .keys
            .lock()
            .expect("lock")
            .iter()
            .map(|key| {
                let mut jwk = serde_json::to_value(&key.public).expect("JSON");
                jwk["kid"] = key.kid.clone().into();
                jwk["alg"] = key.algorithm.as_str().into();
                jwk["use"] = "sig".into();
                jwk
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }).to_string())
    }

    async fn introspect(&self, _: &str, bearer: &str, _: &str) -> Result<String, String> {
        assert_eq!(bearer, "the-bearer");
        Ok(serde_json::json!({ "active": self.live }).to_string())
    }
}

fn key(algorithm: SigningAlgorithm) -> SigningKey {
    let material = OsKeyGenerator.generate(algorithm).expect("a key");
    let now = Utc::now();
    SigningKey::new(
        material,
        algorithm,
        1,
        now,
        now - chrono::Duration::minutes(1),
    )
}

/// A token Keygate would issue with `key`, living `lifetime` seconds.
fn token(key: &SigningKey, issuer: &str, lifetime: i64) -> String {
    let tokens = JwtTokens::new(&JwtSettings {
        algorithm: key.algorithm,
        secret: None,
        issuer: issuer.into(),
        audience: "keygate".into(),
        access_token_ttl: chrono::Duration::minutes(15),
    });
    tokens
        .install(&[InstalledKey {
            key: key.clone(),
            retires_at: None,
            gone_at: None,
        }])
        .expect("installed");
    let now = Utc::now();
    tokens
        .issue(&AccessClaims {
            user_id: Id::generate(now.timestamp()),
            session_id: Id::generate(now.timestamp()),
            token_id: "jti".into(),
            issued_at: now,
            expires_at: now + chrono::Duration::seconds(lifetime),
        })
        .expect("signed")
}

fn verifier(source: Arc<FakeKeygate>) -> Verifier {
    let settings = VerifierSettings::new("http://keygate.invalid", "keygate", "keygate")
        .with_introspection("http://keygate.invalid", "the-bearer");
    Verifier::with_source(settings, source)
}

#[tokio::test]
async fn tokens_of_every_algorithm_verify_against_the_published_set() {
    for algorithm in [
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
    ] {
        let key = key(algorithm);
        let keygate = FakeKeygate::new(vec![key.clone()]);
        let verifier = verifier(keygate.clone());
        let claims = verifier
            .verify(&token(&key, "keygate", 900))
            .await
            .expect("valid");
        assert_eq!(claims.iss, "keygate");
        assert_eq!(claims.aud, "keygate");
        // Cached: a second token costs no fetch.
        verifier
            .verify(&token(&key, "keygate", 900))
            .await
            .expect("valid");
        assert_eq!(keygate.fetches(), 1, "{algorithm}");
    }
}

#[tokio::test]
async fn expiry_issuer_and_audience_are_checked_with_a_small_skew() {
    let key = key(SigningAlgorithm::EdDSA);
    let verifier = verifier(FakeKeygate::new(vec![key.clone()]));
    // Expired 10 s ago: inside the 30 s skew.
    verifier
        .verify(&token(&key, "keygate", -10))
        .await
        .expect("within skew");
    assert!(verifier
        .verify(&token(&key, "keygate", -120))
        .await
        .is_err());
    assert!(verifier
        .verify(&token(&key, "someone-else", 900))
        .await
        .is_err());
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_interval() {
    let old = key(SigningAlgorithm::EdDSA);
    let keygate = FakeKeygate::new(vec![old.clone()]);
    let interval = Duration::from_millis(300);
    let verifier = Verifier::with_source(
        VerifierSettings {
            refetch_interval: interval,
            ..VerifierSettings::new("http://keygate.invalid", "keygate", "keygate")
        },
        keygate.clone(),
    );
    verifier
        .verify(&token(&old, "keygate", 900))
        .await
        .expect("valid");
    assert_eq!(keygate.fetches(), 1);

    // A stranger's tokens: no fetch within the interval of the last one, however many arrive;
    // then one, and again none.
    let stranger = key(SigningAlgorithm::EdDSA);
    let refused = || async {
        for _ in 0..50 {
            assert_eq!(
                verifier.verify(&token(&stranger, "keygate", 900)).await,
                Err(VerifyError::Invalid(
                    "signed by a key Keygate does not publish"
                ))
            );
        }
    };
    refused().await;
    assert_eq!(keygate.fetches(), 1);
    tokio::time::sleep(interval).await;
    refused().await;
    assert_eq!(keygate.fetches(), 2);
    // Known keys meanwhile cost nothing.
    verifier
        .verify(&token(&old, "keygate", 900))
        .await
        .expect("valid");
    assert_eq!(keygate.fetches(), 2);

    // A rotation published since the last fetch is found on the next allowed one.
    let next = key(SigningAlgorithm::EdDSA);
    keygate.keys.lock().expect("lock").push(next.clone());
    tokio::time::sleep(interval).await;
    verifier
        .verify(&token(&next, "keygate", 900))
        .await
        .expect("found on refetch");
    assert_eq!(keygate.fetches(), 3);
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let key = key(SigningAlgorithm::EdDSA);
    let verifier = verifier(FakeKeygate::new(vec![key.clone()]));
    let good = token(&key, "keygate", 900);
    let payload = good.split('.').nth(1).expect("claims");
    let b64 = |text: &str| {
        use base64_helper::encode;
        encode(text.as_bytes())
    };
    let x = key.public.x.clone().expect("x");
    let forged = [
        format!("{}.{payload}.", b64(&format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid))),
        jsonwebtoken::encode(
            &jsonwebtoken::Header {
                kid: Some(key.kid.clone()),
                ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
            },
            &serde_json::json!({"sub": "x", "sid": "s", "jti": "j", "iat": 0, "exp": 4_000_000_000_i64, "iss": "keygate", "aud": "keygate"}),
            &jsonwebtoken::EncodingKey::from_secret(x.as_bytes()),
        )
        .expect("forged"),
        format!(
            "{}.{payload}.{}",
            b64(&format!(
                r#"{{"alg":"EdDSA","kid":"{}","jku":"https://attacker.example/k"}}"#,
                key.kid
            )),
            good.split('.').nth(2).expect("signature")
        ),
        "not a token".to_owned(),
    ];
    for token in forged {
        assert!(verifier.verify(&token).await.is_err(), "{token}");
    }
}

#[tokio::test]
async fn verify_live_sees_what_introspection_says() {
    let key = key(SigningAlgorithm::EdDSA);
    let live = verifier(FakeKeygate::new(vec![key.clone()]));
    live.verify_live(&token(&key, "keygate", 900))
        .await
        .expect("live");
    let ended = FakeKeygate {
        keys: Mutex::new(vec![key.clone()]),
        fetches: AtomicUsize::new(0),
        live: false,
    };
    let ended = verifier(Arc::new(ended));
    assert_eq!(
        ended.verify_live(&token(&key, "keygate", 900)).await,
        Err(VerifyError::Inactive)
    );
}

/// Unpadded base64url, enough to build forged headers.
mod base64_helper {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub(super) fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }
}
