//! A notes service that trusts Keygate's tokens knowing nothing but Keygate's URL: no
//! database, no secret (walked through in `docs/embedding.md`).
//!
//! `GET /whoami` verifies the bearer token offline against Keygate's published keys
//! (`keygate_verify::Authenticated`): no call to Keygate per request, so it keeps working while
//! Keygate is down, but a logged-out token works until it expires (15 minutes by default).
//! `GET /whoami/live` also asks Keygate's `POST /token/introspect`, so a logout shows at once.

use actix_web::{web, HttpRequest, HttpResponse};
use keygate_verify::{bearer_token, Authenticated, Verifier, VerifyError};
use serde_json::json;

/// Registers `GET /whoami` and `GET /whoami/live`; the app data must hold a
/// `web::Data<Verifier>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/whoami", web::get().to(whoami))
        .route("/whoami/live", web::get().to(whoami_live));
}

/// Who the (offline-verified) token speaks for.
async fn whoami(Authenticated(claims): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({"user": claims.sub, "session": claims.sid}))
}

/// The same, but only while Keygate says the session is live.
async fn whoami_live(verifier: web::Data<Verifier>, request: HttpRequest) -> HttpResponse {
    let token = bearer_token(&request).unwrap_or_default();
    match verifier.verify_live(&token).await {
        Ok(claims) => HttpResponse::Ok().json(json!({"user": claims.sub, "session": claims.sid})),
        Err(VerifyError::Unavailable(_)) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "error", "code": "unavailable", "message": "Keygate is unavailable"})),
        Err(_) => HttpResponse::Unauthorized()
            .json(json!({"status": "error", "code": "unauthorized", "message": "Invalid or expired token"})),
    }
}
