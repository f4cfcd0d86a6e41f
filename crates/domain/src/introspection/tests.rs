use chrono::Duration;

use super::*;
use crate::apis::{MockApiKeyRepository, MockApiRepository};
use crate::crypto::{MockSecretGenerator, MockTokenVerifier, SecretDigest};
use crate::error::Error;
use crate::sessions::{MockSessionRepository, Session};
use crate::test_support::{fixed_clock, now, owner, shop, shop_key, SHOP_KEY};

struct Setup {
    verifier: MockTokenVerifier,
    sessions: MockSessionRepository,
    keys: MockApiKeyRepository,
    apis: MockApiRepository,
}

impl Setup {
    fn new() -> Self {
        Self {
            verifier: MockTokenVerifier::new(),
            sessions: MockSessionRepository::new(),
            keys: MockApiKeyRepository::new(),
            apis: MockApiRepository::new(),
        }
    }

    fn introspector(self) -> TokenIntrospector {
        let mut secrets = MockSecretGenerator::new();
        secrets
            .expect_matches()
            .returning(|secret, digest| digest == &SecretDigest(format!("d-{secret}")));
        TokenIntrospector::new(IntrospectionPorts {
            verifier: Arc::new(self.verifier),
            sessions: Arc::new(self.sessions),
            keys: Arc::new(self.keys),
            apis: Arc::new(self.apis),
            secrets: Arc::new(secrets),
            clock: Arc::new(fixed_clock()),
        })
    }
}

fn claims() -> AccessClaims {
    AccessClaims {
        user_id: owner().user_id,
        session_id: owner().session_id,
        token_id: "jti".into(),
        issued_at: now() - Duration::minutes(1),
        expires_at: now() + Duration::minutes(14),
    }
}

fn session(revoked: bool) -> Session {
    Session {
        id: owner().session_id,
        user_id: owner().user_id,
        created_at: now() - Duration::hours(1),
        expires_at: now() + Duration::days(1),
        revoked_at: revoked.then(now),
    }
}

fn with_session(revoked: bool) -> Setup {
    let mut setup = Setup::new();
    setup.verifier.expect_verify().returning(|_| Ok(claims()));
    setup
        .sessions
        .expect_find()
        .times(1)
        .returning(move |_| Ok(Some(session(revoked))));
    setup
}

#[tokio::test]
async fn a_token_of_a_live_session_is_active_with_its_claims() {
    let answer = with_session(false)
        .introspector()
        .introspect("a.jwt.token")
        .await
        .expect("answered");
    assert_eq!(answer, Introspection::AccessToken(claims()));
}

#[tokio::test]
async fn a_token_of_an_ended_session_is_inactive() {
    let answer = with_session(true)
        .introspector()
        .introspect("a.jwt.token")
        .await
        .expect("answered");
    assert_eq!(answer, Introspection::Inactive);
}

#[tokio::test]
async fn a_bad_token_is_inactive_after_the_same_one_read() {
    let mut setup = Setup::new();
    setup
        .verifier
        .expect_verify()
        .returning(|_| Err(Error::Unauthorized("bad")));
    setup
        .sessions
        .expect_find()
        .times(1)
        .returning(|_| Ok(None));
    let answer = setup
        .introspector()
        .introspect("garbage")
        .await
        .expect("answered");
    assert_eq!(answer, Introspection::Inactive);
}

#[tokio::test]
async fn a_usable_key_is_active_with_its_api_and_a_wrong_or_revoked_one_is_not() {
    let mut setup = Setup::new();
    setup
        .keys
        .expect_find_by_public_id()
        .returning(|_| Ok(Some(shop_key())));
    setup.apis.expect_find().returning(|_| Ok(Some(shop())));
    let introspector = setup.introspector();
    assert_eq!(
        introspector.introspect(SHOP_KEY).await.expect("answered"),
        Introspection::ApiKey {
            key: shop_key(),
            api: Box::new(shop())
        }
    );
    let wrong = format!("{}X", &SHOP_KEY[..SHOP_KEY.len() - 1]);
    assert_eq!(
        introspector.introspect(&wrong).await.expect("answered"),
        Introspection::Inactive
    );

    let mut setup = Setup::new();
    setup.keys.expect_find_by_public_id().returning(|_| {
        Ok(Some(ApiKey {
            revoked_at: Some(now()),
            ..shop_key()
        }))
    });
    assert_eq!(
        setup
            .introspector()
            .introspect(SHOP_KEY)
            .await
            .expect("answered"),
        Introspection::Inactive
    );
}

#[tokio::test]
async fn a_store_failure_is_an_error_not_an_answer() {
    let mut setup = Setup::new();
    setup.verifier.expect_verify().returning(|_| Ok(claims()));
    setup
        .sessions
        .expect_find()
        .returning(|_| Err(Error::Unavailable("down".into())));
    assert!(setup.introspector().introspect("a.jwt").await.is_err());
}
