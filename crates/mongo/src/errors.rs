//! Driver failures as domain errors. Driver text goes to logs through the error's message,
//! never to a client: the server maps `Unavailable` and `Internal` to fixed responses.

use keygate_domain::{ConflictKind, Error};
use mongodb::error::{ErrorKind, WriteFailure};

use crate::indexes::{
    APIS_NAME_INDEX, API_KEYS_PUBLIC_ID_INDEX, DATA_KEY_INDEX, USERS_EMAIL_INDEX,
    USERS_USERNAME_INDEX,
};

const DUPLICATE_KEY: i32 = 11000;

/// Which uniqueness rule a duplicate-key message names, by index name.
fn conflict_from_message(message: &str) -> ConflictKind {
    if message.contains(USERS_EMAIL_INDEX) {
        ConflictKind::Email
    } else if message.contains(USERS_USERNAME_INDEX) {
        ConflictKind::Username
    } else if message.contains(DATA_KEY_INDEX) {
        ConflictKind::DataKey
    } else if message.contains(APIS_NAME_INDEX) {
        ConflictKind::ApiName
    } else if message.contains(API_KEYS_PUBLIC_ID_INDEX) {
        ConflictKind::Other("API key id".into())
    } else {
        ConflictKind::Other("document".into())
    }
}

/// Translates one driver error.
pub fn from_driver(error: mongodb::error::Error) -> Error {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) if write.code == DUPLICATE_KEY => {
            Error::Conflict(conflict_from_message(&write.message))
        }
        ErrorKind::Command(command) if command.code == DUPLICATE_KEY => {
            Error::Conflict(conflict_from_message(&command.message))
        }
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Authentication { .. }
        | ErrorKind::Shutdown => Error::Unavailable(format!("MongoDB: {error}")),
        ErrorKind::Write(WriteFailure::WriteConcernError(_)) => {
            Error::Unavailable(format!("MongoDB write concern: {error}"))
        }
        _ => Error::Internal(format!("MongoDB: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_key_messages_name_the_field_by_index() {
        let email = format!(
            "E11000 duplicate key error collection: k.users index: {USERS_EMAIL_INDEX} dup key"
        );
        assert_eq!(conflict_from_message(&email), ConflictKind::Email);
        let name = format!("E11000 duplicate key error index: {USERS_USERNAME_INDEX}");
        assert_eq!(conflict_from_message(&name), ConflictKind::Username);
        assert!(matches!(
            conflict_from_message("E11000 _id_"),
            ConflictKind::Other(_)
        ));
    }
}
