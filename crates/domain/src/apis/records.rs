//! Records: JSON documents written to an API's endpoints, each validated against the
//! endpoint's schema, readable and writable with the API's keys or the owner's token.

mod body;
mod collect;
mod document;
mod index_key;
mod model;
mod plan;
mod ports;
mod query;
mod service;

pub use body::RecordBody;
pub use collect::{matches_candidate, PageCollector};
pub use document::{check_document, merge_patch, MAX_RECORD_BYTES, MAX_TOP_LEVEL_FIELDS};
pub use index_key::{
    hex_key, missing_key, number_key, raw_key, string_key, unhex_key, value_key,
    MAX_KEY_VALUE_BYTES,
};
pub use model::{ListBounds, ListedRecords, Record, RemovedRecords};
pub use plan::{Access, FirstPositions, Position, QueryPlan};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockRecordRepository;
pub use ports::RecordRepository;
pub use query::{
    Condition, KeyRange, Operator, RecordQuery, SortOrder, MAX_CONDITIONS, MAX_IN_VALUES,
    MAX_PROJECTED_FIELDS, RESERVED_PARAMETERS,
};
pub(crate) use service::document_rules;
pub use service::{Caller, EndpointAccess, RecordList, RecordService, RecordServiceSettings};
