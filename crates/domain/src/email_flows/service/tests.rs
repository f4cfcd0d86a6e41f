//! Unit tests of the email flows against in-memory accounts and secrets, a recording outbox
//! and a clock the tests move: each rule of §8 fails here when its line is removed.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;

use super::*;
use crate::accounts::MockPasswordHasher;
use crate::accounts::{
    AccountMail, Email, LoginStep, MockSecondStep, PendingSecondFactor, ThrottleLimits,
};
use crate::email_flows::{CodeLoginForm, PasswordResetForm, VerificationToken};
use crate::id::Id;
use crate::mfa::{SecondFactorRepository, SecondFactors, StoredPasskey, TotpFactor};
use crate::sessions::{IssuedTokens, MockSessionLifecycle};
use crate::test_support::{
    alice, counting_secrets, now, owner, MemoryFactors, MemoryOneTime, MemoryUsers, MovingClock,
};

/// One queued message: its kind, recipient and template values.
type Sent = (MailKind, String, Vec<(&'static str, String)>);

/// An outbox that keeps what it was given.
#[derive(Default)]
struct RecordingMail(Mutex<Vec<Sent>>);

impl RecordingMail {
    fn sent(&self) -> Vec<Sent> {
        self.0.lock().expect("mail").clone()
    }

    /// The value `name` of the last message of `kind`.
    fn last_value(&self, kind: MailKind, name: &str) -> String {
        let sent = self.sent();
        let (_, _, values) = sent
            .iter()
            .rev()
            .find(|(k, _, _)| *k == kind)
            .expect("a message of that kind");
        values
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .expect("that value")
    }

    /// The token in the link of the last message of `kind`.
    fn last_token(&self, kind: MailKind) -> String {
        let link = self.last_value(kind, "link");
        link.split("token=").nth(1).expect("a token").to_owned()
    }
}

#[async_trait]
impl MailQueue for RecordingMail {
    async fn enqueue(
        &self,
        kind: MailKind,
        to: &str,
        values: Vec<(&'static str, String)>,
    ) -> Result<()> {
        self.0
            .lock()
            .expect("mail")
            .push((kind, to.to_owned(), values));
        Ok(())
    }
}

struct Flows {
    service: EmailFlowService,
    users: Arc<MemoryUsers>,
    secrets: Arc<MemoryOneTime>,
    factors: Arc<MemoryFactors>,
    mail: Arc<RecordingMail>,
    clock: MovingClock,
}

fn tokens_for(user_id: &Id) -> IssuedTokens {
    IssuedTokens {
        user_id: user_id.clone(),
        session_id: Id::generate(2),
        access_token: "jwt".into(),
        expires_in: 900,
        refresh_token: "refresh".into(),
    }
}

fn no_second_factor() -> MockSecondStep {
    let mut second_step = MockSecondStep::new();
    second_step
        .expect_after_first_factor()
        .returning(|_| Ok(None));
    second_step
}

fn hashing() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|p| Ok(format!("hash:{}", p.expose())));
    hasher
}

fn flows_with(sessions: MockSessionLifecycle, second_step: MockSecondStep) -> Flows {
    let users = Arc::new(MemoryUsers::with(vec![alice()]));
    let secrets = Arc::new(MemoryOneTime::default());
    let factors = Arc::new(MemoryFactors::default());
    let mail = Arc::new(RecordingMail::default());
    let clock = MovingClock::new();
    let service = EmailFlowService::new(
        EmailFlowPorts {
            users: users.clone(),
            hasher: Arc::new(hashing()),
            sessions: Arc::new(sessions),
            second_step: Arc::new(second_step),
            one_time: secrets.clone(),
            factors: factors.clone(),
            secrets: Arc::new(counting_secrets()),
            mail: mail.clone(),
            clock: Arc::new(clock.clone()),
            audit: crate::test_support::audit_trail().0,
        },
        Arc::new(LoginThrottle::new(ThrottleLimits::default())),
        EmailFlowSettings {
            public_url: "https://id.example.com/".into(),
            require_verified_email: false,
        },
    );
    Flows {
        service,
        users,
        secrets,
        factors,
        mail,
        clock,
    }
}

fn flows() -> Flows {
    flows_with(revoking_sessions(), no_second_factor())
}

/// Sessions that may be revoked any number of times (a first proof of the address ends them).
fn revoking_sessions() -> MockSessionLifecycle {
    let mut sessions = MockSessionLifecycle::new();
    sessions.expect_revoke_all().returning(|_| Ok(()));
    sessions
}

fn email(text: &str) -> Email {
    Email::new(text).expect("valid")
}

fn reset(token: &str, password: &str) -> PasswordReset {
    PasswordResetForm {
        token: Some(token.into()),
        new_password: Some(password.into()),
    }
    .parse()
    .expect("a valid reset")
}

fn code_login(code: &str) -> CodeLogin {
    CodeLoginForm {
        email: Some("alice@example.com".into()),
        code: Some(code.into()),
    }
    .parse()
    .expect("complete")
}

#[tokio::test]
async fn a_verification_link_lives_24_hours_and_proves_the_address_it_was_mailed_to() {
    let f = flows();
    f.service.account_created(&alice()).await;
    let [secret] = &f.secrets.all()[..] else {
        panic!("one link stored")
    };
    assert_eq!(secret.purpose, SecretPurpose::EmailVerification);
    assert_eq!(secret.email, Some(email("alice@example.com")));
    assert_eq!(secret.expires_at, now() + Duration::hours(24));
    assert_eq!(secret.tries_left, 1);
    let [(kind, to, _)] = &f.mail.sent()[..] else {
        panic!("one message")
    };
    assert_eq!(
        (*kind, to.as_str()),
        (MailKind::VerifyEmail, "alice@example.com")
    );
    let link = f.mail.last_value(MailKind::VerifyEmail, "link");
    assert!(
        link.starts_with("https://id.example.com/verify-email?token="),
        "{link}"
    );
    // Only the digest is stored.
    let token = f.mail.last_token(MailKind::VerifyEmail);
    assert_eq!(secret.key, format!("d-{token}"));

    f.clock.advance(Duration::hours(24) - Duration::seconds(1));
    let user = f
        .service
        .verify_email(VerificationToken(token.clone()))
        .await
        .expect("verified");
    assert!(user.email_verified);
    assert!(
        f.users
            .get(&owner().user_id)
            .expect("stored")
            .email_verified
    );
    // Spent: a second use is refused.
    assert!(matches!(
        f.service.verify_email(VerificationToken(token)).await,
        Err(Error::InvalidToken)
    ));
}

#[tokio::test]
async fn a_verification_link_expires_after_24_hours() {
    let f = flows();
    f.service.account_created(&alice()).await;
    let token = f.mail.last_token(MailKind::VerifyEmail);
    f.clock.advance(Duration::hours(24));
    assert!(matches!(
        f.service.verify_email(VerificationToken(token)).await,
        Err(Error::InvalidToken)
    ));
    assert!(
        !f.users
            .get(&owner().user_id)
            .expect("stored")
            .email_verified
    );
}

#[tokio::test]
async fn a_link_mailed_to_an_old_address_does_not_verify_the_new_one() {
    let f = flows();
    f.service.account_created(&alice()).await;
    let old_link = f.mail.last_token(MailKind::VerifyEmail);
    // A change is asked for; its link goes to the new address, a notice to the old one.
    {
        let mut users = f.users.0.lock().expect("users");
        users[0].pending_email = Some(email("new@example.com"));
    }
    let moved = f.users.get(&owner().user_id).expect("stored");
    f.service
        .email_changed(&moved, Some(email("alice@example.com")))
        .await;
    let sent = f.mail.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        (sent[1].0, sent[1].1.as_str()),
        (MailKind::VerifyEmail, "new@example.com")
    );
    assert_eq!(
        (sent[2].0, sent[2].1.as_str()),
        (MailKind::EmailChanged, "alice@example.com")
    );
    assert!(matches!(
        f.service.verify_email(VerificationToken(old_link)).await,
        Err(Error::InvalidToken)
    ));
    assert!(
        !f.users
            .get(&owner().user_id)
            .expect("stored")
            .email_verified
    );
    let new_link = f.mail.last_token(MailKind::VerifyEmail);
    let user = f
        .service
        .verify_email(VerificationToken(new_link))
        .await
        .expect("the new address is proven");
    assert_eq!(user.email, Some(email("new@example.com")));
    assert_eq!(user.pending_email, None);
    assert!(user.email_verified);
}

#[tokio::test]
async fn a_reset_link_lives_30_minutes_then_sets_the_password_ends_every_session_and_every_other_secret(
) {
    let mut sessions = MockSessionLifecycle::new();
    sessions
        .expect_revoke_all()
        .withf(|id| *id == owner().user_id)
        .times(1)
        .returning(|_| Ok(()));
    let f = flows_with(sessions, no_second_factor());
    f.service
        .send_password_reset("alice")
        .await
        .expect("queued");
    f.service
        .send_password_reset("ALICE@example.com")
        .await
        .expect("queued");
    let links = f.secrets.all();
    assert_eq!(links.len(), 2);
    assert!(links
        .iter()
        .all(|s| s.purpose == SecretPurpose::PasswordReset
            && s.expires_at == now() + Duration::minutes(30)
            && s.email == Some(email("alice@example.com"))));
    let first = f.mail.sent()[0].2[0]
        .1
        .split("token=")
        .nth(1)
        .expect("token")
        .to_owned();
    let newest = f.mail.last_token(MailKind::PasswordReset);
    assert_ne!(first, newest, "two requests, two links");

    f.clock.advance(Duration::minutes(29));
    f.service
        .reset_password(reset(&newest, "brand-new-lantern-7"))
        .await
        .expect("reset");
    let stored = f.users.get(&owner().user_id).expect("stored");
    assert_eq!(stored.password_hash, "hash:brand-new-lantern-7");
    assert!(stored.email_verified, "the link proved the mailbox");
    // The other link died with the reset.
    assert!(f.secrets.all().is_empty());
    assert!(matches!(
        f.service
            .reset_password(reset(&first, "another-new-lantern-8"))
            .await,
        Err(Error::InvalidToken)
    ));
}

#[tokio::test]
async fn a_reset_link_expires_after_30_minutes() {
    let f = flows();
    f.service
        .send_password_reset("alice")
        .await
        .expect("queued");
    let token = f.mail.last_token(MailKind::PasswordReset);
    f.clock.advance(Duration::minutes(30));
    assert!(matches!(
        f.service
            .reset_password(reset(&token, "brand-new-lantern-7"))
            .await,
        Err(Error::InvalidToken)
    ));
    assert_eq!(
        f.users.get(&owner().user_id).expect("stored").password_hash,
        "$argon2id$stored"
    );
}

#[tokio::test]
async fn a_reset_password_must_not_be_the_account_s_own_name() {
    let f = flows();
    f.service
        .send_password_reset("alice")
        .await
        .expect("queued");
    let token = f.mail.last_token(MailKind::PasswordReset);
    let refused = f
        .service
        .reset_password(reset(&token, "alice@example.com"))
        .await;
    assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
}

#[tokio::test]
async fn unknown_or_deleting_accounts_get_no_mail() {
    let f = flows();
    f.service
        .send_password_reset("nobody")
        .await
        .expect("quiet");
    f.service
        .send_password_reset("nobody@example.com")
        .await
        .expect("quiet");
    f.service
        .send_login_code("nobody@example.com")
        .await
        .expect("quiet");
    f.service
        .send_login_code("not an address")
        .await
        .expect("quiet");
    f.users.0.lock().expect("users")[0].deleting = true;
    f.service.send_password_reset("alice").await.expect("quiet");
    f.service
        .send_login_code("alice@example.com")
        .await
        .expect("quiet");
    assert!(f.mail.sent().is_empty());
    assert!(f.secrets.all().is_empty());
}

#[tokio::test]
async fn a_login_code_lives_10_minutes_survives_4_wrong_tries_and_proves_the_address() {
    let mut sessions = revoking_sessions();
    sessions
        .expect_start()
        .times(1)
        .returning(|id| Ok(tokens_for(id)));
    let f = flows_with(sessions, no_second_factor());
    f.service
        .send_login_code("alice@example.com")
        .await
        .expect("queued");
    let [secret] = &f.secrets.all()[..] else {
        panic!("one code")
    };
    assert_eq!(secret.key, format!("code/{}", owner().user_id));
    assert_eq!(secret.expires_at, now() + Duration::minutes(10));
    assert_eq!(secret.tries_left, 5);
    let code = f.mail.last_value(MailKind::LoginCode, "code");
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        assert!(matches!(
            f.service
                .login_with_code(code_login(wrong), "10.0.0.1")
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    f.clock.advance(Duration::minutes(9));
    match f
        .service
        .login_with_code(code_login(&code), "10.0.0.1")
        .await
        .expect("logged in")
    {
        LoginStep::Done(outcome) => assert!(outcome.user.email_verified),
        LoginStep::SecondFactor(_) => panic!("no second factor here"),
    }
    assert!(
        f.users
            .get(&owner().user_id)
            .expect("stored")
            .email_verified
    );
}

#[tokio::test]
async fn a_login_code_dies_after_5_wrong_tries_and_after_10_minutes() {
    let f = flows();
    f.service
        .send_login_code("alice@example.com")
        .await
        .expect("queued");
    let code = f.mail.last_value(MailKind::LoginCode, "code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let _ = f
            .service
            .login_with_code(code_login(wrong), "10.0.0.1")
            .await;
    }
    assert!(matches!(
        f.service
            .login_with_code(code_login(&code), "10.0.0.1")
            .await,
        Err(Error::InvalidCredentials)
    ));
    f.service
        .send_login_code("alice@example.com")
        .await
        .expect("queued");
    let code = f.mail.last_value(MailKind::LoginCode, "code");
    f.clock.advance(Duration::minutes(10));
    assert!(matches!(
        f.service
            .login_with_code(code_login(&code), "10.0.0.2")
            .await,
        Err(Error::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_login_code_of_an_account_with_totp_leads_to_the_second_step() {
    let mut second_step = MockSecondStep::new();
    second_step
        .expect_after_first_factor()
        .times(1)
        .returning(|_| {
            Ok(Some(PendingSecondFactor {
                mfa_token: "mfa".into(),
                methods: vec!["totp"],
            }))
        });
    // No session starts: MockSessionLifecycle has no expectation. The address is proven
    // already, so the TOTP is the owner's (a first proof would remove it).
    let f = flows_with(MockSessionLifecycle::new(), second_step);
    f.users.0.lock().expect("users")[0].email_verified = true;
    f.service
        .send_login_code("alice@example.com")
        .await
        .expect("queued");
    let code = f.mail.last_value(MailKind::LoginCode, "code");
    assert!(matches!(
        f.service
            .login_with_code(code_login(&code), "10.0.0.1")
            .await,
        Ok(LoginStep::SecondFactor(_))
    ));
}

#[tokio::test]
async fn a_new_code_replaces_the_old_one() {
    let f = flows();
    f.service
        .send_login_code("alice@example.com")
        .await
        .expect("queued");
    let first = f.mail.last_value(MailKind::LoginCode, "code");
    // Until the two codes differ (one in a million they do not).
    let mut second = first.clone();
    while second == first {
        f.service
            .send_login_code("alice@example.com")
            .await
            .expect("queued");
        second = f.mail.last_value(MailKind::LoginCode, "code");
    }
    assert_eq!(f.secrets.all().len(), 1);
    assert!(matches!(
        f.service
            .login_with_code(code_login(&first), "10.0.0.1")
            .await,
        Err(Error::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_verification_request_of_a_verified_address_mails_nothing() {
    let f = flows();
    f.service
        .request_verification(&owner(), "10.0.0.1")
        .await
        .expect("queued");
    assert_eq!(f.mail.sent().len(), 1);
    f.users.0.lock().expect("users")[0].email_verified = true;
    f.service
        .request_verification(&owner(), "10.0.0.1")
        .await
        .expect("nothing to do");
    assert_eq!(f.mail.sent().len(), 1);
}

/// Alice's factors as someone who registered with her address before she proved it left
/// them: TOTP on, recovery codes, a passkey.
async fn plant_factors(f: &Flows) {
    let factors = SecondFactors {
        totp: Some(TotpFactor {
            secret: crate::mfa::TotpSecret::new(vec![7; 20]),
            confirmed: true,
            last_used_step: 0,
            created_at: now(),
        }),
        recovery_codes: vec![crate::crypto::SecretDigest("code".into())],
        passkeys: vec![StoredPasskey {
            id: Id::generate(9),
            credential_id: "attacker-key".into(),
            credential: "{}".into(),
            name: "attacker".into(),
            created_at: now(),
            last_used_at: None,
        }],
        ..SecondFactors::none(owner().user_id)
    };
    assert!(f.factors.put_factors(&factors, 0).await.expect("stored"));
}

/// Sessions that must be revoked exactly once, for alice.
fn sessions_revoked_once() -> MockSessionLifecycle {
    let mut sessions = MockSessionLifecycle::new();
    sessions
        .expect_revoke_all()
        .withf(|id| *id == owner().user_id)
        .times(1)
        .returning(|_| Ok(()));
    sessions
}

/// §12, account pre-hijacking: the first proof of the mailbox, by a verification link, ends
/// every session and removes every factor added before; the owner is told.
#[tokio::test]
async fn a_first_verification_ends_the_sessions_and_removes_the_factors_added_before() {
    let f = flows_with(sessions_revoked_once(), no_second_factor());
    plant_factors(&f).await;
    f.service.account_created(&alice()).await;
    let token = f.mail.last_token(MailKind::VerifyEmail);
    f.service
        .verify_email(VerificationToken(token))
        .await
        .expect("verified");
    assert_eq!(f.factors.of(&owner().user_id), None, "every factor removed");
    let told = f.mail.sent();
    assert_eq!(
        (
            told.last().expect("a notice").0,
            told.last().expect("a notice").1.as_str()
        ),
        (MailKind::AccountSecured, "alice@example.com")
    );
}

/// The same through a reset link, whose sessions end anyway: the factors go, once.
#[tokio::test]
async fn a_reset_that_first_proves_the_address_removes_the_factors_added_before() {
    let f = flows_with(sessions_revoked_once(), no_second_factor());
    plant_factors(&f).await;
    f.service
        .send_password_reset("alice")
        .await
        .expect("queued");
    let token = f.mail.last_token(MailKind::PasswordReset);
    f.service
        .reset_password(reset(&token, "brand-new-lantern-7"))
        .await
        .expect("reset");
    assert_eq!(f.factors.of(&owner().user_id), None);
    assert_eq!(
        f.mail.sent().last().expect("a notice").0,
        MailKind::AccountSecured
    );
}

/// The same through a login code: the factors go before the second step is asked, so the
/// login the owner just proved is not stopped by someone else's TOTP.
#[tokio::test]
async fn a_code_login_that_first_proves_the_address_removes_the_factors_before_the_second_step() {
    let mut sessions = sessions_revoked_once();
    sessions
        .expect_start()
        .times(1)
        .returning(|id| Ok(tokens_for(id)));
    let f = flows_with(sessions, no_second_factor());
    plant_factors(&f).await;
    f.service
        .send_login_code("alice@example.com")
        .await
        .expect("queued");
    let code = f.mail.last_value(MailKind::LoginCode, "code");
    assert!(matches!(
        f.service
            .login_with_code(code_login(&code), "10.0.0.1")
            .await
            .expect("logged in"),
        LoginStep::Done(_)
    ));
    assert_eq!(f.factors.of(&owner().user_id), None);
}

/// An address proven already is the owner's: a reset of it keeps the factors.
#[tokio::test]
async fn a_reset_of_a_verified_address_keeps_the_factors() {
    let f = flows_with(sessions_revoked_once(), no_second_factor());
    {
        let mut users = f.users.0.lock().expect("users");
        users[0].email_verified = true;
    }
    plant_factors(&f).await;
    f.service
        .send_password_reset("alice")
        .await
        .expect("queued");
    let token = f.mail.last_token(MailKind::PasswordReset);
    f.service
        .reset_password(reset(&token, "brand-new-lantern-7"))
        .await
        .expect("reset");
    assert!(f.factors.of(&owner().user_id).is_some());
    assert_ne!(
        f.mail.sent().last().expect("mail").0,
        MailKind::AccountSecured
    );
}

/// Proving the address an owner asked for moves the account; it is no first proof of the
/// account's mailbox, so the owner's factors and sessions stay (even when the old address was
/// never proven: the owner fixing a typo).
#[tokio::test]
async fn proving_a_pending_address_keeps_the_factors_and_sessions() {
    let mut sessions = MockSessionLifecycle::new();
    sessions.expect_revoke_all().never();
    let f = flows_with(sessions, no_second_factor());
    plant_factors(&f).await;
    let mut asked = alice();
    asked.pending_email = Some(email("fixed@example.com"));
    *f.users.0.lock().expect("users") = vec![asked.clone()];
    f.service.email_changed(&asked, asked.email.clone()).await;
    let proof = f.mail.last_token(MailKind::VerifyEmail);
    f.service
        .verify_email(VerificationToken(proof))
        .await
        .expect("proven");
    assert!(f.factors.of(&owner().user_id).is_some());
    assert!(f
        .mail
        .sent()
        .iter()
        .all(|(kind, _, _)| *kind != MailKind::AccountSecured));
}

/// §12, what a change ends: a password change or an email change ends every reset link,
/// verification link and login code outstanding (an old code even worked with the new
/// address).
#[tokio::test]
async fn a_password_or_email_change_ends_every_outstanding_link_and_code() {
    for change in ["password", "email"] {
        let f = flows();
        f.service.account_created(&alice()).await;
        f.service
            .send_password_reset("alice")
            .await
            .expect("queued");
        f.service
            .send_login_code("alice@example.com")
            .await
            .expect("queued");
        assert_eq!(f.secrets.all().len(), 3);
        let verification = f.mail.last_token(MailKind::VerifyEmail);
        let reset_token = f.mail.last_token(MailKind::PasswordReset);
        let code = f.mail.last_value(MailKind::LoginCode, "code");
        let address = if change == "password" {
            f.service.password_changed(&alice()).await.expect("ended");
            "alice@example.com"
        } else {
            // Asked for: the old address stays the account's, yet its links and code end.
            let mut moved = alice();
            moved.pending_email = Some(email("new@example.com"));
            *f.users.0.lock().expect("users") = vec![moved.clone()];
            f.service
                .email_changed(&moved, Some(email("alice@example.com")))
                .await;
            "alice@example.com"
        };
        assert!(
            matches!(
                f.service
                    .reset_password(reset(&reset_token, "brand-new-lantern-7"))
                    .await,
                Err(Error::InvalidToken)
            ),
            "{change}: the reset link ended"
        );
        assert!(
            matches!(
                f.service
                    .verify_email(VerificationToken(verification))
                    .await,
                Err(Error::InvalidToken)
            ),
            "{change}: the verification link ended"
        );
        let login = CodeLoginForm {
            email: Some(address.into()),
            code: Some(code),
        }
        .parse()
        .expect("complete");
        assert!(
            matches!(
                f.service.login_with_code(login, "10.0.0.1").await,
                Err(Error::InvalidCredentials)
            ),
            "{change}: the code ended"
        );
    }
}

/// The notice to the old address shows the new one masked: a local part such as
/// `https://evil.example/x` would be a link in a genuine message (issue 31).
#[tokio::test]
async fn the_email_change_notice_shows_the_new_address_masked() {
    let f = flows();
    let mut moved = alice();
    moved.pending_email = Some(email("https://evil.example/x@evil.example"));
    f.service
        .email_changed(&moved, Some(email("alice@example.com")))
        .await;
    let shown = f.mail.last_value(MailKind::EmailChanged, "email");
    assert_eq!(shown, "h…@evil.example");
    assert!(!shown.contains("https://"), "{shown}");
}

/// §12: until the new address is proven the old one is the account's (a reset goes to it);
/// once it is proven, what was mailed to the old address ends.
#[tokio::test]
async fn proving_a_pending_address_moves_the_account_and_ends_the_old_links() {
    let f = flows();
    let mut asked = alice();
    asked.pending_email = Some(email("new@example.com"));
    *f.users.0.lock().expect("users") = vec![asked.clone()];
    f.service
        .email_changed(&asked, Some(email("alice@example.com")))
        .await;
    let proof = f.mail.last_token(MailKind::VerifyEmail);
    f.service
        .send_password_reset("alice")
        .await
        .expect("queued");
    let sent = f.mail.sent();
    let last = sent.last().expect("the reset");
    assert_eq!(
        (last.0, last.1.as_str()),
        (MailKind::PasswordReset, "alice@example.com")
    );
    let reset_token = f.mail.last_token(MailKind::PasswordReset);
    let moved = f
        .service
        .verify_email(VerificationToken(proof))
        .await
        .expect("proven");
    assert_eq!(moved.email, Some(email("new@example.com")));
    assert!(matches!(
        f.service
            .reset_password(reset(&reset_token, "brand-new-lantern-7"))
            .await,
        Err(Error::InvalidToken)
    ));
}
