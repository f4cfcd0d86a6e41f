//! The second factor's use cases (§9): TOTP enrolment, confirmation and removal, recovery
//! codes, and the login step that follows a right password when TOTP is on.
//!
//! The `mfa_token` a right password earns is a one-time secret (5 minutes, 5 wrong codes,
//! single use). A TOTP step and a recovery code are spent by a compare-and-set on the
//! account's factors, so two racing presentations of one code cannot both log in. While TOTP
//! is on, a right password does not clear the account's failed attempts: only the second
//! factor does, so the login throttle bounds code guesses however many tokens are asked for.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;

use super::factor_store::FactorStore;
use super::forms::{PasswordConfirmation, SecondFactorAnswer, SecondFactorProof, TotpCode};
use super::model::{MfaSummary, TotpFactor, RECOVERY_CODE_COUNT};
use super::ports::{OtpGenerator, SecondFactorRepository};
use super::totp::{check_code, otpauth_uri, TotpCheck};
use crate::accounts::{
    LoginOutcome, LoginThrottle, PendingSecondFactor, Reauthentication, SecondStep, User,
    UserRepository,
};
use crate::audit::{Action, Actor, AuditTrail};
use crate::clock::Clock;
use crate::crypto::{SecretDigest, SecretGenerator};
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;
use crate::one_time::{
    NewTokenSecret, OneTimeSecretRepository, SecretPurpose, TokenSecrets, UseOutcome,
};
use crate::sessions::{Principal, SessionLifecycle};

/// How long an `mfa_token` lives.
pub const MFA_TOKEN_LIFETIME_SECS: i64 = 5 * 60;
/// Wrong codes an `mfa_token` survives.
pub const MFA_TOKEN_TRIES: u32 = 5;
/// The methods a password login's second step accepts.
pub const SECOND_FACTOR_METHODS: [&str; 2] = ["totp", "recovery_code"];

/// What the second factor is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaSettings {
    /// The issuer name authenticator apps show beside the account (`auth.issuer`, which
    /// also names the tokens' issuer).
    pub issuer: String,
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            issuer: "keygate".to_owned(),
        }
    }
}

/// What the second factor's use cases need.
#[derive(Clone)]
pub struct SecondFactorPorts {
    /// Each account's factors.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// TOTP arithmetic and recovery codes.
    pub otp: Arc<dyn OtpGenerator>,
    /// The accounts (the second step finds its account by the token's owner).
    pub users: Arc<dyn UserRepository>,
    /// The caller's account and its password, checked again.
    pub accounts: Arc<dyn Reauthentication>,
    /// Starts and ends sessions.
    pub sessions: Arc<dyn SessionLifecycle>,
    /// `mfa_token`s.
    pub one_time: Arc<dyn OneTimeSecretRepository>,
    /// Token secrets and digests.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Where security events are recorded (§13).
    pub audit: Arc<AuditTrail>,
}

/// A TOTP enrolment under way: what the authenticator app needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The shared secret, base32.
    pub secret: String,
    /// The `otpauth://` URI (a QR code of it is what apps scan).
    pub otpauth_uri: String,
}

/// A recovery code as compared: lower case, without separators or spaces.
fn normalised_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// TOTP and recovery codes.
pub struct SecondFactorService {
    factors: FactorStore,
    otp: Arc<dyn OtpGenerator>,
    users: Arc<dyn UserRepository>,
    accounts: Arc<dyn Reauthentication>,
    sessions: Arc<dyn SessionLifecycle>,
    one_time: Arc<dyn OneTimeSecretRepository>,
    tokens: TokenSecrets,
    secrets: Arc<dyn SecretGenerator>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditTrail>,
    throttle: Arc<LoginThrottle>,
    settings: MfaSettings,
}

impl SecondFactorService {
    /// Wires the service; failures count in `throttle`, the login's own.
    pub fn new(
        ports: SecondFactorPorts,
        throttle: Arc<LoginThrottle>,
        settings: MfaSettings,
    ) -> Self {
        Self {
            factors: FactorStore::new(ports.factors),
            otp: ports.otp,
            users: ports.users,
            accounts: ports.accounts,
            sessions: ports.sessions,
            tokens: TokenSecrets::new(
                ports.one_time.clone(),
                ports.secrets.clone(),
                ports.clock.clone(),
            ),
            one_time: ports.one_time,
            secrets: ports.secrets,
            clock: ports.clock,
            audit: ports.audit,
            throttle,
            settings,
        }
    }

    /// A profile's `mfa` member.
    pub async fn summary(&self, user_id: &Id) -> Result<MfaSummary> {
        Ok(self.factors.of(user_id).await?.summary())
    }

    /// `POST /mfa/totp`, after a fresh proof (§12): a new secret waiting for its first code.
    /// A waiting one is replaced; TOTP already on is `409 conflict` (turn it off first).
    pub async fn enrol_totp(
        &self,
        principal: &Principal,
        password: PasswordConfirmation,
        client_address: &str,
    ) -> Result<TotpEnrolment> {
        let user = self
            .accounts
            .fresh_proof(principal, password.password(), client_address)
            .await?;
        let secret = self.otp.new_totp_secret()?;
        let now = self.clock.now();
        self.factors
            .change(&user.id, |factors| {
                if factors.totp_on() {
                    return Err(Error::Conflict(ConflictKind::Other(
                        "TOTP is already on; DELETE /mfa/totp first".into(),
                    )));
                }
                factors.totp = Some(TotpFactor {
                    secret: secret.clone(),
                    confirmed: false,
                    last_used_step: 0,
                    created_at: now,
                });
                Ok(())
            })
            .await?;
        let base32 = secret.base32();
        Ok(TotpEnrolment {
            otpauth_uri: otpauth_uri(&self.settings.issuer, user.handle(), &base32),
            secret: base32,
        })
    }

    /// `POST /mfa/totp/confirm`: the first code turns TOTP on and makes the recovery codes
    /// (returned once). Every other session ends: each live session has now passed the
    /// factor. A wrong code is `401 invalid_credentials`, counted like a wrong password.
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: TotpCode,
        client_address: &str,
    ) -> Result<Vec<String>> {
        let user = self.accounts.account(principal).await?;
        let attempt = self
            .throttle
            .begin_attempt(
                &format!("user:{}", user.id),
                client_address,
                self.clock.now(),
            )
            .await?;
        let (codes, digests) = self.new_codes()?;
        let now = self.clock.now();
        let enabled = self
            .audit
            .event(Action::TotpEnabled, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id);
        let change = self.factors.change(&user.id, |factors| {
            let Some(totp) = factors.totp.as_mut() else {
                return Err(Error::Conflict(ConflictKind::Other(
                    "no TOTP enrolment is waiting; POST /mfa/totp first".into(),
                )));
            };
            if totp.confirmed {
                return Err(Error::Conflict(ConflictKind::Other(
                    "TOTP is already on".into(),
                )));
            }
            match check_code(&*self.otp, totp, &code.0, now) {
                TotpCheck::Fresh(step) => {
                    totp.confirmed = true;
                    totp.last_used_step = step;
                    factors.recovery_codes.clone_from(&digests);
                    Ok(())
                }
                TotpCheck::Replayed | TotpCheck::Wrong => Err(Error::InvalidCredentials),
            }
        });
        match self.audit.around(enabled, change).await {
            Err(Error::InvalidCredentials) => {
                self.audit
                    .refused_login(Action::MfaFailed, &user.id, "totp_confirmation")
                    .await?;
                return Err(Error::InvalidCredentials);
            }
            other => other?,
        }
        self.throttle.succeeded(attempt).await;
        self.sessions.revoke_others(principal).await?;
        Ok(codes)
    }

    /// `DELETE /mfa/totp`: turns TOTP off (and voids the recovery codes) after a fresh proof
    /// (§12: the password, or a recent login).
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        password: PasswordConfirmation,
        client_address: &str,
    ) -> Result<()> {
        let user = self
            .accounts
            .fresh_proof(principal, password.password(), client_address)
            .await?;
        let event = self
            .audit
            .event(Action::TotpDisabled, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id);
        let change = self.factors.change(&user.id, |factors| {
            if factors.totp.is_none() {
                return Err(Error::Conflict(ConflictKind::Other(
                    "TOTP is not on".into(),
                )));
            }
            factors.totp = None;
            factors.recovery_codes.clear();
            Ok(())
        });
        self.audit.around(event, change).await
    }

    /// `POST /mfa/recovery_codes`: a new set (returned once) after a fresh proof (§12); the
    /// old set is void.
    pub async fn new_recovery_codes(
        &self,
        principal: &Principal,
        password: PasswordConfirmation,
        client_address: &str,
    ) -> Result<Vec<String>> {
        let user = self
            .accounts
            .fresh_proof(principal, password.password(), client_address)
            .await?;
        let (codes, digests) = self.new_codes()?;
        let event = self
            .audit
            .event(Action::RecoveryCodesCreated, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id);
        let change = self.factors.change(&user.id, |factors| {
            if !factors.totp_on() {
                return Err(Error::Conflict(ConflictKind::Other(
                    "TOTP is not on; recovery codes come with it".into(),
                )));
            }
            factors.recovery_codes.clone_from(&digests);
            Ok(())
        });
        self.audit.around(event, change).await?;
        Ok(codes)
    }

    /// A new set of recovery codes (shown once), and the digests they are stored as.
    fn new_codes(&self) -> Result<(Vec<String>, Vec<SecretDigest>)> {
        let codes = (0..RECOVERY_CODE_COUNT)
            .map(|_| self.otp.new_recovery_code())
            .collect::<Result<Vec<_>>>()?;
        let digests = codes
            .iter()
            .map(|c| self.secrets.digest(&normalised_recovery_code(c)))
            .collect();
        Ok((codes, digests))
    }

    /// `POST /login/mfa`: the second step. An unknown, used or expired token is
    /// `400 invalid_token`; a wrong, replayed or spent code is `401 invalid_credentials`,
    /// takes one of the token's tries and counts against the login throttle.
    pub async fn login_second_factor(
        &self,
        answer: SecondFactorAnswer,
        client_address: &str,
    ) -> Result<LoginOutcome> {
        let now = self.clock.now();
        let key = self.secrets.digest(&answer.mfa_token);
        let Some(pending) = self
            .one_time
            .find_secret(key.as_str(), SecretPurpose::SecondFactor, now)
            .await?
        else {
            return Err(Error::InvalidToken);
        };
        let user = self
            .users
            .find_by_id(&pending.user_id)
            .await?
            .filter(|u| !u.deleting)
            .ok_or(Error::InvalidToken)?;
        let attempt = self
            .throttle
            .begin_attempt(&format!("user:{}", user.id), client_address, now)
            .await?;
        match self.prove(&user, &answer.proof).await {
            Ok(()) => {}
            Err(Error::InvalidCredentials) => {
                let wrong = SecretDigest(String::new());
                self.one_time
                    .use_secret(key.as_str(), SecretPurpose::SecondFactor, &wrong, now)
                    .await?;
                self.audit
                    .refused_login(Action::MfaFailed, &user.id, answer.proof.kind())
                    .await?;
                return Err(Error::InvalidCredentials);
            }
            Err(other) => return Err(other),
        }
        match self
            .one_time
            .use_secret(key.as_str(), SecretPurpose::SecondFactor, &key, now)
            .await?
        {
            UseOutcome::Used(_) => {}
            UseOutcome::Wrong | UseOutcome::Unknown => return Err(Error::InvalidToken),
        }
        self.throttle.succeeded(attempt).await;
        if let SecondFactorProof::RecoveryCode(_) = &answer.proof {
            self.audit
                .record(
                    self.audit
                        .event(Action::RecoveryCodeUsed, Actor::user(&user.id))
                        .account(&user.id)
                        .target("user", &user.id),
                )
                .await?;
        }
        let event = self
            .audit
            .event(Action::LoginSucceeded, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id)
            .detail("method", answer.proof.kind());
        let tokens = self
            .audit
            .around(event, self.sessions.start(&user.id))
            .await?;
        Ok(LoginOutcome { user, tokens })
    }

    /// Spends `proof` against `user`'s factors: a fresh TOTP step, or one recovery code.
    async fn prove(&self, user: &User, proof: &SecondFactorProof) -> Result<()> {
        let now = self.clock.now();
        match proof {
            SecondFactorProof::Totp(code) => {
                self.factors
                    .change(&user.id, |factors| {
                        let Some(totp) = factors.totp.as_mut().filter(|t| t.confirmed) else {
                            return Err(Error::InvalidCredentials);
                        };
                        match check_code(&*self.otp, totp, code, now) {
                            TotpCheck::Fresh(step) => {
                                totp.last_used_step = step;
                                Ok(())
                            }
                            TotpCheck::Replayed | TotpCheck::Wrong => {
                                Err(Error::InvalidCredentials)
                            }
                        }
                    })
                    .await
            }
            SecondFactorProof::RecoveryCode(code) => {
                let presented = normalised_recovery_code(code);
                self.factors
                    .change(&user.id, |factors| {
                        if !factors.totp_on() {
                            return Err(Error::InvalidCredentials);
                        }
                        // Every stored digest is compared, in constant time each.
                        let mut found = None;
                        for (i, digest) in factors.recovery_codes.iter().enumerate() {
                            if self.secrets.matches(&presented, digest) && found.is_none() {
                                found = Some(i);
                            }
                        }
                        let i = found.ok_or(Error::InvalidCredentials)?;
                        factors.recovery_codes.remove(i);
                        Ok(())
                    })
                    .await
            }
        }
    }
}

#[async_trait]
impl SecondStep for SecondFactorService {
    /// With TOTP on: an `mfa_token` for the second step.
    async fn after_first_factor(&self, user: &User) -> Result<Option<PendingSecondFactor>> {
        if !self.factors.of(&user.id).await?.totp_on() {
            return Ok(None);
        }
        let mfa_token = self
            .tokens
            .issue(NewTokenSecret {
                purpose: SecretPurpose::SecondFactor,
                user_id: user.id.clone(),
                email: None,
                lifetime: Duration::seconds(MFA_TOKEN_LIFETIME_SECS),
                tries: MFA_TOKEN_TRIES,
                payload: None,
            })
            .await?;
        Ok(Some(PendingSecondFactor {
            mfa_token,
            methods: SECOND_FACTOR_METHODS.to_vec(),
        }))
    }
}

#[cfg(test)]
mod tests;
