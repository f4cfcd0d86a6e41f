//! A JWK Set as the verifier holds it: each usable key by `kid`, with its algorithm.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// One public key and the only algorithm it verifies.
pub(crate) struct VerifyingKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    alg: Option<String>,
    kty: String,
    #[serde(rename = "use")]
    usage: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The keys of a JWK Set document that this crate will verify with: signing keys with a
/// `kid`, an asymmetric algorithm Keygate uses, and the members that algorithm needs.
/// Anything else (symmetric keys, encryption keys, unknown algorithms) is left out.
pub(crate) fn parse(document: &str) -> Result<HashMap<String, VerifyingKey>, String> {
    let set: JwkSet = serde_json::from_str(document).map_err(|e| format!("not a JWK Set: {e}"))?;
    let mut keys = HashMap::new();
    for jwk in set.keys {
        let (Some(kid), Some(alg)) = (jwk.kid.as_deref(), jwk.alg.as_deref()) else {
            continue;
        };
        if jwk.usage.as_deref().is_some_and(|u| u != "sig") {
            continue;
        }
        let parsed = match (alg, jwk.kty.as_str()) {
            ("EdDSA", "OKP") if jwk.crv.as_deref() == Some("Ed25519") => jwk
                .x
                .as_deref()
                .and_then(|x| DecodingKey::from_ed_components(x).ok())
                .map(|key| (Algorithm::EdDSA, key)),
            ("ES256", "EC") if jwk.crv.as_deref() == Some("P-256") => {
                match (jwk.x.as_deref(), jwk.y.as_deref()) {
                    (Some(x), Some(y)) => DecodingKey::from_ec_components(x, y)
                        .ok()
                        .map(|key| (Algorithm::ES256, key)),
                    _ => None,
                }
            }
            ("RS256", "RSA") => match (jwk.n.as_deref(), jwk.e.as_deref()) {
                (Some(n), Some(e)) => DecodingKey::from_rsa_components(n, e)
                    .ok()
                    .map(|key| (Algorithm::RS256, key)),
                _ => None,
            },
            _ => None,
        };
        if let Some((algorithm, key)) = parsed {
            keys.insert(kid.to_owned(), VerifyingKey { algorithm, key });
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signing_keys_of_keygates_algorithms_are_kept() {
        let document = r#"{"keys": [
            {"kid": "ed", "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519", "use": "sig",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kid": "hmac", "alg": "HS256", "kty": "oct", "k": "c2VjcmV0"},
            {"kid": "enc", "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519", "use": "enc",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"alg": "EdDSA", "kty": "OKP", "crv": "Ed25519",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kid": "mismatch", "alg": "ES256", "kty": "OKP", "crv": "Ed25519",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kid": "none", "alg": "none", "kty": "oct"}
        ]}"#;
        let keys = parse(document).expect("a set");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["ed"].algorithm, Algorithm::EdDSA);
        assert!(parse("[]").is_err());
        assert!(parse(r#"{"keys": []}"#).expect("empty").is_empty());
    }
}
