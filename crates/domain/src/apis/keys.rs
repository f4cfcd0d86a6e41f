//! API keys: `kg_<8-character public id>_<secret>`, stored only as a digest, looked up by the
//! public id, scoped to reading and/or writing one API's records.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::SecretDigest;
use crate::error::FieldViolation;
use crate::id::Id;

/// What every API key starts with.
pub const API_KEY_PREFIX: &str = "kg_";
/// Length of a key's public id.
pub const PUBLIC_ID_LENGTH: usize = 8;
/// The shortest secret part a key may have (32 base62 characters ≈ 190 bits).
const MIN_SECRET_LENGTH: usize = 32;

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
    /// `kg_<public id>`: enough to recognise a key in a list, useless to an attacker.
    pub fn prefix(&self) -> String {
        format!("{API_KEY_PREFIX}{}", self.public_id)
    }

    /// Whether the key opens its API at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|end| now < end)
    }
}

/// A key as a client presents it, split into its public id and the whole text.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyText {
    public_id: String,
    whole: String,
}

impl ApiKeyText {
    /// Reads `kg_<8 base62>_<at least 32 base62>`; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.trim().strip_prefix(API_KEY_PREFIX)?;
        let (public_id, secret) = rest.split_once('_')?;
        let base62 = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
        (public_id.len() == PUBLIC_ID_LENGTH
            && base62(public_id)
            && (MIN_SECRET_LENGTH..=128).contains(&secret.len())
            && base62(secret))
        .then(|| Self {
            public_id: public_id.to_owned(),
            whole: raw.trim().to_owned(),
        })
    }

    /// Builds a key from its parts (for issuing).
    pub fn from_parts(public_id: &str, secret: &str) -> Self {
        Self {
            public_id: public_id.to_owned(),
            whole: format!("{API_KEY_PREFIX}{public_id}_{secret}"),
        }
    }

    /// The public id, the key's look-up handle.
    pub fn public_id(&self) -> &str {
        &self.public_id
    }

    /// The whole key: what is digested, and shown to the owner exactly once.
    pub fn expose(&self) -> &str {
        &self.whole
    }
}

impl fmt::Debug for ApiKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyText(kg_{}_…)", self.public_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_only_in_their_format() {
        let secret = "A".repeat(43);
        let key = ApiKeyText::parse(&format!("kg_abcd1234_{secret}")).expect("valid");
        assert_eq!(key.public_id(), "abcd1234");
        assert!(!format!("{key:?}").contains(&secret));
        for bad in [
            "",
            "kg_abcd1234",
            &format!("kg_abc_{secret}"),
            &format!("xx_abcd1234_{secret}"),
            "kg_abcd1234_short",
            &format!("kg_abcd1234_{secret}!"),
            &format!("kg_abcd-234_{secret}"),
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
