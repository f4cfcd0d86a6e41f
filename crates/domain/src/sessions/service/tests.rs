//! Unit tests of the session use cases against mocks of the ports.

use super::*;
use crate::clock::MockClock;
use crate::crypto::{MockSecretGenerator, MockTokenIssuer, MockTokenVerifier, SecretDigest};
use crate::sessions::ports::MockSessionRepository;
use crate::sessions::AuthError;
use chrono::Duration;
use mockall::predicate::eq;

use crate::test_support::now;

fn refresh(token: &str) -> Refresh {
    Refresh {
        token: token.into(),
    }
}

fn user() -> Id {
    Id::generate(1)
}

fn session(user_id: &Id) -> Session {
    Session {
        id: Id::generate(2),
        user_id: user_id.clone(),
        created_at: now(),
        expires_at: now() + Duration::days(30),
        revoked_at: None,
    }
}

fn token(session: &Session, used: bool) -> RefreshToken {
    RefreshToken {
        digest: SecretDigest("digest-of-old".into()),
        session_id: session.id.clone(),
        user_id: session.user_id.clone(),
        issued_at: now(),
        expires_at: session.expires_at,
        used_at: used.then(now),
    }
}

/// An active session `session_id` of `user_id`, for a day.
fn live_session(user_id: &Id, session_id: &Id) -> Session {
    Session {
        id: session_id.clone(),
        user_id: user_id.clone(),
        created_at: now(),
        expires_at: now() + Duration::days(1),
        revoked_at: None,
    }
}

/// A verifier that reads every token as an access token of that user and session.
fn verifier_for(user_id: &Id, session_id: &Id) -> MockTokenVerifier {
    let mut verifier = MockTokenVerifier::new();
    let (u, s) = (user_id.clone(), session_id.clone());
    verifier.expect_verify().returning(move |_| {
        Ok(AccessClaims {
            user_id: u.clone(),
            session_id: s.clone(),
            token_id: "t".into(),
            issued_at: now(),
            expires_at: now() + Duration::minutes(15),
        })
    });
    verifier
}

/// A service that only authenticates: these sessions, this verifier and this clock.
fn verifying_service(
    repo: MockSessionRepository,
    verifier: MockTokenVerifier,
    clock: MockClock,
) -> SessionService {
    let authenticator = Authenticator::new(
        Arc::new(repo),
        Arc::new(verifier),
        Arc::new(clock),
        SessionSettings::default(),
    );
    SessionService::new(
        Arc::new(authenticator),
        Arc::new(MockTokenIssuer::new()),
        Arc::new(MockSecretGenerator::new()),
        crate::test_support::audit_trail().0,
    )
}

fn service(repo: MockSessionRepository) -> SessionService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let mut secrets = MockSecretGenerator::new();
    secrets
        .expect_new_secret()
        .returning(|| Ok("new-secret".into()));
    secrets
        .expect_digest()
        .returning(|s| SecretDigest(format!("digest-of-{s}")));
    let mut issuer = MockTokenIssuer::new();
    issuer
        .expect_issue()
        .returning(|c| Ok(format!("jwt-for-{}", c.session_id)));
    let mut verifier = MockTokenVerifier::new();
    verifier.expect_verify().returning(|t| match t {
        "good" => Ok(AccessClaims {
            user_id: Id::generate(1),
            session_id: Id::generate(2),
            token_id: "t".into(),
            issued_at: now(),
            expires_at: now() + Duration::minutes(15),
        }),
        _ => Err(Error::Unauthorized("bad token")),
    });
    let authenticator = Authenticator::new(
        Arc::new(repo),
        Arc::new(verifier),
        Arc::new(clock),
        SessionSettings::default(),
    );
    SessionService::new(
        Arc::new(authenticator),
        Arc::new(issuer),
        Arc::new(secrets),
        crate::test_support::audit_trail().0,
    )
}

#[tokio::test]
async fn start_stores_a_session_with_a_digest_never_the_secret() {
    let mut repo = MockSessionRepository::new();
    repo.expect_create()
        .withf(|s, t| {
            t.digest.as_str() == "digest-of-new-secret"
                && t.session_id == s.id
                && s.expires_at == now() + Duration::days(30)
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let tokens = service(repo).start(&user()).await.expect("session starts");
    assert_eq!(tokens.refresh_token, "new-secret");
    assert_eq!(tokens.expires_in, 900);
    assert!(tokens.access_token.starts_with("jwt-for-"));
}

#[tokio::test]
async fn refresh_rotates_an_unused_token() {
    let uid = user();
    let s = session(&uid);
    let mut repo = MockSessionRepository::new();
    let t = token(&s, false);
    repo.expect_find_refresh_token()
        .returning(move |_| Ok(Some(t.clone())));
    let found = s.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    repo.expect_rotate_refresh_token()
        .withf(|used, next, _| {
            used.as_str() == "digest-of-old" && next.digest.as_str() == "digest-of-new-secret"
        })
        .times(1)
        .returning(|_, _, _| Ok(true));
    repo.expect_revoke().never();
    let tokens = service(repo)
        .refresh(refresh("old"))
        .await
        .expect("refresh works");
    assert_eq!(tokens.refresh_token, "new-secret");
    assert_eq!(tokens.session_id, s.id);
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_session() {
    let s = session(&user());
    let mut repo = MockSessionRepository::new();
    let t = token(&s, true);
    repo.expect_find_refresh_token()
        .returning(move |_| Ok(Some(t.clone())));
    repo.expect_revoke()
        .with(eq(s.id.clone()), eq(now()))
        .times(1)
        .returning(|_, _| Ok(()));
    repo.expect_rotate_refresh_token().never();
    let result = service(repo).refresh(refresh("old")).await;
    assert!(matches!(result, Err(Error::Unauthorized(_))));
}

#[tokio::test]
async fn losing_a_rotation_race_counts_as_reuse() {
    let s = session(&user());
    let mut repo = MockSessionRepository::new();
    let t = token(&s, false);
    repo.expect_find_refresh_token()
        .returning(move |_| Ok(Some(t.clone())));
    let found = s.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    repo.expect_rotate_refresh_token()
        .returning(|_, _, _| Ok(false));
    repo.expect_revoke().times(1).returning(|_, _| Ok(()));
    assert!(matches!(
        service(repo).refresh(refresh("old")).await,
        Err(Error::Unauthorized(_))
    ));
}

#[tokio::test]
async fn unknown_or_revoked_refresh_tokens_are_refused() {
    let mut repo = MockSessionRepository::new();
    repo.expect_find_refresh_token().returning(|_| Ok(None));
    assert!(matches!(
        service(repo).refresh(refresh("nope")).await,
        Err(Error::Unauthorized(_))
    ));

    let mut revoked = session(&user());
    revoked.revoked_at = Some(now());
    let mut repo = MockSessionRepository::new();
    let t = token(&revoked, false);
    repo.expect_find_refresh_token()
        .returning(move |_| Ok(Some(t.clone())));
    repo.expect_find()
        .returning(move |_| Ok(Some(revoked.clone())));
    repo.expect_rotate_refresh_token().never();
    assert!(matches!(
        service(repo).refresh(refresh("old")).await,
        Err(Error::Unauthorized(_))
    ));
}

#[tokio::test]
async fn authenticate_requires_an_active_session_of_the_token_user() {
    let uid = Id::generate(1);
    let mut repo = MockSessionRepository::new();
    let mut s = session(&uid);
    s.id = Id::generate(2);
    let active = s.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(active.clone())));
    let svc = service(repo);
    let principal = svc.authenticator().authenticate("good").await;
    // Ids are random, so the claims' ids differ from the stored session's user: refused.
    assert!(matches!(principal, Err(AuthError::Unauthorized(_))));
    assert!(matches!(
        svc.authenticator().authenticate("bad").await,
        Err(AuthError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn authenticate_accepts_a_live_session_and_refuses_a_revoked_one() {
    let claims_user = Id::generate(1);
    let claims_session = Id::generate(2);
    let live = live_session(&claims_user, &claims_session);
    let verifier = verifier_for(&claims_user, &claims_session);
    let verifier = Arc::new(verifier);
    let build = |stored: Session| {
        let mut repo = MockSessionRepository::new();
        repo.expect_find()
            .returning(move |_| Ok(Some(stored.clone())));
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        Authenticator::new(
            Arc::new(repo),
            verifier.clone(),
            Arc::new(clock),
            SessionSettings::default(),
        )
    };
    let principal = build(live.clone())
        .authenticate("any")
        .await
        .expect("live session");
    assert_eq!(principal.user_id, claims_user);
    let mut revoked = live;
    revoked.revoked_at = Some(now());
    assert!(matches!(
        build(revoked).authenticate("any").await,
        Err(AuthError::Unauthorized(_))
    ));
}

/// An embedding service tells three answers apart, whatever the contract's error variants:
/// a store outage is `Unavailable` (503), never `Unauthorized` (which would log users out).
#[tokio::test]
async fn authenticate_narrows_a_store_outage_to_unavailable() {
    let (user_id, session_id) = (Id::generate(1), Id::generate(2));
    let mut repo = MockSessionRepository::new();
    repo.expect_find()
        .returning(|_| Err(Error::Unavailable("store down".into())));
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let authenticator = Authenticator::new(
        Arc::new(repo),
        Arc::new(verifier_for(&user_id, &session_id)),
        Arc::new(clock),
        SessionSettings::default(),
    );
    let refused = authenticator.authenticate("any").await;
    assert_eq!(refused, Err(AuthError::Unavailable("store down".into())));
    assert!(matches!(
        Error::from(AuthError::Unavailable("x".into())),
        Error::Unavailable(reason) if reason == "x"
    ));
}

#[tokio::test]
async fn a_live_session_is_read_once_per_ttl_and_forgotten_at_logout() {
    let (user_id, session_id) = (Id::generate(1), Id::generate(2));
    let live = live_session(&user_id, &session_id);
    let verifier = verifier_for(&user_id, &session_id);
    let mut repo = MockSessionRepository::new();
    let mut reads = mockall::Sequence::new();
    let first = live.clone();
    repo.expect_find()
        .times(1)
        .in_sequence(&mut reads)
        .returning(move |_| Ok(Some(first.clone())));
    repo.expect_revoke().times(1).returning(|_, _| Ok(()));
    let revoked = Session {
        revoked_at: Some(now()),
        ..live
    };
    repo.expect_find()
        .times(1)
        .in_sequence(&mut reads)
        .returning(move |_| Ok(Some(revoked.clone())));
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let svc = verifying_service(repo, verifier, clock);
    // Three requests, one store read.
    for _ in 0..3 {
        svc.authenticator()
            .authenticate("token")
            .await
            .expect("live");
    }
    let principal = Principal {
        user_id,
        session_id,
    };
    svc.logout(&principal, Logout::ThisSession)
        .await
        .expect("logged out");
    // At once on this instance: the next request reads the store and is refused.
    assert!(matches!(
        svc.authenticator().authenticate("token").await,
        Err(AuthError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn a_token_is_verified_once_and_refused_once_it_has_expired() {
    let (user_id, session_id) = (Id::generate(1), Id::generate(2));
    let live = live_session(&user_id, &session_id);
    let mut repo = MockSessionRepository::new();
    repo.expect_find()
        .returning(move |_| Ok(Some(live.clone())));
    let mut verifier = MockTokenVerifier::new();
    let mut order = mockall::Sequence::new();
    let claims = AccessClaims {
        user_id,
        session_id,
        token_id: "t".into(),
        issued_at: now(),
        expires_at: now() + Duration::minutes(15),
    };
    verifier
        .expect_verify()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_| Ok(claims.clone()));
    // Past its expiry the token is verified again, which refuses it.
    verifier
        .expect_verify()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Err(Error::Unauthorized("invalid or expired token")));
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || {
        match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0..=2 => now(),
            _ => now() + Duration::minutes(16),
        }
    });
    let svc = verifying_service(repo, verifier, clock);
    for _ in 0..3 {
        svc.authenticator()
            .authenticate("token")
            .await
            .expect("verified once");
    }
    assert!(matches!(
        svc.authenticator().authenticate("token").await,
        Err(AuthError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn logout_revokes_one_or_all_sessions() {
    let principal = Principal {
        user_id: user(),
        session_id: Id::generate(3),
    };
    let mut repo = MockSessionRepository::new();
    repo.expect_revoke()
        .with(eq(principal.session_id.clone()), eq(now()))
        .times(1)
        .returning(|_, _| Ok(()));
    service(repo)
        .logout(&principal, Logout::ThisSession)
        .await
        .expect("logout");

    let mut repo = MockSessionRepository::new();
    repo.expect_revoke_all_for_user()
        .with(eq(principal.user_id.clone()), eq(None), eq(now()))
        .times(1)
        .returning(|_, _, _| Ok(()));
    service(repo)
        .logout(&principal, Logout::Everywhere)
        .await
        .expect("logout all");
}

#[tokio::test]
async fn revoke_others_keeps_the_current_session() {
    let principal = Principal {
        user_id: user(),
        session_id: Id::generate(3),
    };
    let mut repo = MockSessionRepository::new();
    repo.expect_revoke_all_for_user()
        .with(
            eq(principal.user_id.clone()),
            eq(Some(principal.session_id.clone())),
            eq(now()),
        )
        .times(1)
        .returning(|_, _, _| Ok(()));
    service(repo)
        .revoke_others(&principal)
        .await
        .expect("revoked");
}
