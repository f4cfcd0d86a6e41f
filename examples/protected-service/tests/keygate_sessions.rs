//! The example service against a real Keygate on a shared MongoDB database, and its handler
//! against the domain's mocks.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use actix_web::{test, web, App};
use keygate_crypto::{JwtSettings, JwtTokens};
use keygate_domain::sessions::MockSessionRepository;
use keygate_example_service::{configure, Gate, GateSettings};
use keygate_tests::{fresh_database_name, mongodb_uri, Store, TestApp};
use serde_json::{json, Value};

const SECRET: &str = "a-secret-shared-by-keygate-and-the-orders-service";

async fn get_orders(gate: &web::Data<Gate>, token: Option<&str>) -> (u16, Value) {
    let app = test::init_service(App::new().app_data(gate.clone()).configure(configure)).await;
    let mut request = test::TestRequest::get().uri("/orders");
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status().as_u16();
    (status, test::read_body_json(response).await)
}

#[actix_web::test]
async fn keygate_tokens_work_here_until_the_user_logs_out_of_keygate() {
    let (uri, database) = (mongodb_uri(), fresh_database_name());
    let keygate = TestApp::spawn_with(
        Store::Mongo,
        &[
            ("KEYGATE__DATABASE__URL", uri.as_str()),
            ("KEYGATE__DATABASE__NAME", database.as_str()),
            ("KEYGATE__AUTH__JWT_SECRET", SECRET),
        ],
    );
    let (_, token, _) = keygate.signed_up_user();
    let user_id = keygate.get("/profile", Some(&token)).str("id").to_owned();

    // A zero TTL: this service asks the store on every request, so the logout shows at once.
    let gate = web::Data::new(
        Gate::connect(&GateSettings {
            mongodb_url: uri,
            database,
            jwt_secret: SECRET.as_bytes().to_vec(),
            issuer: "keygate".into(),
            audience: "keygate".into(),
            revocation_cache_ttl: chrono::Duration::zero(),
        })
        .await
        .expect("connected to Keygate's database"),
    );
    let (status, body) = get_orders(&gate, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"], user_id.as_str());
    assert_eq!(get_orders(&gate, None).await.0, 401);

    keygate
        .json("POST", "/logout", Some(&token), &json!({}))
        .expect(200);
    let (status, body) = get_orders(&gate, Some(&token)).await;
    assert_eq!(status, 401, "{body}");
}

#[actix_web::test]
async fn a_token_of_an_ended_session_is_refused_with_the_store_mocked() {
    let tokens = Arc::new(JwtTokens::new(&JwtSettings {
        algorithm: keygate_domain::signing::SigningAlgorithm::HS256,
        secret: Some(SECRET.as_bytes().to_vec()),
        issuer: "keygate".into(),
        audience: "keygate".into(),
        access_token_ttl: chrono::Duration::minutes(15),
    }));
    // The session is not in the store (ended and purged): authenticate must say 401.
    let mut sessions = MockSessionRepository::new();
    sessions.expect_find().returning(|_| Ok(None));
    let gate = web::Data::new(Gate::over(
        Arc::new(sessions),
        tokens.clone(),
        chrono::Duration::seconds(2),
    ));
    let now = chrono::Utc::now();
    let claims = keygate_domain::crypto::AccessClaims {
        user_id: keygate_domain::Id::generate(now.timestamp()),
        session_id: keygate_domain::Id::generate(now.timestamp()),
        token_id: "t".into(),
        issued_at: now,
        expires_at: now + chrono::Duration::minutes(5),
    };
    let token = keygate_domain::crypto::TokenIssuer::issue(tokens.as_ref(), &claims).unwrap();
    let (status, body) = get_orders(&gate, Some(&token)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(get_orders(&gate, Some("not-a-token")).await.0, 401);
}
