//! Passkeys over `webauthn-rs` (the kanidm project's relying party): registration with user
//! verification required and a discoverable credential asked for, and usernameless
//! (discoverable) login. Ceremony states are the library's own, serialised to JSON text.

use keygate_domain::mfa::{
    Ceremony, NewPasskey, PasskeyCeremonies, PasskeyUse, PasskeyUser, StoredPasskey,
};
use keygate_domain::{Error, FieldViolation, Id, Result};

use crate::relying_party::WebauthnSettings;
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// The `webauthn-rs` adapter of [`PasskeyCeremonies`].
pub struct WebauthnPasskeys {
    webauthn: Webauthn,
}

impl std::fmt::Debug for WebauthnPasskeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebauthnPasskeys")
    }
}

impl WebauthnPasskeys {
    /// The relying party of `settings`; an unusable id or origin is an error naming it.
    pub fn new(settings: &WebauthnSettings) -> std::result::Result<Self, String> {
        let origin = Url::parse(&settings.origin)
            .map_err(|e| format!("auth.webauthn.origin '{}': {e}", settings.origin))?;
        let webauthn = WebauthnBuilder::new(&settings.rp_id, &origin)
            .and_then(|b| b.rp_name(&settings.rp_name).build())
            .map_err(|e| {
                format!(
                    "auth.webauthn: rp_id '{}' does not fit origin '{}': {e}",
                    settings.rp_id, settings.origin
                )
            })?;
        Ok(Self { webauthn })
    }
}

/// The WebAuthn user handle of an account: its 12 id bytes, then four zero bytes.
fn user_handle(id: &Id) -> Uuid {
    let mut bytes = [0u8; 16];
    for (i, pair) in id.as_str().as_bytes().chunks(2).take(12).enumerate() {
        let hex = std::str::from_utf8(pair).unwrap_or("00");
        bytes[i] = u8::from_str_radix(hex, 16).unwrap_or(0);
    }
    Uuid::from_bytes(bytes)
}

/// The account of a user handle, if it is one of ours.
fn account_of(handle: &Uuid) -> Option<Id> {
    let bytes = handle.as_bytes();
    if bytes[12..] != [0, 0, 0, 0] {
        return None;
    }
    bytes[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .parse()
        .ok()
}

fn internal(what: &str) -> impl FnOnce(serde_json::Error) -> Error + '_ {
    move |e| Error::Internal(format!("passkey {what}: {e}"))
}

fn stored(passkey: &StoredPasskey) -> Result<Passkey> {
    serde_json::from_str(&passkey.credential).map_err(internal("record unreadable"))
}

fn credential_id(passkey: &Passkey) -> Result<String> {
    match serde_json::to_value(passkey.cred_id()).map_err(internal("id"))? {
        Value::String(id) => Ok(id),
        other => Ok(other.to_string()),
    }
}

/// Discoverable credentials are what usernameless login finds: ask for one.
fn require_resident_key(options: &mut Value) {
    if let Some(selection) = options
        .get_mut("authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), Value::from("required"));
        selection.insert("requireResidentKey".into(), Value::from(true));
    }
}

impl PasskeyCeremonies for WebauthnPasskeys {
    fn start_registration(
        &self,
        user: &PasskeyUser,
        existing: &[StoredPasskey],
    ) -> Result<Ceremony> {
        let exclude = existing
            .iter()
            .map(|p| stored(p).map(|k| k.cred_id().clone()))
            .collect::<Result<Vec<_>>>()?;
        let (challenge, state) = self
            .webauthn
            .start_passkey_registration(
                user_handle(&user.id),
                &user.name,
                &user.name,
                Some(exclude),
            )
            .map_err(|e| Error::Internal(format!("passkey registration: {e}")))?;
        let mut options =
            serde_json::to_value(&challenge.public_key).map_err(internal("options"))?;
        require_resident_key(&mut options);
        Ok(Ceremony {
            options,
            state: serde_json::to_string(&state).map_err(internal("state"))?,
        })
    }

    fn finish_registration(&self, credential: &Value, state: &str) -> Result<NewPasskey> {
        let state: PasskeyRegistration =
            serde_json::from_str(state).map_err(internal("state unreadable"))?;
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| {
                Error::Validation(vec![FieldViolation::new(
                    "credential",
                    format!("not a WebAuthn registration response: {e}"),
                )])
            })?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|e| {
                Error::Validation(vec![FieldViolation::new(
                    "credential",
                    format!("the registration does not verify: {e}"),
                )])
            })?;
        Ok(NewPasskey {
            credential_id: credential_id(&passkey)?,
            credential: serde_json::to_string(&passkey).map_err(internal("record"))?,
        })
    }

    fn start_login(&self) -> Result<Ceremony> {
        let (challenge, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| Error::Internal(format!("passkey login: {e}")))?;
        Ok(Ceremony {
            options: serde_json::to_value(&challenge.public_key).map_err(internal("options"))?,
            state: serde_json::to_string(&state).map_err(internal("state"))?,
        })
    }

    fn claimed_user(&self, credential: &Value) -> Option<Id> {
        let credential: PublicKeyCredential = serde_json::from_value(credential.clone()).ok()?;
        let (handle, _) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
            .ok()?;
        account_of(&handle)
    }

    fn finish_login(
        &self,
        credential: &Value,
        state: &str,
        passkeys: &[StoredPasskey],
    ) -> Result<PasskeyUse> {
        let credential: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|_| Error::InvalidCredentials)?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(state).map_err(internal("state unreadable"))?;
        let mut keys = passkeys.iter().map(stored).collect::<Result<Vec<_>>>()?;
        // The assertion names its credential: only that one of the account's may match.
        let named = credential.get_credential_id();
        let key = keys
            .iter()
            .find(|k| AsRef::<[u8]>::as_ref(k.cred_id()) == named)
            .ok_or(Error::InvalidCredentials)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&credential, state, key)
            // Why an assertion failed is not the client's business (it would help a forger).
            .map_err(|_| Error::InvalidCredentials)?;
        if !result.user_verified() {
            return Err(Error::InvalidCredentials);
        }
        let used = keys
            .iter_mut()
            .find(|k| k.cred_id() == result.cred_id())
            .ok_or(Error::InvalidCredentials)?;
        let updated = match used.update_credential(&result) {
            Some(true) => Some(serde_json::to_string(&*used).map_err(internal("record"))?),
            _ => None,
        };
        Ok(PasskeyUse {
            credential_id: credential_id(used)?,
            updated_credential: updated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_handles_round_trip_account_ids_and_refuse_others() {
        let id: Id = "6553f1000000000000000abc".parse().expect("an id");
        let handle = user_handle(&id);
        assert_eq!(account_of(&handle), Some(id));
        assert_eq!(account_of(&Uuid::from_bytes([7; 16])), None);
    }

    #[test]
    fn registration_options_ask_for_a_discoverable_credential_with_user_verification() {
        let passkeys = WebauthnPasskeys::new(&WebauthnSettings {
            rp_id: "localhost".into(),
            origin: "http://localhost:8080".into(),
            rp_name: "Keygate".into(),
        })
        .expect("a relying party");
        let ceremony = passkeys
            .start_registration(
                &PasskeyUser {
                    id: Id::generate(1),
                    name: "ada".into(),
                },
                &[],
            )
            .expect("a ceremony");
        let selection = &ceremony.options["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(ceremony.options["rp"]["id"], "localhost");
        assert!(ceremony.options["challenge"]
            .as_str()
            .is_some_and(|c| c.len() >= 43));
        assert!(WebauthnPasskeys::new(&WebauthnSettings {
            rp_id: "example.com".into(),
            origin: "https://evil.test".into(),
            rp_name: "Keygate".into(),
        })
        .is_err());
    }
}
