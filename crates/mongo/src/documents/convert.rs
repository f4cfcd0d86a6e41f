//! Conversions every document shares: ids as ObjectIds, times as BSON dates.

use chrono::{DateTime, Utc};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime as BsonDateTime;

/// The ObjectId of a domain id (always valid: both are 24 hex characters).
pub fn object_id(id: &Id) -> Result<ObjectId> {
    ObjectId::parse_str(id.as_str())
        .map_err(|e| Error::Internal(format!("id is not an ObjectId: {e}")))
}

/// The domain id of an ObjectId.
pub fn domain_id(id: ObjectId) -> Result<Id> {
    id.to_hex()
        .parse()
        .map_err(|_| Error::Internal("stored ObjectId is not an id".into()))
}

/// A BSON date of a domain time.
pub fn bson_time(at: DateTime<Utc>) -> BsonDateTime {
    BsonDateTime::from_millis(at.timestamp_millis())
}

/// The domain time of a BSON date.
pub fn domain_time(at: BsonDateTime) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(at.timestamp_millis())
        .ok_or_else(|| Error::Internal("stored date is out of range".into()))
}

pub(crate) fn stored<T, E: std::fmt::Display>(result: std::result::Result<T, E>) -> Result<T> {
    result.map_err(|e| Error::Internal(format!("stored account is invalid: {e}")))
}
