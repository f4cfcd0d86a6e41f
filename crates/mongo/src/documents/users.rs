//! An account as stored in `users`: the only document that holds a password hash.

use keygate_domain::accounts::{Age, Email, Gender, PersonName, Role, User, Username};
use keygate_domain::Result;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime as BsonDateTime;
use serde::{Deserialize, Serialize};

use super::convert::{bson_time, domain_id, domain_time, object_id, stored};

/// An account as stored in `users`.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// The key of the unique username index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username_lower: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gender: Option<String>,
    role: String,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
    #[serde(default)]
    revision: i64,
    #[serde(default)]
    deleting: bool,
    #[serde(default)]
    email_verified: bool,
    /// Only while an address change waits for its proof (§12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_email: Option<String>,
}

impl UserDocument {
    /// The document of `user`.
    pub fn from_user(user: &User) -> Result<Self> {
        Ok(Self {
            id: object_id(&user.id)?,
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            username_lower: user.username.as_ref().map(Username::lowercase),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            password_hash: user.password_hash.clone(),
            name: user.name.as_ref().map(|n| n.as_str().to_owned()),
            full_name: user.full_name.as_ref().map(|n| n.as_str().to_owned()),
            age: user.age.map(|a| i64::from(a.years())),
            gender: user.gender.as_ref().map(|g| g.as_str().to_owned()),
            role: user.role.as_str().to_owned(),
            created_at: bson_time(user.created_at),
            updated_at: bson_time(user.updated_at),
            revision: stored(i64::try_from(user.revision))?,
            deleting: user.deleting,
            email_verified: user.email_verified,
            pending_email: user.pending_email.as_ref().map(|e| e.as_str().to_owned()),
        })
    }

    /// The account this document holds, validated.
    pub fn into_user(self) -> Result<User> {
        Ok(User {
            id: domain_id(self.id)?,
            username: stored(self.username.as_deref().map(Username::new).transpose())?,
            email: stored(self.email.as_deref().map(Email::new).transpose())?,
            password_hash: self.password_hash,
            name: stored(
                self.name
                    .as_deref()
                    .map(|n| PersonName::new(n, "name"))
                    .transpose(),
            )?,
            full_name: stored(
                self.full_name
                    .as_deref()
                    .map(|n| PersonName::new(n, "full_name"))
                    .transpose(),
            )?,
            age: stored(self.age.map(Age::new).transpose())?,
            gender: stored(self.gender.as_deref().map(Gender::new).transpose())?,
            role: match self.role.as_str() {
                "admin" => Role::Admin,
                _ => Role::User,
            },
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
            revision: stored(u64::try_from(self.revision))?,
            deleting: self.deleting,
            email_verified: self.email_verified,
            pending_email: stored(self.pending_email.as_deref().map(Email::new).transpose())?,
        })
    }
}
