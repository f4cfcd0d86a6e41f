//! The WebAuthn port: the ceremonies a passkey is registered and used with. The adapter keeps
//! the library's state as opaque text, stored between the two halves of a ceremony, so a
//! ceremony started on one instance finishes on another.

use serde_json::Value;

use super::model::StoredPasskey;
use crate::error::Result;
use crate::id::Id;

/// Half a ceremony: what the browser is given, and what the server keeps until the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceremony {
    /// The `publicKey` options for `navigator.credentials.create()` or `.get()`.
    pub options: Value,
    /// The library's state, as text.
    pub state: String,
}

/// The account a passkey is registered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUser {
    /// Its id (the WebAuthn user handle is derived from it).
    pub id: Id,
    /// Its username, else email, else id: what the authenticator shows.
    pub name: String,
}

/// A newly registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasskey {
    /// The credential id, base64url.
    pub credential_id: String,
    /// The library's record of it.
    pub credential: String,
}

/// A successful passkey login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    /// The credential used, base64url.
    pub credential_id: String,
    /// Its record with the new sign counter, when that changed.
    pub updated_credential: Option<String>,
}

/// WebAuthn ceremonies (`keygate-crypto` implements it over `webauthn-rs`). Passkeys require
/// user verification; a sign counter that goes backwards refuses the login.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait PasskeyCeremonies: Send + Sync {
    /// Begins registering a passkey for `user`, excluding the ones it has.
    fn start_registration(
        &self,
        user: &PasskeyUser,
        existing: &[StoredPasskey],
    ) -> Result<Ceremony>;
    /// Checks the browser's `credential` against the ceremony's `state`: the new passkey, or
    /// `Validation` naming what is wrong with it.
    fn finish_registration(&self, credential: &Value, state: &str) -> Result<NewPasskey>;
    /// Begins a usernameless login: any discoverable passkey of the site may answer.
    fn start_login(&self) -> Result<Ceremony>;
    /// The account an assertion says it is for (its user handle); `None` if it names none.
    fn claimed_user(&self, credential: &Value) -> Option<Id>;
    /// Checks an assertion against the ceremony's `state` and the account's `passkeys`:
    /// which passkey it was, or `InvalidCredentials`.
    fn finish_login(
        &self,
        credential: &Value,
        state: &str,
        passkeys: &[StoredPasskey],
    ) -> Result<PasskeyUse>;
}
