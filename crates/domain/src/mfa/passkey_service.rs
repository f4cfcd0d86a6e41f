//! Passkeys (§9): registration, listing, deletion, and usernameless login. A ceremony's
//! state waits in the one-time secret store under the digest of its `challenge_id` (5
//! minutes, single use), so a ceremony started on one instance finishes on another, and a
//! challenge answered once is gone whatever the answer was. A passkey login needs no password
//! and no second factor: the authenticator verified its user.

use std::sync::Arc;

use chrono::Duration;
use serde_json::Value;

use super::factor_store::FactorStore;
use super::forms::{PasskeyAnswer, PasskeyRegistration, PasswordConfirmation};
use super::model::{StoredPasskey, MAX_PASSKEYS};
use super::passkeys::{PasskeyCeremonies, PasskeyUser};
use super::ports::SecondFactorRepository;
use crate::accounts::{LoginOutcome, LoginThrottle, Reauthentication, UserRepository, Username};
use crate::audit::{Action, Actor, AuditTrail};
use crate::clock::Clock;
use crate::crypto::SecretGenerator;
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;
use crate::one_time::{
    NewTokenSecret, OneTimeSecretRepository, SecretPurpose, TokenSecrets, UseOutcome,
};
use crate::sessions::{Principal, SessionLifecycle};

/// How long a passkey ceremony may take.
pub const CEREMONY_LIFETIME_SECS: i64 = 5 * 60;

/// The owner a usernameless login ceremony is kept under: it has no account yet.
const NOBODY: &str = "000000000000000000000000";

/// Half a ceremony as the browser gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyChallenge {
    /// Names the ceremony in its second half.
    pub challenge_id: String,
    /// The `publicKey` options.
    pub options: Value,
}

/// What the passkey use cases need.
#[derive(Clone)]
pub struct PasskeyPorts {
    /// The WebAuthn relying party.
    pub ceremonies: Arc<dyn PasskeyCeremonies>,
    /// Each account's factors, passkeys among them.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// The accounts (a login finds its account by the passkey's user handle).
    pub users: Arc<dyn UserRepository>,
    /// The caller's account.
    pub accounts: Arc<dyn Reauthentication>,
    /// Starts sessions.
    pub sessions: Arc<dyn SessionLifecycle>,
    /// Ceremony states.
    pub one_time: Arc<dyn OneTimeSecretRepository>,
    /// Challenge ids and their digests.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Where security events are recorded (§13).
    pub audit: Arc<AuditTrail>,
}

/// Passkeys: registered, listed, deleted, and logged in with.
pub struct PasskeyService {
    ceremonies: Arc<dyn PasskeyCeremonies>,
    factors: FactorStore,
    users: Arc<dyn UserRepository>,
    accounts: Arc<dyn Reauthentication>,
    sessions: Arc<dyn SessionLifecycle>,
    challenges: TokenSecrets,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditTrail>,
    throttle: Arc<LoginThrottle>,
    /// `auth.require_verified_email`: a right passkey of an unverified address gets `403`,
    /// as a right password does (§12).
    require_verified_email: bool,
}

impl PasskeyService {
    /// Wires the service; failed logins and ceremonies count in `throttle`;
    /// `require_verified_email` is `auth.require_verified_email`.
    pub fn new(
        ports: PasskeyPorts,
        throttle: Arc<LoginThrottle>,
        require_verified_email: bool,
    ) -> Self {
        Self {
            ceremonies: ports.ceremonies,
            factors: FactorStore::new(ports.factors),
            users: ports.users,
            accounts: ports.accounts,
            sessions: ports.sessions,
            challenges: TokenSecrets::new(ports.one_time, ports.secrets, ports.clock.clone()),
            clock: ports.clock,
            audit: ports.audit,
            throttle,
            require_verified_email,
        }
    }

    /// Stores a ceremony's state under a new challenge id for `owner`.
    async fn begin_ceremony(
        &self,
        purpose: SecretPurpose,
        owner: Id,
        options: Value,
        state: String,
    ) -> Result<PasskeyChallenge> {
        let challenge_id = self
            .challenges
            .issue(NewTokenSecret {
                purpose,
                user_id: owner,
                email: None,
                lifetime: Duration::seconds(CEREMONY_LIFETIME_SECS),
                tries: 1,
                payload: Some(state),
            })
            .await?;
        Ok(PasskeyChallenge {
            challenge_id,
            options,
        })
    }

    /// Spends the ceremony `challenge_id` of `purpose`: its owner and state, or
    /// `400 invalid_token` if it is unknown, used or expired.
    async fn end_ceremony(
        &self,
        purpose: SecretPurpose,
        challenge_id: &str,
    ) -> Result<(Id, String)> {
        match self.challenges.spend(purpose, challenge_id).await? {
            UseOutcome::Used(secret) => Ok((secret.user_id, secret.payload.unwrap_or_default())),
            UseOutcome::Wrong | UseOutcome::Unknown => Err(Error::InvalidToken),
        }
    }

    /// `POST /passkeys/register/start`, after a fresh proof (§12): creation options for a new
    /// passkey of the caller.
    pub async fn start_registration(
        &self,
        principal: &Principal,
        password: PasswordConfirmation,
        client_address: &str,
    ) -> Result<PasskeyChallenge> {
        self.throttle
            .begin_ceremony(client_address, self.clock.now())
            .await?;
        let user = self
            .accounts
            .fresh_proof(principal, password.password(), client_address)
            .await?;
        let factors = self.factors.of(&user.id).await?;
        if factors.passkeys.len() >= MAX_PASSKEYS {
            return Err(too_many_passkeys());
        }
        let ceremony = self.ceremonies.start_registration(
            &PasskeyUser {
                id: user.id.clone(),
                name: user.handle().to_owned(),
            },
            &factors.passkeys,
        )?;
        self.begin_ceremony(
            SecretPurpose::PasskeyRegistration,
            user.id,
            ceremony.options,
            ceremony.state,
        )
        .await
    }

    /// `POST /passkeys/register/finish`: the browser's answer to a registration ceremony the
    /// caller started. A challenge of another account is unknown to this one.
    pub async fn finish_registration(
        &self,
        principal: &Principal,
        registration: PasskeyRegistration,
    ) -> Result<StoredPasskey> {
        let PasskeyRegistration { answer, name } = registration;
        let (owner, state) = self
            .end_ceremony(SecretPurpose::PasskeyRegistration, &answer.challenge_id)
            .await?;
        if owner != principal.user_id {
            return Err(Error::InvalidToken);
        }
        let new = self
            .ceremonies
            .finish_registration(&answer.credential, &state)?;
        let now = self.clock.now();
        let passkey = StoredPasskey {
            id: Id::generate_ordered(now),
            name,
            credential_id: new.credential_id,
            credential: new.credential,
            created_at: now,
            last_used_at: None,
        };
        let event = self
            .audit
            .event(Action::PasskeyAdded, Actor::user(&principal.user_id))
            .account(&principal.user_id)
            .target("passkey", &passkey.id);
        let change = self.factors.change(&principal.user_id, |factors| {
            if factors.passkeys.len() >= MAX_PASSKEYS {
                return Err(too_many_passkeys());
            }
            if factors
                .passkeys
                .iter()
                .any(|p| p.credential_id == passkey.credential_id)
            {
                return Err(Error::Conflict(ConflictKind::Other(
                    "this passkey is already registered".into(),
                )));
            }
            factors.passkeys.push(passkey.clone());
            Ok(())
        });
        self.audit.around(event, change).await?;
        Ok(passkey)
    }

    /// `GET /passkeys`: the caller's passkeys, oldest first.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<StoredPasskey>> {
        let user = self.accounts.account(principal).await?;
        Ok(self.factors.of(&user.id).await?.passkeys)
    }

    /// `DELETE /passkeys/{passkey_id}`, after a fresh proof (§12): someone else's or unknown
    /// is `404`.
    pub async fn delete(
        &self,
        principal: &Principal,
        passkey_id: &str,
        password: PasswordConfirmation,
        client_address: &str,
    ) -> Result<()> {
        let user = self
            .accounts
            .fresh_proof(principal, password.password(), client_address)
            .await?;
        let id: Id = passkey_id.parse().map_err(|_| Error::NotFound("passkey"))?;
        let event = self
            .audit
            .event(Action::PasskeyRemoved, Actor::user(&user.id))
            .account(&user.id)
            .target("passkey", &id);
        let change = self.factors.change(&user.id, |factors| {
            let at = factors
                .passkeys
                .iter()
                .position(|p| p.id == id)
                .ok_or(Error::NotFound("passkey"))?;
            factors.passkeys.remove(at);
            Ok(())
        });
        self.audit.around(event, change).await
    }

    /// `POST /login/passkey/start`: request options any discoverable passkey of the site may
    /// answer. With a username, only that account's passkey will be accepted; the options are
    /// the same whatever the username, so they tell nothing about the account.
    pub async fn start_login(
        &self,
        username: Option<&str>,
        client_address: &str,
    ) -> Result<PasskeyChallenge> {
        self.throttle
            .begin_ceremony(client_address, self.clock.now())
            .await?;
        let expected = match username.map(str::trim).filter(|u| !u.is_empty()) {
            Some(name) => match Username::new(name) {
                Ok(username) => self
                    .users
                    .find_by_username(&username)
                    .await?
                    .map(|u| u.id)
                    // An unknown name: a ceremony nobody's passkey can finish.
                    .unwrap_or_else(|| Id::generate(0)),
                Err(_) => Id::generate(0),
            },
            None => nobody(),
        };
        let ceremony = self.ceremonies.start_login()?;
        self.begin_ceremony(
            SecretPurpose::PasskeyLogin,
            expected,
            ceremony.options,
            ceremony.state,
        )
        .await
    }

    /// `POST /login/passkey/finish`: a verified assertion logs its account in, with no
    /// password and no second factor. An assertion of another account than the username
    /// named, of an unknown passkey, or that does not verify is `401 invalid_credentials`,
    /// counted by the login throttle.
    pub async fn finish_login(
        &self,
        answer: PasskeyAnswer,
        client_address: &str,
    ) -> Result<LoginOutcome> {
        let PasskeyAnswer {
            challenge_id,
            credential,
        } = answer;
        let (expected, state) = self
            .end_ceremony(SecretPurpose::PasskeyLogin, &challenge_id)
            .await?;
        let now = self.clock.now();
        let Some(claimed) = self.ceremonies.claimed_user(&credential) else {
            let _ = self
                .throttle
                .begin_attempt("passkey:unknown", client_address, now)
                .await?;
            return Err(Error::InvalidCredentials);
        };
        let attempt = self
            .throttle
            .begin_attempt(&format!("user:{claimed}"), client_address, now)
            .await?;
        if expected != nobody() && expected != claimed {
            self.audit
                .refused_login(Action::LoginFailed, &claimed, "passkey")
                .await?;
            return Err(Error::InvalidCredentials);
        }
        let Some(user) = self
            .users
            .find_by_id(&claimed)
            .await?
            .filter(|u| !u.deleting)
        else {
            return Err(Error::InvalidCredentials);
        };
        let factors = self.factors.of(&user.id).await?;
        let used = match self
            .ceremonies
            .finish_login(&credential, &state, &factors.passkeys)
        {
            Ok(used) => used,
            Err(refused) => {
                self.audit
                    .refused_login(Action::LoginFailed, &user.id, "passkey")
                    .await?;
                return Err(refused);
            }
        };
        if self.require_verified_email && !user.email_verified {
            self.throttle.succeeded(attempt).await;
            return Err(Error::EmailUnverified);
        }
        self.factors
            .change(&user.id, |factors| {
                let passkey = factors
                    .passkeys
                    .iter_mut()
                    .find(|p| p.credential_id == used.credential_id)
                    // Deleted while the ceremony ran.
                    .ok_or(Error::InvalidCredentials)?;
                if let Some(updated) = &used.updated_credential {
                    passkey.credential.clone_from(updated);
                }
                passkey.last_used_at = Some(now);
                Ok(())
            })
            .await?;
        self.throttle.succeeded(attempt).await;
        let event = self
            .audit
            .event(Action::LoginSucceeded, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id)
            .detail("method", "passkey");
        let tokens = self
            .audit
            .around(event, self.sessions.start(&user.id))
            .await?;
        Ok(LoginOutcome { user, tokens })
    }
}

fn nobody() -> Id {
    NOBODY.parse().unwrap_or_else(|_| Id::generate(0))
}

fn too_many_passkeys() -> Error {
    Error::Conflict(ConflictKind::Other(format!(
        "an account may have at most {MAX_PASSKEYS} passkeys; delete one first"
    )))
}

#[cfg(test)]
mod tests;
