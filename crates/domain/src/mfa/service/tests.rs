//! Unit tests of TOTP and recovery codes against in-memory factors and secrets, and a clock
//! the tests move.

use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::accounts::{MockReauthentication, ThrottleLimits};
use crate::mfa::{step_at, SecondFactors, TotpCode};
use crate::sessions::{IssuedTokens, MockSessionLifecycle};
use crate::test_support::{
    alice, counting_secrets, owner, stepping_otp, MemoryFactors, MemoryOneTime, MemoryUsers,
    MovingClock,
};

struct Totp {
    service: SecondFactorService,
    factors: Arc<MemoryFactors>,
    secrets: Arc<MemoryOneTime>,
    clock: MovingClock,
}

fn sessions_starting(times: usize) -> MockSessionLifecycle {
    let mut sessions = MockSessionLifecycle::new();
    sessions.expect_start().times(times).returning(|id| {
        Ok(IssuedTokens {
            user_id: id.clone(),
            session_id: Id::generate(2),
            access_token: "jwt".into(),
            expires_in: 900,
            refresh_token: "refresh".into(),
        })
    });
    sessions.expect_revoke_others().returning(|_| Ok(()));
    sessions
}

/// Reauthentication that finds alice and accepts the password `right`.
fn alice_with_password() -> MockReauthentication {
    let mut accounts = MockReauthentication::new();
    accounts.expect_account().returning(|_| Ok(alice()));
    // No password stands for a recent login here; the window itself is the verifier's.
    accounts
        .expect_fresh_proof()
        .returning(|_, password, _| match password {
            None | Some("right") => Ok(alice()),
            Some(_) => Err(Error::InvalidCredentials),
        });
    accounts
}

fn totp_with(sessions: MockSessionLifecycle, limits: ThrottleLimits) -> Totp {
    let factors = Arc::new(MemoryFactors::default());
    let secrets = Arc::new(MemoryOneTime::default());
    let clock = MovingClock::new();
    let service = SecondFactorService::new(
        SecondFactorPorts {
            factors: factors.clone(),
            otp: Arc::new(stepping_otp()),
            users: Arc::new(MemoryUsers::with(vec![alice()])),
            accounts: Arc::new(alice_with_password()),
            sessions: Arc::new(sessions),
            one_time: secrets.clone(),
            secrets: Arc::new(counting_secrets()),
            clock: Arc::new(clock.clone()),
            audit: crate::test_support::audit_trail().0,
        },
        Arc::new(LoginThrottle::new(limits)),
        MfaSettings {
            issuer: "Acme".into(),
        },
    );
    Totp {
        service,
        factors,
        secrets,
        clock,
    }
}

fn totp(sessions: MockSessionLifecycle) -> Totp {
    totp_with(sessions, ThrottleLimits::default())
}

/// The code of the step the clock is in.
fn current_code(t: &Totp) -> String {
    format!(
        "{:06}",
        step_at(crate::clock::Clock::now(&t.clock)) % 1_000_000
    )
}

/// Enrols and confirms TOTP for alice; the recovery codes.
async fn turn_on(t: &Totp) -> Vec<String> {
    let enrolment = t
        .service
        .enrol_totp(&owner(), PasswordConfirmation::default(), "10.0.0.1")
        .await
        .expect("enrolled");
    assert!(
        enrolment
            .otpauth_uri
            .starts_with("otpauth://totp/Acme:alice?"),
        "{}",
        enrolment.otpauth_uri
    );
    let codes = t
        .service
        .confirm_totp(&owner(), TotpCode(current_code(t)), "10.0.0.1")
        .await
        .expect("confirmed");
    t.clock.advance(Duration::seconds(30));
    codes
}

fn answer(token: &str, proof: SecondFactorProof) -> SecondFactorAnswer {
    SecondFactorAnswer {
        mfa_token: token.into(),
        proof,
    }
}

#[tokio::test]
async fn without_totp_no_second_step_is_asked_and_with_it_a_five_minute_five_try_token() {
    let t = totp(sessions_starting(0));
    assert_eq!(
        t.service.after_first_factor(&alice()).await.expect("asked"),
        None
    );
    turn_on(&t).await;
    let pending = t
        .service
        .after_first_factor(&alice())
        .await
        .expect("asked")
        .expect("a second step");
    assert_eq!(pending.methods, vec!["totp", "recovery_code"]);
    let stored = t.secrets.all();
    let secret = stored
        .iter()
        .find(|s| s.purpose == SecretPurpose::SecondFactor)
        .expect("stored");
    assert_eq!(secret.key, format!("d-{}", pending.mfa_token));
    assert_eq!(secret.user_id, owner().user_id);
    assert_eq!(
        secret.expires_at,
        crate::clock::Clock::now(&t.clock) + Duration::minutes(5)
    );
    assert_eq!(secret.tries_left, 5);
    assert_eq!(secret.email, None);
}

#[tokio::test]
async fn a_wrong_first_code_leaves_totp_off_and_counts_as_a_failed_login() {
    let t = totp_with(
        sessions_starting(0),
        ThrottleLimits {
            account_failures: 2,
            ..ThrottleLimits::default()
        },
    );
    t.service
        .enrol_totp(&owner(), PasswordConfirmation::default(), "10.0.0.1")
        .await
        .expect("enrolled");
    for _ in 0..2 {
        assert!(matches!(
            t.service
                .confirm_totp(&owner(), TotpCode("555555".into()), "10.0.0.1")
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        t.service
            .confirm_totp(&owner(), TotpCode(current_code(&t)), "10.0.0.1")
            .await,
        Err(Error::RateLimited { .. })
    ));
    assert!(!t.factors.of(&owner().user_id).expect("stored").totp_on());
}

#[tokio::test]
async fn confirming_turns_totp_on_with_ten_recovery_codes_stored_as_digests_and_ends_other_sessions(
) {
    let mut sessions = MockSessionLifecycle::new();
    sessions
        .expect_revoke_others()
        .withf(|p| *p == owner())
        .times(1)
        .returning(|_| Ok(()));
    let t = totp(sessions);
    let codes = turn_on(&t).await;
    assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
    let factors: SecondFactors = t.factors.of(&owner().user_id).expect("stored");
    assert!(factors.totp_on());
    assert_eq!(factors.recovery_codes.len(), RECOVERY_CODE_COUNT);
    assert!(factors
        .recovery_codes
        .iter()
        .all(|d| d.as_str().starts_with("d-code")));
    // On already: a second enrolment is refused.
    assert!(matches!(
        t.service
            .enrol_totp(&owner(), PasswordConfirmation::default(), "10.0.0.1")
            .await,
        Err(Error::Conflict(_))
    ));
}

#[tokio::test]
async fn the_second_step_takes_a_fresh_code_once_and_spends_the_token() {
    let t = totp(sessions_starting(1));
    turn_on(&t).await;
    let pending = t
        .service
        .after_first_factor(&alice())
        .await
        .expect("asked")
        .expect("pending");
    let code = current_code(&t);
    let outcome = t
        .service
        .login_second_factor(
            answer(&pending.mfa_token, SecondFactorProof::Totp(code.clone())),
            "10.0.0.1",
        )
        .await
        .expect("logged in");
    assert_eq!(outcome.user.id, owner().user_id);
    // The token is spent, and the same code replayed with a new token is refused.
    assert!(matches!(
        t.service
            .login_second_factor(
                answer(&pending.mfa_token, SecondFactorProof::Totp(code.clone())),
                "10.0.0.1"
            )
            .await,
        Err(Error::InvalidToken)
    ));
    let again = t
        .service
        .after_first_factor(&alice())
        .await
        .expect("asked")
        .expect("pending");
    assert!(matches!(
        t.service
            .login_second_factor(
                answer(&again.mfa_token, SecondFactorProof::Totp(code)),
                "10.0.0.1"
            )
            .await,
        Err(Error::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_token_dies_after_five_wrong_codes_and_after_five_minutes() {
    let t = totp(sessions_starting(0));
    turn_on(&t).await;
    let pending = t
        .service
        .after_first_factor(&alice())
        .await
        .expect("asked")
        .expect("pending");
    for _ in 0..5 {
        assert!(matches!(
            t.service
                .login_second_factor(
                    answer(&pending.mfa_token, SecondFactorProof::Totp("555555".into())),
                    "10.0.0.1"
                )
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        t.service
            .login_second_factor(
                answer(
                    &pending.mfa_token,
                    SecondFactorProof::Totp(current_code(&t))
                ),
                "10.0.0.2"
            )
            .await,
        Err(Error::InvalidToken)
    ));
    let late = t
        .service
        .after_first_factor(&alice())
        .await
        .expect("asked")
        .expect("pending");
    t.clock.advance(Duration::minutes(5));
    assert!(matches!(
        t.service
            .login_second_factor(
                answer(&late.mfa_token, SecondFactorProof::Totp(current_code(&t))),
                "10.0.0.3"
            )
            .await,
        Err(Error::InvalidToken)
    ));
}

#[tokio::test]
async fn a_recovery_code_works_once_in_any_case_and_spacing() {
    let t = totp(sessions_starting(1));
    let codes = turn_on(&t).await;
    let typed = format!(" {} ", codes[3].to_uppercase().replace('-', " "));
    let first = t
        .service
        .after_first_factor(&alice())
        .await
        .expect("asked")
        .expect("pending");
    t.service
        .login_second_factor(
            answer(
                &first.mfa_token,
                SecondFactorProof::RecoveryCode(typed.clone()),
            ),
            "10.0.0.1",
        )
        .await
        .expect("logged in");
    assert_eq!(
        t.factors
            .of(&owner().user_id)
            .expect("stored")
            .recovery_codes
            .len(),
        RECOVERY_CODE_COUNT - 1
    );
    let second = t
        .service
        .after_first_factor(&alice())
        .await
        .expect("asked")
        .expect("pending");
    assert!(matches!(
        t.service
            .login_second_factor(
                answer(&second.mfa_token, SecondFactorProof::RecoveryCode(typed)),
                "10.0.0.1"
            )
            .await,
        Err(Error::InvalidCredentials)
    ));
}

#[tokio::test]
async fn turning_totp_off_and_new_codes_need_the_password() {
    let t = totp(sessions_starting(0));
    let old = turn_on(&t).await;
    let wrong = || PasswordConfirmation(Some("wrong".into()));
    let right = || PasswordConfirmation(Some("right".into()));
    assert!(matches!(
        t.service
            .new_recovery_codes(&owner(), wrong(), "10.0.0.1")
            .await,
        Err(Error::InvalidCredentials)
    ));
    let new = t
        .service
        .new_recovery_codes(&owner(), right(), "10.0.0.1")
        .await
        .expect("new codes");
    assert!(new.iter().all(|c| !old.contains(c)));
    assert!(matches!(
        t.service.disable_totp(&owner(), wrong(), "10.0.0.1").await,
        Err(Error::InvalidCredentials)
    ));
    assert!(t.factors.of(&owner().user_id).expect("stored").totp_on());
    t.service
        .disable_totp(&owner(), right(), "10.0.0.1")
        .await
        .expect("off");
    let factors = t.factors.of(&owner().user_id).expect("stored");
    assert!(factors.totp.is_none() && factors.recovery_codes.is_empty());
    assert!(matches!(
        t.service.disable_totp(&owner(), right(), "10.0.0.1").await,
        Err(Error::Conflict(_))
    ));
    assert!(
        !t.service
            .summary(&owner().user_id)
            .await
            .expect("read")
            .totp
    );
}
