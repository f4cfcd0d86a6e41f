//! Unit tests of every account rule against mocks of the ports.

use std::sync::Arc;

use mockall::predicate::eq;

use super::*;
use crate::accounts::ports::{
    MockAccountMail, MockSecondStep, MockUserDataEraser, MockUserRepository,
};
use crate::accounts::throttle::ThrottleLimits;
use crate::accounts::{AccountDetails, Age, Email, LoginForm, RegistrationForm, Username};
use crate::accounts::{MockPasswordHasher, PasswordCheck};
use crate::accounts::{PendingSecondFactor, ProfileForm};
use crate::clock::MockClock;
use crate::error::ConflictKind;
use crate::sessions::{IssuedTokens, MockSessionLifecycle};
use crate::test_support::{fixed_clock, now};

fn clock() -> Arc<MockClock> {
    Arc::new(fixed_clock())
}

fn alice_id() -> Id {
    "6553f1000000000000000001".parse().expect("valid id")
}

fn stored_user(role: Role) -> User {
    User {
        role,
        ..User::new_account(
            alice_id(),
            AccountDetails {
                username: Some(Username::new("alice").expect("valid")),
                email: Some(Email::new("alice@example.com").expect("valid")),
                ..AccountDetails::default()
            },
            "$argon2id$stored".into(),
            now(),
        )
    }
}

/// Session operations that start sessions with fixed tokens; nothing else is expected.
fn starting_sessions() -> MockSessionLifecycle {
    let mut sessions = MockSessionLifecycle::new();
    sessions.expect_start().times(1).returning(|user_id| {
        Ok(IssuedTokens {
            user_id: user_id.clone(),
            session_id: Id::generate(2),
            access_token: "jwt".into(),
            expires_in: 900,
            refresh_token: "refresh".into(),
        })
    });
    sessions
}

/// A second step that never asks for a second factor.
fn no_second_factor() -> MockSecondStep {
    let mut second_step = MockSecondStep::new();
    second_step
        .expect_after_first_factor()
        .returning(|_| Ok(None));
    second_step
}

/// Account mail that is accepted and dropped.
fn any_mail() -> MockAccountMail {
    let mut mail = MockAccountMail::new();
    mail.expect_account_created().returning(|_| ());
    mail.expect_email_changed().returning(|_, _| ());
    mail
}

fn service_wired(
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    sessions: MockSessionLifecycle,
    limits: ThrottleLimits,
    second_step: MockSecondStep,
    mail: MockAccountMail,
) -> AccountService {
    AccountService::new(
        AccountPorts {
            users: Arc::new(users),
            hasher: Arc::new(hasher),
            sessions: Arc::new(sessions),
            second_step: Arc::new(second_step),
            mail: Arc::new(mail),
            clock: clock(),
            audit: crate::test_support::audit_trail().0,
        },
        Arc::new(LoginThrottle::new(limits)),
        false,
    )
}

fn service_with(
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    sessions: MockSessionLifecycle,
    limits: ThrottleLimits,
) -> AccountService {
    service_wired(
        users,
        hasher,
        sessions,
        limits,
        no_second_factor(),
        any_mail(),
    )
}

fn service(users: MockUserRepository, hasher: MockPasswordHasher) -> AccountService {
    service_with(
        users,
        hasher,
        MockSessionLifecycle::new(),
        ThrottleLimits::default(),
    )
}

fn registration() -> NewAccount {
    RegistrationForm {
        username: Some("alice".into()),
        email: Some("Alice@Example.com".into()),
        password: Some("vivid-otter-42-lamp".into()),
        ..RegistrationForm::default()
    }
    .parse()
    .expect("a valid registration")
}

/// Alice, in a session she logged in to a minute ago (within the re-authentication window).
fn principal() -> Principal {
    Principal {
        user_id: stored_user(Role::User).id,
        session_id: Id::generate((now() - chrono::Duration::minutes(1)).timestamp()),
    }
}

fn credentials(identifier: &str, password: &str) -> Credentials {
    LoginForm {
        identifier: Some(identifier.into()),
        password: Some(password.into()),
        ..LoginForm::default()
    }
    .parse()
    .expect("complete credentials")
}

fn password_change(current: &str, new: &str) -> PasswordChange {
    PasswordChange {
        current: current.into(),
        new: new.into(),
    }
}

fn deletion(password: &str) -> Deletion {
    Deletion {
        password: Some(CurrentPassword(password.into())),
    }
}

/// The outcome of a login that needed no second step.
fn logged_in(step: LoginStep) -> LoginOutcome {
    match step {
        LoginStep::Done(outcome) => *outcome,
        LoginStep::SecondFactor(_) => panic!("no second factor is wired in these tests"),
    }
}

#[tokio::test]
async fn register_stores_only_the_hash_and_a_lowercased_email() {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .withf(|p| p.expose() == "vivid-otter-42-lamp")
        .times(1)
        .returning(|_| Ok("$argon2id$new".into()));
    let mut users = MockUserRepository::new();
    users
        .expect_insert()
        .withf(|u| {
            u.password_hash == "$argon2id$new"
                && u.email.as_ref().map(Email::as_str) == Some("alice@example.com")
                && u.role == Role::User
        })
        .times(1)
        .returning(|_| Ok(()));
    let user = service(users, hasher)
        .register(registration(), "10.0.0.1")
        .await
        .expect("registered");
    assert_eq!(user.username.as_ref().map(Username::as_str), Some("alice"));
}

#[tokio::test]
async fn register_passes_on_the_stores_conflict() {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().returning(|_| Ok("h".into()));
    let mut users = MockUserRepository::new();
    users
        .expect_insert()
        .returning(|_| Err(Error::Conflict(ConflictKind::Email)));
    assert!(matches!(
        service(users, hasher)
            .register(registration(), "10.0.0.1")
            .await,
        Err(Error::Conflict(ConflictKind::Email))
    ));
}

#[tokio::test]
async fn unknown_account_spends_a_dummy_hash_and_gets_the_same_error() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_username().returning(|_| Ok(None));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
    hasher.expect_verify().never();
    let result = service(users, hasher)
        .login(credentials("nobody", "whatever-pass"), "10.0.0.1")
        .await;
    assert!(matches!(result, Err(Error::InvalidCredentials)));
}

#[tokio::test]
async fn malformed_identifier_is_an_unknown_account_not_a_validation_error() {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
    let result = service(MockUserRepository::new(), hasher)
        .login(credentials("bad@@mail", "whatever-pass"), "10.0.0.1")
        .await;
    assert!(matches!(result, Err(Error::InvalidCredentials)));
}

#[tokio::test]
async fn wrong_password_gets_invalid_credentials() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .with(eq(Email::new("alice@example.com").expect("valid")))
        .returning(|_| Ok(Some(stored_user(Role::User))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, _| {
        Ok(PasswordCheck {
            matches: false,
            needs_rehash: false,
        })
    });
    let result = service(users, hasher)
        .login(
            credentials("ALICE@example.com", "wrong-password"),
            "10.0.0.1",
        )
        .await;
    assert!(matches!(result, Err(Error::InvalidCredentials)));
}

#[tokio::test]
async fn repeated_failures_are_throttled_before_any_hashing() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().times(2).returning(|_, _| {
        Ok(PasswordCheck {
            matches: false,
            needs_rehash: false,
        })
    });
    let limits = ThrottleLimits {
        account_failures: 2,
        ..ThrottleLimits::default()
    };
    let svc = service_with(users, hasher, MockSessionLifecycle::new(), limits);
    for _ in 0..2 {
        assert!(matches!(
            svc.login(credentials("alice", "wrong-password"), "10.0.0.1")
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    match svc
        .login(credentials("alice", "wrong-password"), "10.0.0.2")
        .await
    {
        Err(Error::RateLimited { retry_after_secs }) => assert!(retry_after_secs > 0),
        other => panic!("expected throttling, got {other:?}"),
    }
}

#[tokio::test]
async fn successful_login_opens_a_session_and_upgrades_outdated_hashes() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users
        .expect_update()
        .withf(|u, read| *read == 1 && u.revision == 2 && u.password_hash == "$argon2id$upgraded")
        .times(1)
        .returning(|_, _| Ok(true));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, _| {
        Ok(PasswordCheck {
            matches: true,
            needs_rehash: true,
        })
    });
    hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok("$argon2id$upgraded".into()));
    let svc = service_with(
        users,
        hasher,
        starting_sessions(),
        ThrottleLimits::default(),
    );
    let outcome = logged_in(
        svc.login(credentials("Alice", "vivid-otter-42-lamp"), "10.0.0.1")
            .await
            .expect("login"),
    );
    assert_eq!(outcome.tokens.access_token, "jwt");
    assert_eq!(outcome.tokens.refresh_token, "refresh");
    assert_eq!(outcome.user.password_hash, "$argon2id$upgraded");
}

#[tokio::test]
async fn a_hash_stored_before_normalisation_still_logs_in_and_is_upgraded_to_nfkc() {
    // Stored from the full-width password as typed, before passwords were normalised.
    let typed = "ｖｉｖｉｄ-otter-42-lamp";
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users
        .expect_update()
        .withf(|u, _| u.password_hash == "$argon2id$nfkc")
        .times(1)
        .returning(|_, _| Ok(true));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(move |password, _| {
        Ok(PasswordCheck {
            matches: password == typed,
            needs_rehash: false,
        })
    });
    hasher
        .expect_hash()
        .withf(|p| p.expose() == "vivid-otter-42-lamp")
        .times(1)
        .returning(|_| Ok("$argon2id$nfkc".into()));
    let svc = service_with(
        users,
        hasher,
        starting_sessions(),
        ThrottleLimits::default(),
    );
    let outcome = logged_in(
        svc.login(credentials("alice", typed), "10.0.0.1")
            .await
            .expect("login"),
    );
    assert_eq!(outcome.user.password_hash, "$argon2id$nfkc");
}

#[tokio::test]
async fn oversized_credentials_are_refused_without_a_lookup_or_a_hash() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_username().never();
    users.expect_find_by_email().never();
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().never();
    hasher.expect_verify_dummy().never();
    let svc = service(users, hasher);
    for (identifier, password) in [
        ("x".repeat(321), "vivid-otter-42-lamp".to_owned()),
        ("alice".to_owned(), "p".repeat(1025)),
    ] {
        assert!(matches!(
            svc.login(credentials(&identifier, &password), "10.0.0.1")
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
}

#[tokio::test]
async fn password_change_checks_the_current_one_and_revokes_other_sessions() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users
        .expect_update()
        .withf(|u, read| *read == 1 && u.revision == 2 && u.password_hash == "$argon2id$changed")
        .times(1)
        .returning(|_, _| Ok(true));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|password, _| {
        Ok(PasswordCheck {
            matches: password == "old-password-ok",
            needs_rehash: false,
        })
    });
    hasher
        .expect_hash()
        .returning(|_| Ok("$argon2id$changed".into()));
    let me = principal();
    let mut sessions = MockSessionLifecycle::new();
    sessions
        .expect_revoke_others()
        .with(eq(me.clone()))
        .times(1)
        .returning(|_| Ok(()));
    // §12: the change ends every link and code outstanding, once it is made.
    let mut mail = MockAccountMail::new();
    mail.expect_password_changed()
        .withf(|u| u.id == stored_user(Role::User).id)
        .times(1)
        .returning(|_| Ok(()));
    let svc = service_wired(
        users,
        hasher,
        sessions,
        ThrottleLimits::default(),
        no_second_factor(),
        mail,
    );

    assert!(matches!(
        svc.change_password(&me, password_change("wrong", "new-password-ok"), "a")
            .await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        svc.change_password(&me, password_change("old-password-ok", "password1"), "a")
            .await,
        Err(Error::Validation(_))
    ));
    svc.change_password(
        &me,
        password_change("old-password-ok", "new-password-ok"),
        "a",
    )
    .await
    .expect("password changed");
}

#[tokio::test]
async fn deleting_an_account_needs_its_password_and_forgets_its_sessions() {
    // The order is the point (hardening, item 11): the account is marked first, so nobody
    // logs in meanwhile; other sessions end; then what it owns goes; then sessions and account.
    let mut order = mockall::Sequence::new();
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|password, _| {
        Ok(PasswordCheck {
            matches: password == "right-password",
            needs_rehash: false,
        })
    });
    let me = principal();
    users
        .expect_update()
        .withf(|u, read| *read == 1 && u.deleting)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(true));
    let mut sessions = MockSessionLifecycle::new();
    sessions
        .expect_revoke_others()
        .with(eq(me.clone()))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    let mut eraser = MockUserDataEraser::new();
    eraser
        .expect_erase_user_data()
        .with(eq(me.user_id.clone()))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    sessions
        .expect_forget_user()
        .with(eq(me.user_id.clone()))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    users
        .expect_delete()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(true));
    let svc =
        service_with(users, hasher, sessions, ThrottleLimits::default()).erasing(Arc::new(eraser));
    assert!(matches!(
        svc.delete_account(&me, deletion("wrong-password"), "a")
            .await,
        Err(Error::InvalidCredentials)
    ));
    svc.delete_account(&me, deletion("right-password"), "a")
        .await
        .expect("deleted");
}

#[tokio::test]
async fn an_account_being_deleted_cannot_log_in() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_username().returning(|_| {
        Ok(Some(User {
            deleting: true,
            email_verified: false,
            ..stored_user(Role::User)
        }))
    });
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
    hasher.expect_verify().never();
    let credentials = LoginForm {
        username: Some("alice".into()),
        password: Some("right-password".into()),
        ..LoginForm::default()
    }
    .parse()
    .expect("credentials");
    assert!(matches!(
        service(users, hasher).login(credentials, "a").await,
        Err(Error::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_profile_edit_that_loses_a_race_is_reapplied_to_the_newer_account() {
    let mut order = mockall::Sequence::new();
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users
        .expect_update()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(false));
    // Meanwhile the password changed: revision 2 with a new hash.
    users
        .expect_find_by_id()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| {
            Ok(Some(User {
                password_hash: "$argon2id$new".into(),
                revision: 2,
                ..stored_user(Role::User)
            }))
        });
    users
        .expect_update()
        .withf(|u, read| {
            *read == 2
                && u.revision == 3
                && u.password_hash == "$argon2id$new"
                && u.age.map(Age::years) == Some(30)
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(true));
    let changes = ProfileChanges {
        age: Settable::Set(Age::new(30).expect("age")),
        ..ProfileChanges::default()
    };
    let updated = service(users, MockPasswordHasher::new())
        .update_profile(&principal(), changes, "10.0.0.1")
        .await
        .expect("updated");
    assert_eq!(updated.password_hash, "$argon2id$new");
}

#[tokio::test]
async fn profile_update_keeps_an_identifier_and_stamps_the_change() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users
        .expect_update()
        .withf(|u, read| {
            *read == 1 && u.revision == 2 && u.age.map(Age::years) == Some(30) && u.email.is_none()
        })
        .times(1)
        .returning(|_, _| Ok(true));
    let svc = service(users, MockPasswordHasher::new());
    let both_cleared = ProfileChanges {
        username: Settable::Clear,
        email: Settable::Clear,
        ..ProfileChanges::default()
    };
    assert!(matches!(
        svc.update_profile(&principal(), both_cleared, "10.0.0.1")
            .await,
        Err(Error::Validation(_))
    ));
    let changes = ProfileChanges {
        email: Settable::Clear,
        age: Settable::Set(Age::new(30).expect("valid")),
        ..ProfileChanges::default()
    };
    let user = svc
        .update_profile(&principal(), changes, "10.0.0.1")
        .await
        .expect("updated");
    assert_eq!(user.updated_at, now());
}

#[tokio::test]
async fn user_list_shows_usernames_to_users_and_profiles_to_admins() {
    for (role, full) in [(Role::User, false), (Role::Admin, true)] {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(stored_user(role))));
        users
            .expect_list()
            .with(eq(None), eq(PageRequest::first().limit() + 1))
            .returning(|_, _| Ok(vec![stored_user(Role::User)]));
        let listing = service(users, MockPasswordHasher::new())
            .list_users(&principal(), &PageRequest::first())
            .await
            .expect("listed");
        match listing {
            UserListing::Full(page) => assert!(full && page.items.len() == 1),
            UserListing::UsernamesOnly(page) => {
                assert!(!full);
                assert_eq!(page.items, vec![Some("alice".to_owned())]);
            }
        }
    }
}

#[tokio::test]
async fn set_role_promotes_by_username_or_email_and_refuses_unknown_accounts() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users.expect_find_by_username().returning(|_| Ok(None));
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users
        .expect_update()
        .withf(|u, read| *read == 1 && u.revision == 2 && u.role == Role::Admin)
        .times(1)
        .returning(|_, _| Ok(true));
    let svc = service(users, MockPasswordHasher::new());
    let promoted = svc
        .set_role("alice@example.com", Role::Admin)
        .await
        .expect("promoted");
    assert_eq!(promoted.role, Role::Admin);
    assert!(matches!(
        svc.set_role("nobody", Role::Admin).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn with_a_second_step_a_right_password_opens_no_session_and_keeps_the_attempt_counted() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, _| {
        Ok(PasswordCheck {
            matches: true,
            needs_rehash: false,
        })
    });
    let mut second_step = MockSecondStep::new();
    second_step
        .expect_after_first_factor()
        .withf(|user| user.id == alice_id())
        .times(2)
        .returning(|_| {
            Ok(Some(PendingSecondFactor {
                mfa_token: "the-mfa-token".into(),
                methods: vec!["totp", "recovery_code"],
            }))
        });
    // No session starts: MockSessionLifecycle has no expectation.
    let svc = service_wired(
        users,
        hasher,
        MockSessionLifecycle::new(),
        ThrottleLimits {
            account_failures: 2,
            ..ThrottleLimits::default()
        },
        second_step,
        any_mail(),
    );
    for _ in 0..2 {
        match svc
            .login(credentials("alice", "vivid-otter-42-lamp"), "10.0.0.1")
            .await
            .expect("a right password")
        {
            LoginStep::SecondFactor(pending) => {
                assert_eq!(pending.mfa_token, "the-mfa-token");
            }
            LoginStep::Done(_) => panic!("tokens without the second factor"),
        }
    }
    // The right passwords did not clear the account's attempts: the third is throttled.
    assert!(matches!(
        svc.login(credentials("alice", "vivid-otter-42-lamp"), "10.0.0.1")
            .await,
        Err(Error::RateLimited { .. })
    ));
}

#[tokio::test]
async fn a_new_account_and_a_changed_address_are_told_to_the_mail() {
    let mut users = MockUserRepository::new();
    users.expect_insert().returning(|_| Ok(()));
    users.expect_find_by_email().returning(|_| Ok(None));
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users.expect_update().returning(|_, _| Ok(true));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok("$argon2id$new".into()));
    let mut mail = MockAccountMail::new();
    mail.expect_account_created()
        .withf(|u| u.email.as_ref().map(Email::as_str) == Some("alice@example.com"))
        .times(1)
        .returning(|_| ());
    // §12: the new address only waits for its proof; the notice goes to the one in use.
    mail.expect_email_changed()
        .withf(|u, old| {
            u.pending_email.as_ref().map(Email::as_str) == Some("new@example.com")
                && u.email.as_ref().map(Email::as_str) == Some("alice@example.com")
                && old.as_ref().map(Email::as_str) == Some("alice@example.com")
        })
        .times(1)
        .returning(|_, _| ());
    let svc = service_wired(
        users,
        hasher,
        MockSessionLifecycle::new(),
        ThrottleLimits::default(),
        no_second_factor(),
        mail,
    );
    svc.register(registration(), "10.0.0.1")
        .await
        .expect("registered");
    let form = |body: serde_json::Value| {
        ProfileForm(body.as_object().cloned().expect("an object"))
            .parse()
            .expect("valid")
    };
    let changes = form(serde_json::json!({"email": "new@example.com"}));
    svc.update_profile(&principal(), changes, "10.0.0.1")
        .await
        .expect("changed");
    // The same address again is no change: nothing more is mailed (times(1) above).
    let same = form(serde_json::json!({"username": "alice"}));
    svc.update_profile(&principal(), same, "10.0.0.1")
        .await
        .expect("kept");
}

/// §12: changing the email needs a fresh proof. A session older than the window (a refresh
/// keeps the login's session id) gets `403 reauthentication_required`; the current password
/// makes it fresh, a wrong one is `401`; other fields need nothing.
#[tokio::test]
async fn an_email_change_needs_the_password_or_a_recent_login() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(stored_user(Role::User))));
    users.expect_update().returning(|_, _| Ok(true));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|password, _| {
        Ok(PasswordCheck {
            matches: password == "old-password-ok",
            needs_rehash: false,
        })
    });
    let svc = service(users, hasher);
    let stale = Principal {
        session_id: Id::generate((now() - chrono::Duration::minutes(6)).timestamp()),
        ..principal()
    };
    let form = |body: serde_json::Value| {
        ProfileForm(body.as_object().cloned().expect("an object"))
            .parse()
            .expect("valid")
    };
    assert!(matches!(
        svc.update_profile(
            &stale,
            form(serde_json::json!({"email": "new@example.com"})),
            "a"
        )
        .await,
        Err(Error::ReauthenticationRequired)
    ));
    assert!(matches!(
        svc.update_profile(
            &stale,
            form(serde_json::json!({"email": "new@example.com", "password": "wrong"})),
            "a"
        )
        .await,
        Err(Error::InvalidCredentials)
    ));
    svc.update_profile(
        &stale,
        form(serde_json::json!({"email": "new@example.com", "password": "old-password-ok"})),
        "a",
    )
    .await
    .expect("the password is a fresh proof");
    svc.update_profile(
        &stale,
        form(serde_json::json!({"full_name": "Alice A."})),
        "a",
    )
    .await
    .expect("a name needs no proof");
    svc.update_profile(
        &principal(),
        form(serde_json::json!({"email": "new@example.com"})),
        "a",
    )
    .await
    .expect("a login a minute ago is fresh");
}

/// §12: a new address only waits as `pending_email`; one another account holds is refused
/// before anything is written or mailed, and asking for the address in use cancels the wait.
#[tokio::test]
async fn a_new_address_waits_for_its_proof_and_a_taken_one_is_refused() {
    let pending = std::sync::Arc::new(std::sync::Mutex::new(Some(
        Email::new("next@example.com").expect("valid"),
    )));
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|email| {
        Ok((email.as_str() == "bob@example.com").then(|| User {
            id: Id::generate(1),
            ..stored_user(Role::User)
        }))
    });
    let stored = pending.clone();
    users.expect_find_by_id().returning(move |_| {
        Ok(Some(User {
            pending_email: stored.lock().expect("pending").clone(),
            ..stored_user(Role::User)
        }))
    });
    let written = pending.clone();
    users.expect_update().times(1).returning(move |user, _| {
        *written.lock().expect("pending") = user.pending_email.clone();
        Ok(true)
    });
    let mut mail = MockAccountMail::new();
    mail.expect_email_changed().never();
    let svc = service_wired(
        users,
        MockPasswordHasher::new(),
        MockSessionLifecycle::new(),
        ThrottleLimits::default(),
        no_second_factor(),
        mail,
    );
    let form = |body: serde_json::Value| {
        ProfileForm(body.as_object().cloned().expect("an object"))
            .parse()
            .expect("valid")
    };
    assert!(matches!(
        svc.update_profile(
            &principal(),
            form(serde_json::json!({"email": "BOB@example.com"})),
            "a"
        )
        .await,
        Err(Error::Conflict(ConflictKind::Email))
    ));
    let kept = svc
        .update_profile(
            &principal(),
            form(serde_json::json!({"email": "alice@example.com"})),
            "a",
        )
        .await
        .expect("the address in use");
    assert_eq!(kept.email, stored_user(Role::User).email);
    assert_eq!(kept.pending_email, None, "the wait is cancelled");
    assert_eq!(*pending.lock().expect("pending"), None);
}
