//! The users table's row: the only thing in Keygate's embedded store that holds a
//! password hash.

use chrono::{DateTime, Utc};
use keygate_domain::accounts::{Age, Email, Gender, PersonName, Role, User, Username};
use keygate_domain::Id;
use serde::{Deserialize, Serialize};

use super::stored::Stored;

/// An account.
#[derive(Serialize, Deserialize)]
pub(crate) struct UserRow {
    id: Id,
    username: Option<Username>,
    email: Option<Email>,
    password_hash: String,
    name: Option<PersonName>,
    full_name: Option<PersonName>,
    age: Option<Age>,
    gender: Option<Gender>,
    role: Role,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Absent in rows written before revisions existed.
    #[serde(default)]
    revision: u64,
    /// Written only while the account is being deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleting: bool,
    /// Written only once the address is verified (absent in older rows: not verified).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    email_verified: bool,
    /// Written only while an address change waits for its proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_email: Option<Email>,
}

impl Stored for User {
    type Row = UserRow;
    fn to_row(&self) -> UserRow {
        UserRow {
            id: self.id.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            password_hash: self.password_hash.clone(),
            name: self.name.clone(),
            full_name: self.full_name.clone(),
            age: self.age,
            gender: self.gender.clone(),
            role: self.role,
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
            deleting: self.deleting,
            email_verified: self.email_verified,
            pending_email: self.pending_email.clone(),
        }
    }
    fn from_row(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            password_hash: row.password_hash,
            name: row.name,
            full_name: row.full_name,
            age: row.age,
            gender: row.gender,
            role: row.role,
            created_at: row.created_at,
            updated_at: row.updated_at,
            revision: row.revision,
            deleting: row.deleting,
            email_verified: row.email_verified,
            pending_email: row.pending_email,
        }
    }
}
