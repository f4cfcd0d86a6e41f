//! An account's second factors as stored.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::crypto::SecretDigest;
use crate::id::Id;

/// How many recovery codes a set holds.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// The most passkeys one account may register.
pub const MAX_PASSKEYS: usize = 20;

/// A TOTP shared secret: 20 random bytes (160 bits, RFC 4226's recommendation), shown to the
/// user once as base32. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A secret of these bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding: what authenticator apps are given.
    pub fn base32(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(self.0.len().div_ceil(5) * 8);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for byte in &self.0 {
            buffer = (buffer << 8) | u32::from(*byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// The secret of base32 text (case-insensitive, no padding); `None` if it is not base32.
    pub fn from_base32(text: &str) -> Option<Self> {
        let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
        for c in text.bytes() {
            let value = match c.to_ascii_uppercase() {
                b @ b'A'..=b'Z' => b - b'A',
                b @ b'2'..=b'7' => b - b'2' + 26,
                _ => return None,
            };
            buffer = (buffer << 5) | u32::from(value);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push(((buffer >> bits) & 0xff) as u8);
            }
        }
        Some(Self(out))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TotpSecret({} bytes)", self.0.len())
    }
}

/// An account's TOTP factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// The shared secret.
    pub secret: TotpSecret,
    /// Whether a code confirmed it: only then is TOTP on.
    pub confirmed: bool,
    /// The last time step whose code was accepted: that step and earlier ones are spent.
    pub last_used_step: u64,
    /// When enrolment began.
    pub created_at: DateTime<Utc>,
}

/// The digests of an account's unused recovery codes.
pub type RecoveryCodes = Vec<SecretDigest>;

/// A registered passkey: the WebAuthn library's own record of it, kept as its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Its id in Keygate (`passkey_id`).
    pub id: Id,
    /// What the owner calls it.
    pub name: String,
    /// The credential id, base64url: how an assertion names it.
    pub credential_id: String,
    /// The library's serialised credential (public key, sign counter, flags).
    pub credential: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last logged in.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Everything an account has as second factors. Stored whole, changed by compare-and-set on
/// `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactors {
    /// The account.
    pub user_id: Id,
    /// TOTP, confirmed or waiting for its first code.
    pub totp: Option<TotpFactor>,
    /// Unused recovery codes (digests).
    pub recovery_codes: RecoveryCodes,
    /// Registered passkeys.
    pub passkeys: Vec<StoredPasskey>,
    /// Counts changes; 0 for factors never stored.
    pub revision: u64,
}

impl SecondFactors {
    /// An account with no factors yet.
    pub fn none(user_id: Id) -> Self {
        Self {
            user_id,
            totp: None,
            recovery_codes: Vec::new(),
            passkeys: Vec::new(),
            revision: 0,
        }
    }

    /// Whether a password login needs a second step: TOTP is on.
    pub fn totp_on(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.confirmed)
    }

    /// Whether there is nothing at all: no TOTP (not even one waiting for its first code), no
    /// recovery code, no passkey.
    pub fn is_empty(&self) -> bool {
        self.totp.is_none() && self.recovery_codes.is_empty() && self.passkeys.is_empty()
    }

    /// What a profile shows.
    pub fn summary(&self) -> MfaSummary {
        MfaSummary {
            totp: self.totp_on(),
            passkeys: self.passkeys.len(),
        }
    }
}

/// A profile's `mfa` member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MfaSummary {
    /// TOTP is on.
    pub totp: bool,
    /// Registered passkeys.
    pub passkeys: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        // RFC 4648 §10 test vectors, without padding.
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ] {
            let secret = TotpSecret::new(bytes.to_vec());
            assert_eq!(secret.base32(), text);
            assert_eq!(TotpSecret::from_base32(text), Some(secret.clone()));
            assert_eq!(TotpSecret::from_base32(&text.to_lowercase()), Some(secret));
        }
        assert_eq!(TotpSecret::from_base32("MZ1"), None);
        assert!(!format!("{:?}", TotpSecret::new(b"secret".to_vec())).contains("secret\""));
    }
}
