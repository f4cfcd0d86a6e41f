//! Passkeys (§9): registration, listing, deletion, and usernameless login. A ceremony's
//! state waits in the one-time secret store under the digest of its `challenge_id` (5
//! minutes, single use), so a ceremony started on one instance finishes on another, and a
//! challenge answered once is gone whatever the answer was. A passkey login needs no password
//! and no second factor: the authenticator verified its user.

use serde_json::Value;

use super::{AccountService, LoginOutcome};
use crate::accounts::model::Username;
use crate::error::{ConflictKind, Error, FieldViolation, Result};
use crate::id::Id;
use crate::mfa::{PasskeyUser, StoredPasskey, MAX_PASSKEYS};
use crate::one_time::{SecretPurpose, UseOutcome};
use crate::sessions::Principal;

/// How long a passkey ceremony may take.
pub const CEREMONY_LIFETIME_SECS: i64 = 5 * 60;
/// The longest passkey name.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;

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

/// A passkey's name: 1 to 64 characters, no control characters; `Passkey` when not given.
fn passkey_name(raw: Option<&str>) -> Result<String> {
    let Some(raw) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok("Passkey".to_owned());
    };
    if raw.chars().count() > MAX_PASSKEY_NAME_CHARS || raw.chars().any(char::is_control) {
        return Err(Error::Validation(vec![FieldViolation::new(
            "name",
            format!("must be 1 to {MAX_PASSKEY_NAME_CHARS} characters without control characters"),
        )]));
    }
    Ok(raw.to_owned())
}

impl AccountService {
    /// Stores a ceremony's state under a new challenge id for `owner`.
    async fn begin_ceremony(
        &self,
        purpose: SecretPurpose,
        owner: Id,
        options: Value,
        state: String,
    ) -> Result<PasskeyChallenge> {
        let challenge_id = self
            .issue_one_time(purpose, owner, CEREMONY_LIFETIME_SECS, 1, Some(state))
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
        let ports = self.mfa_ports()?;
        let digest = ports.secrets.digest(challenge_id);
        match ports
            .one_time
            .use_secret(digest.as_str(), purpose, &digest, self.clock.now())
            .await?
        {
            UseOutcome::Used(secret) => Ok((secret.user_id, secret.payload.unwrap_or_default())),
            UseOutcome::Wrong | UseOutcome::Unknown => Err(Error::InvalidToken),
        }
    }

    /// `POST /passkeys/register/start`: creation options for a new passkey of the caller.
    pub async fn start_passkey_registration(
        &self,
        principal: &Principal,
        client_address: &str,
    ) -> Result<PasskeyChallenge> {
        let ports = self.mfa_ports()?;
        self.throttle
            .begin_ceremony(client_address, self.clock.now())?;
        let user = self.profile(principal).await?;
        let factors = self.factors_of(ports, &user.id).await?;
        if factors.passkeys.len() >= MAX_PASSKEYS {
            return Err(too_many_passkeys());
        }
        let ceremony = ports.ceremonies.start_registration(
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
    pub async fn finish_passkey_registration(
        &self,
        principal: &Principal,
        challenge_id: &str,
        credential: &Value,
        name: Option<&str>,
    ) -> Result<StoredPasskey> {
        let ports = self.mfa_ports()?;
        let name = passkey_name(name)?;
        let (owner, state) = self
            .end_ceremony(SecretPurpose::PasskeyRegistration, challenge_id)
            .await?;
        if owner != principal.user_id {
            return Err(Error::InvalidToken);
        }
        let new = ports.ceremonies.finish_registration(credential, &state)?;
        let now = self.clock.now();
        let passkey = StoredPasskey {
            id: Id::generate_ordered(now),
            name,
            credential_id: new.credential_id,
            credential: new.credential,
            created_at: now,
            last_used_at: None,
        };
        self.change_factors(&principal.user_id, |factors| {
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
        })
        .await?;
        Ok(passkey)
    }

    /// `GET /passkeys`: the caller's passkeys, oldest first.
    pub async fn passkeys(&self, principal: &Principal) -> Result<Vec<StoredPasskey>> {
        let ports = self.mfa_ports()?;
        let user = self.profile(principal).await?;
        Ok(self.factors_of(ports, &user.id).await?.passkeys)
    }

    /// `DELETE /passkeys/{passkey_id}`: someone else's or unknown is `404`.
    pub async fn delete_passkey(&self, principal: &Principal, passkey_id: &str) -> Result<()> {
        let user = self.profile(principal).await?;
        let id: Id = passkey_id.parse().map_err(|_| Error::NotFound("passkey"))?;
        self.change_factors(&user.id, |factors| {
            let at = factors
                .passkeys
                .iter()
                .position(|p| p.id == id)
                .ok_or(Error::NotFound("passkey"))?;
            factors.passkeys.remove(at);
            Ok(())
        })
        .await
    }

    /// `POST /login/passkey/start`: request options any discoverable passkey of the site may
    /// answer. With a username, only that account's passkey will be accepted; the options are
    /// the same whatever the username, so they tell nothing about the account.
    pub async fn start_passkey_login(
        &self,
        username: Option<&str>,
        client_address: &str,
    ) -> Result<PasskeyChallenge> {
        let ports = self.mfa_ports()?;
        self.throttle
            .begin_ceremony(client_address, self.clock.now())?;
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
        let ceremony = ports.ceremonies.start_login()?;
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
    pub async fn finish_passkey_login(
        &self,
        challenge_id: &str,
        credential: &Value,
        client_address: &str,
    ) -> Result<LoginOutcome> {
        let ports = self.mfa_ports()?;
        let (expected, state) = self
            .end_ceremony(SecretPurpose::PasskeyLogin, challenge_id)
            .await?;
        let now = self.clock.now();
        let Some(claimed) = ports.ceremonies.claimed_user(credential) else {
            let _ = self
                .throttle
                .begin_attempt("passkey:unknown", client_address, now)?;
            return Err(Error::InvalidCredentials);
        };
        let attempt =
            self.throttle
                .begin_attempt(&format!("user:{claimed}"), client_address, now)?;
        if expected != nobody() && expected != claimed {
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
        let factors = self.factors_of(ports, &user.id).await?;
        let used = ports
            .ceremonies
            .finish_login(credential, &state, &factors.passkeys)?;
        self.change_factors(&user.id, |factors| {
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
        self.throttle.succeeded(attempt);
        let tokens = self.sessions.start(&user.id).await?;
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
