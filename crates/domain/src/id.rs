//! Opaque identifiers: 24 lower-case hex characters, the MongoDB ObjectId format, on every store.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text_value::string_conversions;

/// An entity identifier: 12 bytes shown as 24 hex characters. The first four bytes are the
/// creation time in seconds, so ids sort roughly by creation, as ObjectIds do.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

/// The text given is not a 24-hex-character id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

impl Id {
    /// The second its creation time names (the first 4 bytes of every id Keygate makes); `None`
    /// for an id from elsewhere that is no 24-hex text.
    pub fn unix_seconds(&self) -> Option<i64> {
        self.0
            .get(..8)
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .map(i64::from)
    }

    /// A fresh id for something created at `unix_seconds`, with 64 random bits from the OS.
    pub fn generate(unix_seconds: i64) -> Self {
        let mut random = [0u8; 8];
        // The OS RNG failing is unrecoverable for a security service; there is no safe fallback.
        getrandom::fill(&mut random)
            .expect("the operating system's random number generator failed");
        let seconds = u32::try_from(unix_seconds.max(0)).unwrap_or(u32::MAX);
        let mut text = String::with_capacity(24);
        for byte in seconds.to_be_bytes().iter().chain(random.iter()) {
            text.push_str(&format!("{byte:02x}"));
        }
        Self(text)
    }

    /// A fresh id for something created at `at` that sorts after every id made earlier on this
    /// clock at microsecond resolution: 4 bytes of seconds, 3 of microseconds, 5 random.
    pub fn generate_ordered(at: chrono::DateTime<chrono::Utc>) -> Self {
        let mut random = [0u8; 5];
        getrandom::fill(&mut random)
            .expect("the operating system's random number generator failed");
        let seconds = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
        let micros = at.timestamp_subsec_micros().min(999_999);
        Self(format!(
            "{seconds:08x}{micros:06x}{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
    }

    /// The id as its 24 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Id {
    type Err = InvalidId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(InvalidId)
        }
    }
}

string_conversions!(Id: InvalidId => str::parse);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_24_hex_and_distinct() {
        let a = Id::generate(1_700_000_000);
        let b = Id::generate(1_700_000_000);
        assert_eq!(a.as_str().len(), 24);
        assert!(a.as_str().starts_with("6553f100"));
        assert_ne!(a, b);
        assert_eq!(a.as_str().parse::<Id>(), Ok(a.clone()));
    }

    #[test]
    fn ordered_ids_sort_by_time() {
        let base = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let ids: Vec<Id> = (0..50)
            .map(|i| Id::generate_ordered(base + chrono::Duration::microseconds(i * 37)))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(ids.iter().all(|id| id.as_str().parse::<Id>().is_ok()));
    }

    #[test]
    fn parsing_rejects_wrong_length_and_non_hex() {
        assert_eq!("abc".parse::<Id>(), Err(InvalidId));
        assert_eq!("zzzzzzzzzzzzzzzzzzzzzzzz".parse::<Id>(), Err(InvalidId));
        assert_eq!(
            "6553F1000000000000000000".parse::<Id>().map(String::from),
            Ok("6553f1000000000000000000".to_owned())
        );
    }
}
