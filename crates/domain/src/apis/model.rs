//! API definitions and the value objects that name them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldViolation;
use crate::id::Id;
use crate::text_value::string_conversions;

/// Slugs that are never handed out: every fixed word of the route table, and a few that a
/// future route may want. An API named like one of them could shadow a route.
const RESERVED_NAMES: &[&str] = &[
    "admin",
    "api",
    "apis",
    "auth",
    "create-api",
    "create_api",
    "data",
    "docs",
    "health",
    "keys",
    "login",
    "logout",
    "me",
    "metrics",
    "openapi",
    "openapi-json",
    "password",
    "profile",
    "ready",
    "records",
    "refresh",
    "register",
    "token",
    "users",
    "v1",
];

/// The longest slug derived from a requested name, before any suffix.
const MAX_SLUG_BASE: usize = 40;
/// The longest API name accepted in a URL.
const MAX_NAME: usize = 64;

/// An API's unique name, as it appears in record URLs: a lower-case slug of `a-z`, `0-9` and
/// single `-` (`my-api`, `my-api-7qk2`). Never a reserved word nor 24 hex characters (which
/// would read as an id).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiName(String);

impl ApiName {
    /// Parses a name as found in a URL or a store.
    pub fn parse(raw: &str) -> Result<Self, FieldViolation> {
        let well_formed = (1..=MAX_NAME).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
            && !raw.contains("--");
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldViolation::new(
                "api_name",
                "must be a lower-case slug of a-z, 0-9 and '-'",
            ))
        }
    }

    /// The slug of a requested name: lower-case ASCII letters and digits, every other run of
    /// characters one `-`, at most 40 characters; `api` when nothing is left.
    pub fn slug_of(requested: &str) -> Self {
        let mut slug = String::new();
        for c in requested.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= MAX_SLUG_BASE {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        Self(if slug.is_empty() {
            "api".to_owned()
        } else {
            slug.to_owned()
        })
    }

    /// This name with `-suffix` appended.
    pub fn with_suffix(&self, suffix: &str) -> Self {
        Self(format!("{}-{suffix}", self.0))
    }

    /// Whether the name may not be handed out: a reserved word, or an id look-alike.
    pub fn is_reserved(&self) -> bool {
        RESERVED_NAMES.contains(&self.0.as_str()) || self.0.parse::<Id>().is_ok()
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiName({})", self.0)
    }
}

impl fmt::Display for ApiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_conversions!(
    ApiName => ApiName::parse,
    DisplayName => |raw| DisplayName::new(raw, "display_name"),
    EndpointName => |raw| EndpointName::new(raw, "endpoint"),
);

/// How a client names one of its APIs in a management URL: by id, or by its unique name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRef {
    /// 24 hex characters.
    Id(Id),
    /// A slug.
    Name(ApiName),
}

impl ApiRef {
    /// Reads a path segment; `None` when it can name no API.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.parse::<Id>() {
            Ok(id) => Some(Self::Id(id)),
            Err(_) => ApiName::parse(raw).ok().map(Self::Name),
        }
    }
}

/// The name an API is shown under: what the client asked for, trimmed; 1..=100 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// The longest display name, in characters (after trimming).
    pub const MAX_CHARS: usize = 100;

    /// Validates a requested name; `field` names it in the violation.
    pub fn new(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        let trimmed = raw.trim();
        if !(1..=Self::MAX_CHARS).contains(&trimmed.chars().count()) {
            return Err(FieldViolation::new(
                field,
                format!("must be 1 to {} characters long", Self::MAX_CHARS),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An endpoint's name: 1..=64 characters of `a-z A-Z 0-9 _ -`, never `keys` (in any case),
/// which `/api/{api_id}/keys` uses.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EndpointName(String);

impl EndpointName {
    /// The longest endpoint name, in characters.
    pub const MAX_CHARS: usize = 64;
    /// The name no endpoint may have, in any case: `/api/{api_id}/keys` manages keys.
    pub const RESERVED: &'static str = "keys";

    /// Validates `raw`; `field` (a JSON pointer) names it in the violation.
    pub fn new(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        if !(1..=Self::MAX_CHARS).contains(&raw.len())
            || !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(FieldViolation::new(
                field,
                format!(
                    "must be 1 to {} characters of a-z, A-Z, 0-9, '_' and '-'",
                    Self::MAX_CHARS
                ),
            ));
        }
        if raw.eq_ignore_ascii_case(Self::RESERVED) {
            return Err(FieldViolation::new(
                field,
                "'keys' is reserved (/api/{api_id}/keys manages keys)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EndpointName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointName({})", self.0)
    }
}

/// One endpoint of an API and the schema its records must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The endpoint's name, unique within its API.
    pub name: EndpointName,
    /// The JSON Schema of its records, as the owner submitted it.
    pub schema: Value,
    /// Its single-field indexes, in the order they were declared (a store may number them by
    /// position, so an index keeps its place: declarations are only ever appended).
    pub indexes: Vec<FieldIndex>,
}

impl Endpoint {
    /// The fields of every index, building or ready, in declaration order: what a record
    /// write keeps up to date.
    pub fn indexed_fields(&self) -> Vec<String> {
        self.indexes.iter().map(|i| i.field.clone()).collect()
    }

    /// The position of the ready index on `field`, if there is one: what a query may use.
    pub fn ready_index(&self, field: &str) -> Option<usize> {
        self.indexes
            .iter()
            .position(|i| i.field == field && i.state == IndexState::Ready)
    }
}

/// The most indexes one endpoint may declare. On MongoDB each index position is two real
/// indexes shared by every endpoint of every API, and every record write updates them all.
pub const MAX_INDEXES_PER_ENDPOINT: usize = 4;

/// A single-field index of an endpoint's records (§11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIndex {
    /// The top-level field indexed.
    pub field: String,
    /// Whether it can serve queries yet.
    pub state: IndexState,
}

/// Where an index is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    /// Declared on an endpoint that had records: kept up to date by every write, and being
    /// filled in for the records before it; not used by queries yet.
    Building,
    /// Holds every record of the endpoint; queries use it.
    Ready,
}

impl IndexState {
    /// The state as the contract and the stores spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Building => "building",
            Self::Ready => "ready",
        }
    }

    /// Reads a stored state; anything unknown is `Building`, which is always safe.
    pub fn parse(text: &str) -> Self {
        if text == "ready" {
            Self::Ready
        } else {
            Self::Building
        }
    }
}

/// A user-defined API: its owner, unique name, and endpoints with their schemas.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiDefinition {
    /// The API's id.
    pub id: Id,
    /// The account that owns it.
    pub owner_id: Id,
    /// The unique slug of record URLs; never changes.
    pub name: ApiName,
    /// The name it is shown under; the owner may change it.
    pub display_name: DisplayName,
    /// Its endpoints, in the order they were added.
    pub endpoints: Vec<Endpoint>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Counts changes: a write succeeds only against the revision it read, and compiled
    /// schemas are cached per revision.
    pub revision: u64,
}

impl ApiDefinition {
    /// What the definition counts against its owner's byte quota: its display name, and each
    /// endpoint's name and schema as compact JSON.
    pub fn size(&self) -> usize {
        self.display_name.as_str().len()
            + self
                .endpoints
                .iter()
                .map(|e| {
                    e.name.as_str().len() + serde_json::to_vec(&e.schema).map_or(0, |v| v.len())
                })
                .sum::<usize>()
    }

    /// The endpoint called `name`.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoint_index(name)
            .map(|index| &self.endpoints[index])
    }

    /// Whether any endpoint has an index still being built.
    pub fn has_building_index(&self) -> bool {
        self.endpoints
            .iter()
            .any(|e| e.indexes.iter().any(|i| i.state == IndexState::Building))
    }

    /// The position in `endpoints` of the endpoint called `name`.
    pub fn endpoint_index(&self, name: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.name.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_dashed_and_bounded() {
        assert_eq!(ApiName::slug_of("My API").as_str(), "my-api");
        assert_eq!(
            ApiName::slug_of("  Orders & Stock!! 2 ").as_str(),
            "orders-stock-2"
        );
        assert_eq!(ApiName::slug_of("日本語").as_str(), "api");
        assert_eq!(ApiName::slug_of("Ünïcode").as_str(), "n-code");
        assert!(ApiName::slug_of(&"x".repeat(100)).as_str().len() <= 40);
        let slug = ApiName::slug_of("a-".repeat(30).as_str());
        assert!(!slug.as_str().ends_with('-'), "{slug}");
        assert!(ApiName::parse(slug.as_str()).is_ok());
    }

    #[test]
    fn route_words_and_ids_are_reserved() {
        for word in [
            "data",
            "register",
            "token",
            "keys",
            "Create API",
            "Users",
            "v1",
        ] {
            assert!(ApiName::slug_of(word).is_reserved(), "{word}");
        }
        assert!(ApiName::slug_of("6553f1000000000000000001").is_reserved());
        assert!(!ApiName::slug_of("My API").is_reserved());
    }

    #[test]
    fn endpoint_names_follow_the_contract() {
        for good in ["endpoint1", "Orders_2", "a-b", &"e".repeat(64)] {
            assert!(EndpointName::new(good, "/endpoints/0").is_ok(), "{good}");
        }
        for bad in ["", "keys", "KEYS", "a/b", "a b", "é", &"e".repeat(65)] {
            let violation = EndpointName::new(bad, "/endpoints/3").expect_err(bad);
            assert_eq!(violation.field, "/endpoints/3");
        }
    }

    #[test]
    fn api_refs_are_ids_or_names() {
        assert!(matches!(
            ApiRef::parse("6553f1000000000000000001"),
            Some(ApiRef::Id(_))
        ));
        assert!(matches!(ApiRef::parse("my-api"), Some(ApiRef::Name(_))));
        assert_eq!(ApiRef::parse("My API"), None);
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::new("  My API ", "api_name").map(|n| n.as_str().to_owned()),
            Ok("My API".to_owned())
        );
        assert!(DisplayName::new("   ", "api_name").is_err());
        assert!(DisplayName::new("a\u{7}", "api_name").is_err());
        assert!(DisplayName::new(&"n".repeat(101), "api_name").is_err());
    }
}
