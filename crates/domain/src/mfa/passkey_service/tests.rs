//! Unit tests of the passkey ceremonies against in-memory factors and secrets and a scripted
//! relying party: the credential JSON says which account and passkey it claims to be.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;

use super::*;
use crate::accounts::{MockReauthentication, ThrottleLimits};
use crate::mfa::{Ceremony, MockPasskeyCeremonies, NewPasskey, PasskeyFinishForm, PasskeyUse};
use crate::sessions::{IssuedTokens, MockSessionLifecycle};
use crate::test_support::{
    alice, counting_secrets, now, owner, stranger, MemoryFactors, MemoryOneTime, MemoryUsers,
    MovingClock,
};

/// A relying party whose credentials are `{"id": <credential id>, "user": <user id>}`, and
/// whose assertions verify when the ceremony's state is `login-state`.
fn scripted_relying_party() -> MockPasskeyCeremonies {
    let mut ceremonies = MockPasskeyCeremonies::new();
    ceremonies.expect_start_registration().returning(|user, _| {
        Ok(Ceremony {
            options: json!({"user": user.name}),
            state: format!("registration-state-{}", user.id),
        })
    });
    ceremonies
        .expect_finish_registration()
        .returning(|credential, state| {
            assert!(state.starts_with("registration-state-"));
            Ok(NewPasskey {
                credential_id: credential["id"].as_str().unwrap_or("?").to_owned(),
                credential: "record".into(),
            })
        });
    ceremonies.expect_start_login().returning(|| {
        Ok(Ceremony {
            options: json!({"challenge": "same for everyone"}),
            state: "login-state".into(),
        })
    });
    ceremonies
        .expect_claimed_user()
        .returning(|credential| credential["user"].as_str()?.parse().ok());
    ceremonies
        .expect_finish_login()
        .returning(|credential, state, passkeys| {
            let id = credential["id"].as_str().unwrap_or_default();
            if state != "login-state" || !passkeys.iter().any(|p| p.credential_id == id) {
                return Err(Error::InvalidCredentials);
            }
            Ok(PasskeyUse {
                credential_id: id.to_owned(),
                updated_credential: Some("record-2".into()),
            })
        });
    ceremonies
}

struct Passkeys {
    service: PasskeyService,
    factors: Arc<MemoryFactors>,
    secrets: Arc<MemoryOneTime>,
    clock: MovingClock,
}

fn passkeys(sessions_started: usize) -> Passkeys {
    passkeys_requiring(sessions_started, false)
}

/// The service, with `auth.require_verified_email` as given.
fn passkeys_requiring(sessions_started: usize, require_verified_email: bool) -> Passkeys {
    let factors = Arc::new(MemoryFactors::default());
    let secrets = Arc::new(MemoryOneTime::default());
    let clock = MovingClock::new();
    let mut accounts = MockReauthentication::new();
    accounts.expect_account().returning(|p| {
        if p.user_id == owner().user_id {
            Ok(alice())
        } else {
            Err(Error::Unauthorized("account no longer exists"))
        }
    });
    // A recent login: the window itself is the verifier's.
    accounts.expect_fresh_proof().returning(|p, _, _| {
        if p.user_id == owner().user_id {
            Ok(alice())
        } else {
            Err(Error::Unauthorized("account no longer exists"))
        }
    });
    let mut sessions = MockSessionLifecycle::new();
    sessions
        .expect_start()
        .times(sessions_started)
        .returning(|id| {
            Ok(IssuedTokens {
                user_id: id.clone(),
                session_id: Id::generate(2),
                access_token: "jwt".into(),
                expires_in: 900,
                refresh_token: "refresh".into(),
            })
        });
    let service = PasskeyService::new(
        PasskeyPorts {
            ceremonies: Arc::new(scripted_relying_party()),
            factors: factors.clone(),
            users: Arc::new(MemoryUsers::with(vec![alice()])),
            accounts: Arc::new(accounts),
            sessions: Arc::new(sessions),
            one_time: secrets.clone(),
            secrets: Arc::new(counting_secrets()),
            clock: Arc::new(clock.clone()),
            audit: crate::test_support::audit_trail().0,
        },
        Arc::new(LoginThrottle::new(ThrottleLimits::default())),
        require_verified_email,
    );
    Passkeys {
        service,
        factors,
        secrets,
        clock,
    }
}

fn registration(
    challenge_id: &str,
    credential_id: &str,
    name: Option<&str>,
) -> PasskeyRegistration {
    PasskeyFinishForm {
        challenge_id: Some(challenge_id.into()),
        credential: Some(json!({"id": credential_id, "user": owner().user_id.as_str()})),
        name: name.map(str::to_owned),
    }
    .parse_registration()
    .expect("a complete answer")
}

fn assertion(challenge_id: &str, credential_id: &str, user: &Id) -> PasskeyAnswer {
    PasskeyAnswer {
        challenge_id: challenge_id.into(),
        credential: json!({"id": credential_id, "user": user.as_str()}),
    }
}

async fn register(p: &Passkeys, credential_id: &str) -> StoredPasskey {
    let challenge = p
        .service
        .start_registration(&owner(), PasswordConfirmation::default(), "10.0.0.1")
        .await
        .expect("started");
    p.service
        .finish_registration(
            &owner(),
            registration(&challenge.challenge_id, credential_id, Some("Laptop")),
        )
        .await
        .expect("registered")
}

#[tokio::test]
async fn a_registration_ceremony_lives_five_minutes_once_and_only_for_its_account() {
    let p = passkeys(0);
    let challenge = p
        .service
        .start_registration(&owner(), PasswordConfirmation::default(), "10.0.0.1")
        .await
        .expect("started");
    assert_eq!(challenge.options, json!({"user": "alice"}));
    let [stored] = &p.secrets.all()[..] else {
        panic!("one ceremony")
    };
    assert_eq!(stored.purpose, SecretPurpose::PasskeyRegistration);
    assert_eq!(stored.expires_at, now() + Duration::minutes(5));
    assert_eq!(stored.key, format!("d-{}", challenge.challenge_id));
    // Someone else's answer spends it and is refused.
    assert!(matches!(
        p.service
            .finish_registration(
                &stranger(),
                registration(&challenge.challenge_id, "cred-1", None)
            )
            .await,
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        p.service
            .finish_registration(
                &owner(),
                registration(&challenge.challenge_id, "cred-1", None)
            )
            .await,
        Err(Error::InvalidToken)
    ));
    let late = p
        .service
        .start_registration(&owner(), PasswordConfirmation::default(), "10.0.0.1")
        .await
        .expect("started");
    p.clock.advance(Duration::minutes(5));
    assert!(matches!(
        p.service
            .finish_registration(&owner(), registration(&late.challenge_id, "cred-1", None))
            .await,
        Err(Error::InvalidToken)
    ));
    assert!(p.factors.of(&owner().user_id).is_none());
}

#[tokio::test]
async fn a_registered_passkey_is_listed_and_the_same_credential_cannot_come_twice() {
    let p = passkeys(0);
    let passkey = register(&p, "cred-1").await;
    assert_eq!(passkey.name, "Laptop");
    let listed = p.service.list(&owner()).await.expect("listed");
    assert_eq!(listed, vec![passkey.clone()]);
    let challenge = p
        .service
        .start_registration(&owner(), PasswordConfirmation::default(), "10.0.0.1")
        .await
        .expect("started");
    assert!(matches!(
        p.service
            .finish_registration(
                &owner(),
                registration(&challenge.challenge_id, "cred-1", None)
            )
            .await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        p.service
            .delete(
                &owner(),
                "not-an-id",
                PasswordConfirmation::default(),
                "10.0.0.1"
            )
            .await,
        Err(Error::NotFound("passkey"))
    ));
    assert!(matches!(
        p.service
            .delete(
                &owner(),
                Id::generate(5).as_str(),
                PasswordConfirmation::default(),
                "10.0.0.1"
            )
            .await,
        Err(Error::NotFound("passkey"))
    ));
    p.service
        .delete(
            &owner(),
            passkey.id.as_str(),
            PasswordConfirmation::default(),
            "10.0.0.1",
        )
        .await
        .expect("deleted");
    assert!(p.service.list(&owner()).await.expect("listed").is_empty());
}

#[tokio::test]
async fn a_passkey_logs_its_account_in_and_records_its_use() {
    let p = passkeys(1);
    register(&p, "cred-1").await;
    let challenge = p
        .service
        .start_login(None, "10.0.0.1")
        .await
        .expect("started");
    let outcome = p
        .service
        .finish_login(
            assertion(&challenge.challenge_id, "cred-1", &owner().user_id),
            "10.0.0.1",
        )
        .await
        .expect("logged in");
    assert_eq!(outcome.user.id, owner().user_id);
    let stored = p.factors.of(&owner().user_id).expect("stored");
    assert_eq!(stored.passkeys[0].last_used_at, Some(now()));
    assert_eq!(stored.passkeys[0].credential, "record-2");
    // The challenge was spent.
    assert!(matches!(
        p.service
            .finish_login(
                assertion(&challenge.challenge_id, "cred-1", &owner().user_id),
                "10.0.0.1"
            )
            .await,
        Err(Error::InvalidToken)
    ));
}

/// §12: with `auth.require_verified_email`, a right passkey of an account whose address is
/// unverified gets `403 email_unverified`, as a right password does, and no session starts.
#[tokio::test]
async fn a_passkey_login_obeys_require_verified_email() {
    let p = passkeys_requiring(0, true);
    register(&p, "cred-1").await;
    let challenge = p
        .service
        .start_login(None, "10.0.0.1")
        .await
        .expect("started");
    assert!(matches!(
        p.service
            .finish_login(
                assertion(&challenge.challenge_id, "cred-1", &owner().user_id),
                "10.0.0.1",
            )
            .await,
        Err(Error::EmailUnverified)
    ));
}

#[tokio::test]
async fn a_login_limited_to_a_username_refuses_another_account_s_passkey() {
    let p = passkeys(0);
    register(&p, "cred-1").await;
    let for_bob = p
        .service
        .start_login(Some("bob"), "10.0.0.1")
        .await
        .expect("started");
    let for_nobody = p
        .service
        .start_login(None, "10.0.0.1")
        .await
        .expect("started");
    // The options tell nothing about the account asked for.
    assert_eq!(for_bob.options, for_nobody.options);
    assert!(matches!(
        p.service
            .finish_login(
                assertion(&for_bob.challenge_id, "cred-1", &owner().user_id),
                "10.0.0.1"
            )
            .await,
        Err(Error::InvalidCredentials)
    ));
    // An unknown passkey of a known account, and an assertion naming nobody.
    assert!(matches!(
        p.service
            .finish_login(
                assertion(&for_nobody.challenge_id, "cred-9", &owner().user_id),
                "10.0.0.1"
            )
            .await,
        Err(Error::InvalidCredentials)
    ));
    let again = p
        .service
        .start_login(None, "10.0.0.1")
        .await
        .expect("started");
    let nameless = PasskeyAnswer {
        challenge_id: again.challenge_id,
        credential: json!({"id": "cred-1"}),
    };
    assert!(matches!(
        p.service.finish_login(nameless, "10.0.0.1").await,
        Err(Error::InvalidCredentials)
    ));
}
