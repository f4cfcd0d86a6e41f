//! The second factor's use cases (§9): TOTP enrolment, confirmation and removal, recovery
//! codes, and the login step that follows a right password when TOTP is on.
//!
//! The `mfa_token` a right password earns is a one-time secret (5 minutes, 5 wrong codes,
//! single use). A TOTP step and a recovery code are spent by a compare-and-set on the
//! account's factors, so two racing presentations of one code cannot both log in. While TOTP
//! is on, a right password does not clear the account's failed attempts: only the second
//! factor does, so the login throttle bounds code guesses however many tokens are asked for.

use std::sync::Arc;

use chrono::Duration;

use super::{AccountService, LoginOutcome, USER_WRITE_ATTEMPTS};
use crate::accounts::model::User;
use crate::crypto::{SecretDigest, SecretGenerator};
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;
use crate::mfa::{
    check_code, otpauth_uri, MfaSummary, OtpGenerator, PasskeyCeremonies, SecondFactorRepository,
    SecondFactors, TotpCheck, TotpFactor, RECOVERY_CODE_COUNT,
};
use crate::one_time::{OneTimeSecret, OneTimeSecretRepository, SecretPurpose, UseOutcome};
use crate::sessions::Principal;

/// How long an `mfa_token` lives.
pub const MFA_TOKEN_LIFETIME_SECS: i64 = 5 * 60;
/// Wrong codes an `mfa_token` survives.
pub const MFA_TOKEN_TRIES: u32 = 5;
/// The methods a password login's second step accepts.
pub const SECOND_FACTOR_METHODS: [&str; 2] = ["totp", "recovery_code"];

/// The ports the second factor needs.
#[derive(Clone)]
pub struct MfaPorts {
    /// Each account's factors.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// TOTP arithmetic and recovery codes.
    pub otp: Arc<dyn OtpGenerator>,
    /// `mfa_token`s.
    pub one_time: Arc<dyn OneTimeSecretRepository>,
    /// Token secrets and digests.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The issuer name authenticator apps show (`auth.issuer`).
    pub issuer: String,
    /// Passkey ceremonies.
    pub ceremonies: Arc<dyn PasskeyCeremonies>,
}

/// What a right first factor leads to.
#[derive(Debug, Clone)]
pub enum LoginStep {
    /// Logged in.
    Done(Box<LoginOutcome>),
    /// TOTP is on: the second step is still to come.
    SecondFactor(PendingSecondFactor),
}

/// A login waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSecondFactor {
    /// The `mfa_token` (shown once; only its digest is stored).
    pub mfa_token: String,
    /// What `POST /login/mfa` accepts.
    pub methods: Vec<&'static str>,
}

/// A TOTP enrolment under way: what the authenticator app needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The shared secret, base32.
    pub secret: String,
    /// The `otpauth://` URI (a QR code of it is what apps scan).
    pub otpauth_uri: String,
}

/// The second step of a login: `POST /login/mfa`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorAnswer {
    /// The token the password step gave.
    pub mfa_token: String,
    /// A TOTP code, or a recovery code.
    pub proof: SecondFactorProof,
}

/// What proves the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactorProof {
    /// A 6-digit TOTP code.
    Totp(String),
    /// One of the account's recovery codes.
    RecoveryCode(String),
}

/// A recovery code as compared: lower case, without separators or spaces.
fn normalised_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl AccountService {
    /// Enables the second factor's use cases.
    #[must_use]
    pub fn with_mfa(mut self, ports: MfaPorts) -> Self {
        self.mfa = Some(ports);
        self
    }

    pub(super) fn mfa_ports(&self) -> Result<&MfaPorts> {
        self.mfa
            .as_ref()
            .ok_or_else(|| Error::Internal("the second factor is not wired".into()))
    }

    /// The account's factors (none stored: none).
    pub(super) async fn factors_of(&self, ports: &MfaPorts, user_id: &Id) -> Result<SecondFactors> {
        Ok(ports
            .factors
            .find_factors(user_id)
            .await?
            .unwrap_or_else(|| SecondFactors::none(user_id.clone())))
    }

    /// Changes the account's factors by compare-and-set, retrying a lost race; `change`
    /// returns what the caller gets, or refuses.
    pub(super) async fn change_factors<T>(
        &self,
        user_id: &Id,
        change: impl Fn(&mut SecondFactors) -> Result<T>,
    ) -> Result<T> {
        let ports = self.mfa_ports()?;
        for _ in 0..USER_WRITE_ATTEMPTS {
            let mut factors = self.factors_of(ports, user_id).await?;
            let read = factors.revision;
            let answer = change(&mut factors)?;
            factors.revision = read + 1;
            if ports.factors.put_factors(&factors, read).await? {
                return Ok(answer);
            }
        }
        Err(Error::Conflict(ConflictKind::Other(
            "a concurrent change to this account's second factors".into(),
        )))
    }

    /// A profile's `mfa` member.
    pub async fn mfa_summary(&self, user_id: &Id) -> Result<MfaSummary> {
        match &self.mfa {
            Some(ports) => Ok(self.factors_of(ports, user_id).await?.summary()),
            None => Ok(MfaSummary::default()),
        }
    }

    /// Stores a new one-time secret of `purpose` for `owner` under the digest of a fresh
    /// 256-bit token, and returns the token (shown once): `mfa_token`s and passkey challenges.
    pub(super) async fn issue_one_time(
        &self,
        purpose: SecretPurpose,
        owner: Id,
        lifetime_secs: i64,
        tries: u32,
        payload: Option<String>,
    ) -> Result<String> {
        let ports = self.mfa_ports()?;
        let token = ports.secrets.new_secret()?;
        let digest = ports.secrets.digest(&token);
        ports
            .one_time
            .put_secret(&OneTimeSecret {
                key: digest.as_str().to_owned(),
                purpose,
                user_id: owner,
                email: None,
                digest,
                expires_at: self.clock.now() + Duration::seconds(lifetime_secs),
                tries_left: tries,
                payload,
            })
            .await?;
        Ok(token)
    }

    /// After a right first factor: tokens, or (TOTP on) an `mfa_token` for the second step.
    /// `clear_attempt` is called only when no second step follows.
    pub(super) async fn after_first_factor(
        &self,
        user: User,
        clear_attempt: impl FnOnce(),
    ) -> Result<LoginStep> {
        if let Some(ports) = &self.mfa {
            if self.factors_of(ports, &user.id).await?.totp_on() {
                let mfa_token = self
                    .issue_one_time(
                        SecretPurpose::SecondFactor,
                        user.id.clone(),
                        MFA_TOKEN_LIFETIME_SECS,
                        MFA_TOKEN_TRIES,
                        None,
                    )
                    .await?;
                return Ok(LoginStep::SecondFactor(PendingSecondFactor {
                    mfa_token,
                    methods: SECOND_FACTOR_METHODS.to_vec(),
                }));
            }
        }
        clear_attempt();
        let tokens = self.sessions.start(&user.id).await?;
        Ok(LoginStep::Done(Box::new(LoginOutcome { user, tokens })))
    }

    /// `POST /mfa/totp`: a new secret waiting for its first code. A waiting one is replaced;
    /// TOTP already on is `409 conflict` (turn it off first).
    pub async fn enrol_totp(&self, principal: &Principal) -> Result<TotpEnrolment> {
        let ports = self.mfa_ports()?;
        let user = self.profile(principal).await?;
        let secret = ports.otp.new_totp_secret()?;
        let now = self.clock.now();
        self.change_factors(&user.id, |factors| {
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
            otpauth_uri: otpauth_uri(&ports.issuer, user.handle(), &base32),
            secret: base32,
        })
    }

    /// `POST /mfa/totp/confirm`: the first code turns TOTP on and makes the recovery codes
    /// (returned once). Every other session ends: each live session has now passed the
    /// factor. A wrong code is `401 invalid_credentials`, counted like a wrong password.
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
        client_address: &str,
    ) -> Result<Vec<String>> {
        let ports = self.mfa_ports()?;
        let user = self.profile(principal).await?;
        let attempt = self.throttle.begin_attempt(
            &format!("user:{}", user.id),
            client_address,
            self.clock.now(),
        )?;
        let (codes, digests) = self.new_codes(ports)?;
        let now = self.clock.now();
        self.change_factors(&user.id, |factors| {
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
            match check_code(&*ports.otp, totp, code, now) {
                TotpCheck::Fresh(step) => {
                    totp.confirmed = true;
                    totp.last_used_step = step;
                    factors.recovery_codes.clone_from(&digests);
                    Ok(())
                }
                TotpCheck::Replayed | TotpCheck::Wrong => Err(Error::InvalidCredentials),
            }
        })
        .await?;
        self.throttle.succeeded(attempt);
        self.sessions.revoke_others(principal).await?;
        Ok(codes)
    }

    /// `DELETE /mfa/totp`: turns TOTP off (and voids the recovery codes) after checking the
    /// password.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        password: &str,
        client_address: &str,
    ) -> Result<()> {
        let user = self.profile(principal).await?;
        self.verify_own_password(&user, password, client_address)
            .await?;
        self.change_factors(&user.id, |factors| {
            if factors.totp.is_none() {
                return Err(Error::Conflict(ConflictKind::Other(
                    "TOTP is not on".into(),
                )));
            }
            factors.totp = None;
            factors.recovery_codes.clear();
            Ok(())
        })
        .await
    }

    /// `POST /mfa/recovery_codes`: a new set (returned once) after checking the password;
    /// the old set is void.
    pub async fn new_recovery_codes(
        &self,
        principal: &Principal,
        password: &str,
        client_address: &str,
    ) -> Result<Vec<String>> {
        let ports = self.mfa_ports()?;
        let user = self.profile(principal).await?;
        self.verify_own_password(&user, password, client_address)
            .await?;
        let (codes, digests) = self.new_codes(ports)?;
        self.change_factors(&user.id, |factors| {
            if !factors.totp_on() {
                return Err(Error::Conflict(ConflictKind::Other(
                    "TOTP is not on; recovery codes come with it".into(),
                )));
            }
            factors.recovery_codes.clone_from(&digests);
            Ok(())
        })
        .await?;
        Ok(codes)
    }

    /// A new set of recovery codes (shown once), and the digests they are stored as.
    fn new_codes(&self, ports: &MfaPorts) -> Result<(Vec<String>, Vec<SecretDigest>)> {
        let codes = (0..RECOVERY_CODE_COUNT)
            .map(|_| ports.otp.new_recovery_code())
            .collect::<Result<Vec<_>>>()?;
        let digests = codes
            .iter()
            .map(|c| ports.secrets.digest(&normalised_recovery_code(c)))
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
        let ports = self.mfa_ports()?;
        let now = self.clock.now();
        let key = ports.secrets.digest(&answer.mfa_token);
        let Some(pending) = ports
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
        let attempt =
            self.throttle
                .begin_attempt(&format!("user:{}", user.id), client_address, now)?;
        let proven = match &answer.proof {
            SecondFactorProof::Totp(code) => {
                self.change_factors(&user.id, |factors| {
                    let Some(totp) = factors.totp.as_mut().filter(|t| t.confirmed) else {
                        return Err(Error::InvalidCredentials);
                    };
                    match check_code(&*ports.otp, totp, code, now) {
                        TotpCheck::Fresh(step) => {
                            totp.last_used_step = step;
                            Ok(())
                        }
                        TotpCheck::Replayed | TotpCheck::Wrong => Err(Error::InvalidCredentials),
                    }
                })
                .await
            }
            SecondFactorProof::RecoveryCode(code) => {
                let presented = normalised_recovery_code(code);
                self.change_factors(&user.id, |factors| {
                    if !factors.totp_on() {
                        return Err(Error::InvalidCredentials);
                    }
                    // Every stored digest is compared, in constant time each.
                    let mut found = None;
                    for (i, digest) in factors.recovery_codes.iter().enumerate() {
                        if ports.secrets.matches(&presented, digest) && found.is_none() {
                            found = Some(i);
                        }
                    }
                    let i = found.ok_or(Error::InvalidCredentials)?;
                    factors.recovery_codes.remove(i);
                    Ok(())
                })
                .await
            }
        };
        match proven {
            Ok(()) => {}
            Err(Error::InvalidCredentials) => {
                let wrong = SecretDigest(String::new());
                ports
                    .one_time
                    .use_secret(key.as_str(), SecretPurpose::SecondFactor, &wrong, now)
                    .await?;
                return Err(Error::InvalidCredentials);
            }
            Err(other) => return Err(other),
        }
        match ports
            .one_time
            .use_secret(key.as_str(), SecretPurpose::SecondFactor, &key, now)
            .await?
        {
            UseOutcome::Used(_) => {}
            UseOutcome::Wrong | UseOutcome::Unknown => return Err(Error::InvalidToken),
        }
        self.throttle.succeeded(attempt);
        let tokens = self.sessions.start(&user.id).await?;
        Ok(LoginOutcome { user, tokens })
    }
}
