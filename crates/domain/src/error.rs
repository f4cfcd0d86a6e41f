//! The one error type of the domain. Each variant maps to exactly one error code of the HTTP
//! contract; adapters translate their own failures into it.

use std::fmt;

/// Result of every fallible domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One rule a submitted value broke, named by the JSON pointer of that value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldViolation {
    /// JSON pointer (or field name) of the offending value, e.g. `/age`.
    pub field: String,
    /// What is wrong with it, in words a client developer can act on.
    pub message: String,
}

/// The most violations one answer lists: enough to fix a document, never a flood.
pub const MAX_VIOLATIONS: usize = 100;
/// The longest `field` pointer a violation carries, in bytes; a longer one is cut and ends
/// in `…` (a member name may be 1 MiB long, and a pointer repeats every parent's name).
pub const MAX_FIELD_BYTES: usize = 256;
/// The longest `message` a violation carries, in bytes; a longer one is cut and ends in `…`.
pub const MAX_MESSAGE_BYTES: usize = 512;
/// The most bytes of `field` and `message` all violations of one answer carry together.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;

/// `text` cut to at most `max` bytes on a character boundary, ending in `…` if it was cut.
pub fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let ellipsis = '…';
        let mut end = max.saturating_sub(ellipsis.len_utf8());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push(ellipsis);
    }
    text
}

impl FieldViolation {
    /// A violation of the field `field` (a bare name becomes the pointer `/name`); the field
    /// and the message are cut to [`MAX_FIELD_BYTES`] and [`MAX_MESSAGE_BYTES`].
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let field = if field.starts_with('/') || field.is_empty() {
            field
        } else {
            format!("/{field}")
        };
        Self {
            field: truncated(field, MAX_FIELD_BYTES),
            message: truncated(message.into(), MAX_MESSAGE_BYTES),
        }
    }

    /// The bytes this violation adds to an answer.
    fn weight(&self) -> usize {
        self.field.len() + self.message.len()
    }
}

/// At most [`MAX_VIOLATIONS`] of `violations`, each cut to its bounds, and no more of them
/// than fit in [`MAX_DETAILS_BYTES`]: what any answer's `details` may carry.
pub fn bounded(violations: Vec<FieldViolation>) -> Vec<FieldViolation> {
    let mut total = 0;
    violations
        .into_iter()
        .take(MAX_VIOLATIONS)
        .map(|v| FieldViolation::new(v.field, v.message))
        .take_while(|v| {
            total += v.weight();
            total <= MAX_DETAILS_BYTES
        })
        .collect()
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictKind {
    /// Another account already has this email address.
    Email,
    /// Another account already has this username (compared case-insensitively).
    Username,
    /// The caller already stores a value under this key.
    DataKey,
    /// Another API already has this name.
    ApiName,
    /// Any other uniqueness rule, described for the client.
    Other(String),
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email => f.write_str("email"),
            Self::Username => f.write_str("username"),
            Self::DataKey => f.write_str("key"),
            Self::ApiName => f.write_str("API name"),
            Self::Other(what) => f.write_str(what),
        }
    }
}

/// Everything that can go wrong in a use case, one variant per contract error code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Required fields were absent or empty; lists their names.
    #[error("missing parameters: {}", .0.join(", "))]
    MissingParameters(Vec<String>),
    /// Submitted values broke their rules; lists each violation.
    #[error("validation failed ({} violations)", .0.len())]
    Validation(Vec<FieldViolation>),
    /// A link token, login code, mfa token or challenge that is unknown, used or expired.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A correct password of an account whose email is not verified, where that is required.
    #[error("email address not verified")]
    EmailUnverified,
    /// A sensitive change without a fresh proof: neither the current password nor a login
    /// within `auth.reauth_window_secs` (§12).
    #[error("reauthentication required")]
    ReauthenticationRequired,
    /// Wrong identifier or password: one answer for both.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A token was missing, malformed, expired, revoked or wrongly signed.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// An API key was missing, malformed, unknown, revoked or expired.
    #[error("invalid API key: {0}")]
    InvalidApiKey(&'static str),
    /// Authenticated, but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such resource, or one that belongs to someone else.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken.
    #[error("{0} already exists")]
    Conflict(ConflictKind),
    /// A document is larger than its limit; the text says which limit, for the client.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A record query that no ready index can serve on an endpoint too large to scan; names
    /// the field to index and, where it helps, the order to ask for.
    #[error("index required: {message}")]
    IndexRequired {
        /// The field an index would serve the query on.
        field: String,
        /// What to do, for the client.
        message: String,
    },
    /// The account would store more than its quota allows; the text says which, for the client.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// Too many failures; the client may try again after this many seconds.
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited {
        /// Seconds until the next attempt can succeed.
        retry_after_secs: u64,
    },
    /// Too much work is queued (password hashing); the client may retry after this long.
    #[error("overloaded; retry in {retry_after_secs}s")]
    Overloaded {
        /// Seconds after which a retry may be served.
        retry_after_secs: u64,
    },
    /// The database (or another dependency) cannot be reached right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the text is for logs, never for clients.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// A validation error with a single violation.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldViolation::new(field, message)])
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.message)
    }
}

impl Error {
    /// `MissingParameters` naming each field of `fields` whose flag says it is absent, in
    /// order: what every form answers when required fields are missing.
    pub fn missing(fields: &[(&str, bool)]) -> Self {
        Self::MissingParameters(
            fields
                .iter()
                .filter(|(_, absent)| *absent)
                .map(|(field, _)| (*field).to_owned())
                .collect(),
        )
    }
}

/// Collects every violation of a request, so the client learns of all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// The value of `result`, or `None` after noting its violation.
    pub fn keep<T>(&mut self, result: std::result::Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    /// Notes one violation.
    pub fn push(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    /// `value` when nothing was violated, else `Error::Validation` with every violation. A
    /// field that failed to parse is `None` and noted its violation; were one `None` without
    /// any, the answer would still be a 400 (an empty list), never an internal error.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(Error::Validation(self.0)),
        }
    }

    /// `Ok` when nothing was violated, else `Error::Validation` with every violation.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}
