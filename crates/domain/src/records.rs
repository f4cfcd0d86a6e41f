//! Records: JSON documents written to an API's endpoints, each validated against the
//! endpoint's schema, readable and writable with the API's keys or the owner's token.

mod document;
mod filter;
mod model;
mod ports;
mod service;

pub use document::{check_field_names, json_pointer, merge_patch, MAX_RECORD_BYTES};
pub use filter::{scalar_key, FieldFilter, MAX_FILTERS};
pub use model::{Record, RemovedRecords};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockRecordRepository;
pub use ports::RecordRepository;
pub use service::{Caller, EndpointAccess, RecordService, RecordServiceSettings};
