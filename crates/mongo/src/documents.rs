//! The stored shape of each entity, owned by this adapter. Ids are ObjectIds, times are BSON
//! dates (millisecond precision), and documents read back are validated into domain values.
//! One file per collection, named as the embedded store's `rows/` are.

mod apis;
mod audit;
mod convert;
mod data;
mod factors;
mod one_time;
mod outbox;
mod records;
mod sessions;
mod signing_keys;
mod users;

pub(crate) use apis::{ApiDocument, ApiKeyDocument};
pub(crate) use audit::{audit_document, audit_event_of};
pub(crate) use convert::{bson_time, object_id};
pub(crate) use data::{DataDocument, ListedDocument};
pub(crate) use factors::{out_of_range, FactorsDocument};
pub(crate) use one_time::{secret_document, secret_of};
pub(crate) use outbox::{mail_document, mail_of};
pub(crate) use records::{index_slots, RecordDocument};
pub(crate) use sessions::{RefreshTokenDocument, SessionDocument};
pub(crate) use signing_keys::SigningKeyDocument;
pub(crate) use users::UserDocument;
