//! Key-value entries.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldViolation;
use crate::id::Id;
use crate::text_value::string_conversions;

/// A data key: 1..256 characters, none of them a control character. Anything else printable
/// is allowed, `/`, `.`, `$`, spaces and non-ASCII included.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DataKey(String);

impl DataKey {
    /// The longest key, in characters.
    pub const MAX_CHARS: usize = 256;

    /// Validates `raw` as given (no trimming: white space is part of a key).
    pub fn new(raw: &str) -> Result<Self, FieldViolation> {
        let length = raw.chars().count();
        if !(1..=Self::MAX_CHARS).contains(&length) {
            return Err(FieldViolation::new(
                "key",
                format!("must be 1 to {} characters long", Self::MAX_CHARS),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                "key",
                "must not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(DataKey => DataKey::new);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({:?})", self.0)
    }
}

/// One stored value of one user.
#[derive(Debug, Clone, PartialEq)]
pub struct DataEntry {
    /// The owner.
    pub user_id: Id,
    /// The key, unique per owner.
    pub key: DataKey,
    /// Any JSON value, kept exactly as sent.
    pub value: Value,
    /// When the key was first stored.
    pub created_at: DateTime<Utc>,
    /// When its value last changed.
    pub updated_at: DateTime<Utc>,
}

/// One key of a listing: never its value, which a listing does not show and so never reads
/// (an account's values may hold hundreds of megabytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEntry {
    /// The key.
    pub key: DataKey,
    /// When the key was first stored.
    pub created_at: DateTime<Utc>,
    /// When its value last changed.
    pub updated_at: DateTime<Utc>,
}

impl DataEntry {
    /// What the entry counts against its owner's byte quota: its key and its value as
    /// compact JSON.
    pub fn size(&self) -> usize {
        self.key.as_str().len() + serde_json::to_vec(&self.value).map_or(0, |v| v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_allow_anything_printable_up_to_256_characters() {
        for good in [
            "a",
            "a/b",
            "a.b",
            "$set",
            "with space",
            "ключ",
            "🔑",
            " lead",
            &"k".repeat(256),
            &"é".repeat(256),
        ] {
            assert!(DataKey::new(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn keys_refuse_empty_long_and_control_characters() {
        for bad in [
            "",
            &"k".repeat(257),
            "a\nb",
            "a\u{0}b",
            "tab\t",
            "\u{7f}",
            "\u{85}",
        ] {
            assert!(DataKey::new(bad).is_err(), "{bad:?}");
        }
    }
}
