//! The offline service against a real Keygate (embedded store, EdDSA): it knows Keygate's URL
//! and nothing else.
#![allow(missing_docs, clippy::unwrap_used)]

use actix_web::{test, web, App};
use keygate_example_offline_service::configure;
use keygate_tests::{Store, TestApp};
use keygate_verify::{Verifier, VerifierSettings};
use serde_json::{json, Value};

const INTROSPECTION: &str = "the-notes-service-introspection-secret";

async fn call(verifier: &web::Data<Verifier>, path: &str, token: Option<&str>) -> (u16, Value) {
    call_with_scheme(verifier, path, token, "Bearer").await
}

/// `call`, with the scheme written as `scheme` (RFC 7235: any case).
async fn call_with_scheme(
    verifier: &web::Data<Verifier>,
    path: &str,
    token: Option<&str>,
    scheme: &str,
) -> (u16, Value) {
    let app = test::init_service(App::new().app_data(verifier.clone()).configure(configure)).await;
    let mut request = test::TestRequest::get().uri(path);
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("{scheme} {token}")));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status().as_u16();
    (status, test::read_body_json(response).await)
}

#[actix_web::test]
async fn keygate_tokens_verify_offline_and_a_logout_shows_through_introspection() {
    let keygate = TestApp::spawn_with(
        Store::Embedded,
        &[("KEYGATE__AUTH__INTROSPECTION_TOKEN", INTROSPECTION)],
    );
    let (_, token, _) = keygate.signed_up_user();
    let user_id = keygate.get("/profile", Some(&token)).str("id").to_owned();
    let verifier = web::Data::new(Verifier::new(
        VerifierSettings::new(&keygate.base, "keygate", "keygate")
            .with_introspection(&keygate.base, INTROSPECTION),
    ));

    let (status, body) = call(&verifier, "/whoami", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"], user_id.as_str());
    let (status, body) = call(&verifier, "/whoami", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    let mut forged = token.clone();
    let at = forged.len() - 10;
    forged.replace_range(at..=at, if &token[at..=at] == "A" { "B" } else { "A" });
    assert_eq!(call(&verifier, "/whoami", Some(&forged)).await.0, 401);
    assert_eq!(call(&verifier, "/whoami/live", Some(&token)).await.0, 200);
    // Both routes read the scheme as the extractor does, in any case.
    for path in ["/whoami", "/whoami/live"] {
        let (status, body) = call_with_scheme(&verifier, path, Some(&token), "bearer").await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    keygate
        .json("POST", "/logout", Some(&token), &json!({}))
        .expect(200);
    // Offline, the token stays good until it expires; introspection sees the logout at once.
    assert_eq!(call(&verifier, "/whoami", Some(&token)).await.0, 200);
    assert_eq!(call(&verifier, "/whoami/live", Some(&token)).await.0, 401);

    // Keygate down: offline verification goes on from the cached key set.
    drop(keygate);
    let (_, other_token, _) = {
        let again = TestApp::spawn(Store::Embedded);
        again.signed_up_user()
    };
    assert_eq!(call(&verifier, "/whoami", Some(&token)).await.0, 200);
    assert_eq!(
        call(&verifier, "/whoami", Some(&other_token)).await.0,
        401,
        "another Keygate's key is not this one's"
    );
}
