//! API keys: `kg_<8-character public id>_<secret>`, stored only as a digest, looked up by the
//! public id, scoped to reading and/or writing one API's records. Keys `keygate import`
//! brought from system 000 keep their old text; they are found by an id derived from it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::{SecretDigest, SecretGenerator};
use crate::error::FieldViolation;
use crate::id::Id;

/// What every API key starts with.
pub const API_KEY_PREFIX: &str = "kg_";
/// Length of a key's public id.
pub const PUBLIC_ID_LENGTH: usize = 8;
/// The shortest secret part a key may have (32 base62 characters ≈ 190 bits).
const MIN_SECRET_LENGTH: usize = 32;
/// What the public id of an imported (legacy) key starts with; issued ids are base62 only,
/// so a legacy id never names an issued key, and a text in the legacy format only ever
/// finds an imported key.
pub const LEGACY_PUBLIC_ID_MARK: &str = "legacy-";
/// The lengths a legacy key text may have (000 handed out hex and URL-safe tokens).
const LEGACY_KEY_LENGTHS: std::ops::RangeInclusive<usize> = 16..=256;

/// What a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Listing and reading records.
    Read,
    /// Creating, replacing, patching and deleting records.
    Write,
}

impl Scope {
    /// The scope's name in the contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// A non-empty set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Scope>", into = "Vec<Scope>")]
pub struct Scopes {
    read: bool,
    write: bool,
}

impl Scopes {
    /// Read and write: the default of a new key.
    pub const ALL: Self = Self {
        read: true,
        write: true,
    };

    /// Parses the contract's list of scope names; `field` names it in violations.
    pub fn parse(names: &[String], field: &str) -> Result<Self, FieldViolation> {
        let mut scopes = Self {
            read: false,
            write: false,
        };
        for (i, name) in names.iter().enumerate() {
            match name.as_str() {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                _ => {
                    return Err(FieldViolation::new(
                        format!("{field}/{i}"),
                        "must be \"read\" or \"write\"",
                    ))
                }
            }
        }
        if scopes.read || scopes.write {
            Ok(scopes)
        } else {
            Err(FieldViolation::new(field, "must name at least one scope"))
        }
    }

    /// Whether the set holds `scope`.
    pub fn allows(self, scope: Scope) -> bool {
        match scope {
            Scope::Read => self.read,
            Scope::Write => self.write,
        }
    }

    /// The scopes as a list, read before write.
    pub fn to_vec(self) -> Vec<Scope> {
        [Scope::Read, Scope::Write]
            .into_iter()
            .filter(|s| self.allows(*s))
            .collect()
    }
}

impl TryFrom<Vec<Scope>> for Scopes {
    type Error = FieldViolation;
    fn try_from(list: Vec<Scope>) -> Result<Self, Self::Error> {
        let names: Vec<String> = list.iter().map(|s| s.as_str().to_owned()).collect();
        Self::parse(&names, "scopes")
    }
}

impl From<Scopes> for Vec<Scope> {
    fn from(scopes: Scopes) -> Self {
        scopes.to_vec()
    }
}

/// One API key as stored: never the key itself, only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id (`key_id`), used to revoke it.
    pub id: Id,
    /// The API it opens.
    pub api_id: Id,
    /// The API's owner.
    pub owner_id: Id,
    /// The 8 characters after `kg_`: how the key is found (unique).
    pub public_id: String,
    /// SHA-256 digest of the whole key text.
    pub digest: SecretDigest,
    /// What it allows.
    pub scopes: Scopes,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// `kg_<public id>` (an imported key: its `legacy-…` id): enough to recognise a key in a
    /// list, useless to an attacker.
    pub fn prefix(&self) -> String {
        if self.public_id.starts_with(LEGACY_PUBLIC_ID_MARK) {
            self.public_id.clone()
        } else {
            format!("{API_KEY_PREFIX}{}", self.public_id)
        }
    }

    /// Whether the key opens its API at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|end| now < end)
    }
}

/// A key as a client presents it: an issued key (`kg_…`, found by its public id) or a key
/// imported from system 000 (found by an id derived from its whole text).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyText {
    /// The public id of an issued key; `None` for a legacy text.
    public_id: Option<String>,
    whole: String,
}

impl ApiKeyText {
    /// Reads `kg_<8 base62>_<at least 32 base62>`, else a legacy key: 16 to 256 visible ASCII
    /// characters. `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix(API_KEY_PREFIX) {
            if let Some((public_id, secret)) = rest.split_once('_') {
                let base62 = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
                if public_id.len() == PUBLIC_ID_LENGTH
                    && base62(public_id)
                    && (MIN_SECRET_LENGTH..=128).contains(&secret.len())
                    && base62(secret)
                {
                    return Some(Self {
                        public_id: Some(public_id.to_owned()),
                        whole: raw.to_owned(),
                    });
                }
            }
        }
        Self::legacy(raw)
    }

    /// A key text of system 000 (`keygate import`): 16 to 256 visible ASCII characters.
    pub fn legacy(raw: &str) -> Option<Self> {
        (LEGACY_KEY_LENGTHS.contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic())).then(
            || Self {
                public_id: None,
                whole: raw.to_owned(),
            },
        )
    }

    /// Builds a key from its parts (for issuing).
    pub fn from_parts(public_id: &str, secret: &str) -> Self {
        Self {
            public_id: Some(public_id.to_owned()),
            whole: format!("{API_KEY_PREFIX}{public_id}_{secret}"),
        }
    }

    /// The id the key is stored and found under: an issued key's public id, or for a legacy
    /// key `legacy-` and 16 hex digits of a digest of its text (a different digest from the
    /// stored one, so the id gives nothing of it away).
    pub fn lookup_id(&self, secrets: &dyn SecretGenerator) -> String {
        match &self.public_id {
            Some(public_id) => public_id.clone(),
            None => {
                let digest = secrets.digest(&format!("keygate-legacy-key-id\0{}", self.whole));
                let hex = digest.as_str();
                format!("{LEGACY_PUBLIC_ID_MARK}{}", hex.get(..16).unwrap_or(hex))
            }
        }
    }

    /// The whole key: what is digested, and shown to the owner exactly once.
    pub fn expose(&self) -> &str {
        &self.whole
    }
}

impl fmt::Debug for ApiKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.public_id {
            Some(public_id) => write!(f, "ApiKeyText(kg_{public_id}_…)"),
            None => f.write_str("ApiKeyText(legacy …)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Digests in the real adapter's shape (hex), without a hash library.
    struct HexSecrets;
    impl SecretGenerator for HexSecrets {
        fn new_secret(&self) -> crate::Result<String> {
            Ok("s".repeat(43))
        }
        fn digest(&self, secret: &str) -> SecretDigest {
            // Last byte first, so texts that differ at the end differ in the first digits.
            SecretDigest(secret.bytes().rev().map(|b| format!("{b:02x}")).collect())
        }
        fn new_public_id(&self) -> crate::Result<String> {
            Ok("abcd1234".into())
        }
        fn matches(&self, secret: &str, digest: &SecretDigest) -> bool {
            self.digest(secret) == *digest
        }
    }

    #[test]
    fn issued_keys_are_found_by_their_public_id() {
        let secret = "A".repeat(43);
        let key = ApiKeyText::parse(&format!(" kg_abcd1234_{secret} ")).expect("valid");
        assert_eq!(key.lookup_id(&HexSecrets), "abcd1234");
        assert_eq!(key.expose(), format!("kg_abcd1234_{secret}"));
        assert!(!format!("{key:?}").contains(&secret));
    }

    #[test]
    fn other_texts_are_legacy_keys_found_under_the_legacy_mark_or_nothing() {
        let secret = "A".repeat(43);
        for legacy in [
            "kg_abcd1234_short",
            &format!("kg_abc_{secret}"),
            &format!("xx_abcd1234_{secret}"),
            &format!("kg_abcd1234_{secret}!"),
            "0123456789abcdef0123456789abcdef",
            "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        ] {
            let key = ApiKeyText::parse(legacy).expect(legacy);
            let id = key.lookup_id(&HexSecrets);
            assert!(id.starts_with(LEGACY_PUBLIC_ID_MARK), "{legacy}: {id}");
            assert_eq!(id.len(), LEGACY_PUBLIC_ID_MARK.len() + 16);
            assert!(!format!("{key:?}").contains(legacy));
        }
        // Two texts, two ids; an issued key's id never carries the mark.
        let a = ApiKeyText::parse(&"a".repeat(32)).expect("legacy");
        let b = ApiKeyText::parse(&"b".repeat(32)).expect("legacy");
        assert_ne!(a.lookup_id(&HexSecrets), b.lookup_id(&HexSecrets));
        for bad in [
            "",
            "kg_abcd1234",
            "short",
            &"x".repeat(257),
            "has a space in it ok",
            "tab\there-and-long-enough",
        ] {
            assert!(ApiKeyText::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn scopes_parse_and_refuse_unknown_or_empty() {
        let both = Scopes::parse(&["write".into(), "read".into()], "/scopes").expect("valid");
        assert_eq!(both, Scopes::ALL);
        let read = Scopes::parse(&["read".into()], "/scopes").expect("valid");
        assert!(read.allows(Scope::Read) && !read.allows(Scope::Write));
        assert_eq!(
            Scopes::parse(&["admin".into()], "/scopes").map_err(|v| v.field),
            Err("/scopes/0".to_owned())
        );
        assert!(Scopes::parse(&[], "/scopes").is_err());
    }
}
