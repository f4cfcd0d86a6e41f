//! Records: JSON documents written to an API's endpoints, each validated against the
//! endpoint's schema, readable and writable with the API's keys or the owner's token.

mod body;
mod document;
mod filter;
mod model;
mod ports;
mod service;

pub use body::RecordBody;
pub use document::{
    check_document, json_pointer, merge_patch, nests_too_deep, MAX_DOCUMENT_DEPTH,
    MAX_RECORD_BYTES, MAX_TOP_LEVEL_FIELDS,
};
pub use filter::{scalar_key, FieldFilter, MAX_FILTERS};
pub use model::{ListBounds, ListedRecords, Record, RemovedRecords};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockRecordRepository;
pub use ports::RecordRepository;
pub use service::{Caller, EndpointAccess, RecordService, RecordServiceSettings};
