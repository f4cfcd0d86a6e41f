//! Criterion micro-benchmarks of what every authenticated request or record write pays on top
//! of HTTP: access-token verification, the verified-key and compiled-schema caches, schema
//! validation, and JSON parsing and serialisation of a record. `cargo bench -p keygate-bench`
//! (or `make microbench`).

// `criterion_group!` expands to an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use keygate_crypto::{JwtSettings, JwtTokens, OsKeyGenerator};
use keygate_domain::cache::BoundedCache;
use keygate_domain::crypto::{AccessClaims, TokenIssuer, TokenVerifier};
use keygate_domain::schema::SchemaValidator;
use keygate_domain::signing::{
    InstalledKey, SigningAlgorithm, SigningKey, SigningKeyGenerator, TokenKeyInstaller,
};
use keygate_domain::Id;
use keygate_jsonschema::JsonSchemaValidator;
use serde_json::{json, Value};

const RECORD: &str =
    r#"{"item":"tea","qty":2,"note":"a record of a realistic size, with a few fields"}"#;

/// Tokens signing with `algorithm`: the shared secret for HS256, one fresh key otherwise
/// (returned too, for its public half).
fn tokens_for(algorithm: SigningAlgorithm) -> (JwtTokens, Option<SigningKey>) {
    let tokens = JwtTokens::new(&JwtSettings {
        algorithm,
        secret: Some(b"a-benchmark-secret-of-at-least-32-bytes".to_vec()),
        issuer: "keygate".into(),
        audience: "keygate".into(),
        access_token_ttl: chrono::Duration::minutes(15),
    });
    if !algorithm.is_asymmetric() {
        return (tokens, None);
    }
    let now = Utc::now();
    let material = OsKeyGenerator.generate(algorithm).expect("a key");
    let key = SigningKey::new(material, algorithm, 1, now, now - Duration::minutes(1));
    tokens
        .install(&[InstalledKey {
            key: key.clone(),
            retires_at: None,
            gone_at: None,
        }])
        .expect("installed");
    (tokens, Some(key))
}

/// A token with realistic claims, issued now for 15 minutes.
fn claims_now() -> AccessClaims {
    let now = Utc::now();
    AccessClaims {
        user_id: Id::generate(now.timestamp()),
        session_id: Id::generate(now.timestamp()),
        token_id: "f3a9c2d4e5b6a7c8".into(),
        issued_at: now,
        expires_at: now + Duration::minutes(15),
    }
}

fn access_tokens(c: &mut Criterion) {
    let claims = claims_now();
    for algorithm in [
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
        SigningAlgorithm::HS256,
    ] {
        let (tokens, _) = tokens_for(algorithm);
        let token = tokens.issue(&claims).expect("signed");
        c.bench_function(&format!("access token: verify ({algorithm})"), |b| {
            b.iter(|| tokens.verify(black_box(&token)).expect("valid"))
        });
        c.bench_function(&format!("access token: issue ({algorithm})"), |b| {
            b.iter(|| tokens.issue(black_box(&claims)).expect("signed"))
        });
    }
}

fn caches(c: &mut Criterion) {
    let now = Utc::now();
    let cache = BoundedCache::new(10_000, Duration::seconds(2));
    for i in 0..10_000u32 {
        cache.insert(format!("kg_{i:08}"), Arc::new(i), now);
    }
    let key = "kg_00004242".to_owned();
    c.bench_function("cache: hit among 10 000 verified keys", |b| {
        b.iter(|| cache.get(black_box(&key), now).expect("cached"))
    });
    let absent = "kg_absent0".to_owned();
    c.bench_function("cache: miss among 10 000 verified keys", |b| {
        b.iter(|| cache.get(black_box(&absent), now))
    });
}

fn schemas(c: &mut Criterion) {
    let schema = json!({
        "type": "object",
        "required": ["qty"],
        "properties": {
            "qty": {"type": "integer", "minimum": 1},
            "item": {"type": "string", "maxLength": 64}
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let compiled = runtime
        .block_on(JsonSchemaValidator::default().compile(&schema))
        .map_err(|_| "schema refused")
        .expect("compiled");
    let document: Value = serde_json::from_str(RECORD).expect("json");
    c.bench_function("schema: validate a record (compiled, cached)", |b| {
        b.iter(|| compiled.violations(black_box(&document)))
    });
    c.bench_function("schema: compile (a cache miss)", |b| {
        b.iter(|| keygate_jsonschema::compile(black_box(&schema)).map_err(|_| "refused"))
    });
}

fn json_bodies(c: &mut Criterion) {
    c.bench_function("json: parse a record body", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(RECORD)).expect("json"))
    });
    let response = json!({
        "status": "success",
        "record_id": "6740c2a1000f3b2a9c4d5e6f",
        "data": serde_json::from_str::<Value>(RECORD).expect("json"),
        "created_at": "2026-11-23T10:00:00.000Z",
        "updated_at": "2026-11-23T10:00:00.000Z"
    });
    c.bench_function("json: serialise a record response", |b| {
        b.iter(|| serde_json::to_vec(black_box(&response)).expect("serialised"))
    });
}

/// A key set served from memory: what `keygate-verify` holds between fetches.
struct PublishedSet(String);

#[async_trait::async_trait]
impl keygate_verify::KeySource for PublishedSet {
    async fn fetch_key_set(&self) -> Result<String, String> {
        Ok(self.0.clone())
    }

    async fn introspect(&self, _: &str, _: &str, _: &str) -> Result<String, String> {
        Err("not benchmarked".into())
    }
}

/// `keygate-verify` in another service: one offline verification with the key set cached.
fn offline_verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    for algorithm in [
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
    ] {
        let (tokens, key) = tokens_for(algorithm);
        let key = key.expect("an asymmetric key");
        let mut jwk = serde_json::to_value(&key.public).expect("JSON");
        jwk["kid"] = key.kid.clone().into();
        jwk["alg"] = algorithm.as_str().into();
        let set = json!({ "keys": [jwk] }).to_string();
        let token = tokens.issue(&claims_now()).expect("signed");
        let verifier = keygate_verify::Verifier::with_source(
            keygate_verify::VerifierSettings::new("http://keygate.invalid", "keygate", "keygate"),
            Arc::new(PublishedSet(set)),
        );
        runtime.block_on(verifier.verify(&token)).expect("valid");
        c.bench_function(
            &format!("keygate-verify: offline verify ({algorithm}), key set cached"),
            |b| {
                b.iter(|| {
                    runtime
                        .block_on(verifier.verify(black_box(&token)))
                        .expect("valid")
                })
            },
        );
    }
}

criterion_group!(
    hot_path,
    access_tokens,
    offline_verification,
    caches,
    schemas,
    json_bodies
);
criterion_main!(hot_path);
