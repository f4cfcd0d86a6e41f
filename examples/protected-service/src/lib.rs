//! An orders service that trusts Keygate: a small example of linking `keygate-domain` from
//! another Rust web service (walked through in `docs/embedding.md`).
//!
//! It shares Keygate's MongoDB database and signing secret, and builds the domain's
//! [`Authenticator`] over Keygate's own adapters (`keygate-mongo` for sessions,
//! `keygate-crypto` for tokens). Its `GET /orders` accepts a Keygate access token and answers
//! for the token's user; once the session is ended in Keygate (logout, password change,
//! account deletion), the token stops working here too, within `revocation_cache_ttl`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_crypto::{JwtSettings, JwtTokens};
use keygate_domain::crypto::TokenVerifier;
use keygate_domain::sessions::{AuthError, Authenticator, SessionRepository, SessionSettings};
use keygate_domain::signing::SigningAlgorithm;
use keygate_domain::SystemClock;
use keygate_mongo::{MongoSettings, MongoStore};
use serde_json::json;

/// Where Keygate keeps its sessions and how it signs tokens: the same values as Keygate's
/// `database.url`, `database.name`, `auth.jwt_secret`, `auth.issuer` and `auth.audience`.
#[derive(Clone)]
pub struct GateSettings {
    /// Keygate's MongoDB URL.
    pub mongodb_url: String,
    /// Keygate's database name.
    pub database: String,
    /// Keygate's HS256 signing secret.
    pub jwt_secret: Vec<u8>,
    /// `iss` of Keygate's tokens (`keygate` unless configured).
    pub issuer: String,
    /// `aud` of Keygate's tokens (`keygate` unless configured).
    pub audience: String,
    /// How long this service may trust a session it has seen alive (Keygate's default: 2 s).
    pub revocation_cache_ttl: chrono::Duration,
}

/// Keygate's session rules, running inside this service.
pub struct Gate {
    authenticator: Authenticator,
}

impl Gate {
    /// Connects to Keygate's database and builds the authenticator over it.
    pub async fn connect(settings: &GateSettings) -> keygate_domain::Result<Self> {
        let store = MongoStore::connect(&MongoSettings {
            url: settings.mongodb_url.clone(),
            database: settings.database.clone(),
            operation_timeout: Duration::from_secs(5),
        })
        .await?;
        // A Keygate with a shared secret signs HS256 (§7); with none it signs EdDSA, and a
        // service verifies offline with `keygate-verify` instead of linking the store.
        let tokens = Arc::new(JwtTokens::new(&JwtSettings {
            algorithm: SigningAlgorithm::HS256,
            secret: Some(settings.jwt_secret.clone()),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_token_ttl: keygate_domain::sessions::SessionSettings::default().access_token_ttl,
        }));
        Ok(Self::over(
            Arc::new(store),
            tokens,
            settings.revocation_cache_ttl,
        ))
    }

    /// The gate over any session store and token verifier: what unit tests use with the
    /// domain's mocks.
    pub fn over(
        sessions: Arc<dyn SessionRepository>,
        tokens: Arc<dyn TokenVerifier>,
        revocation_cache_ttl: chrono::Duration,
    ) -> Self {
        let settings = SessionSettings {
            liveness_cache_ttl: revocation_cache_ttl,
            ..SessionSettings::default()
        };
        Self {
            authenticator: Authenticator::new(sessions, tokens, Arc::new(SystemClock), settings),
        }
    }
}

/// This service's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orders", web::get().to(orders));
}

/// `GET /orders`: the caller's orders, for a live Keygate access token only.
async fn orders(gate: web::Data<Gate>, request: HttpRequest) -> HttpResponse {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    match gate.authenticator.authenticate(token).await {
        Ok(principal) => HttpResponse::Ok().json(json!({
            "owner": principal.user_id.as_str(),
            "orders": [],
        })),
        Err(AuthError::Unauthorized(reason)) => HttpResponse::Unauthorized().json(json!({
            "status": "error",
            "error": {"code": "unauthorized", "message": reason},
        })),
        Err(AuthError::Unavailable(_) | AuthError::Internal(_)) => {
            HttpResponse::ServiceUnavailable().json(json!({
                "status": "error",
                "error": {"code": "unavailable", "message": "sessions cannot be checked right now"},
            }))
        }
    }
}
