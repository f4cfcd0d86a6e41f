//! Per-user key-value data: every key belongs to its owner alone.

mod forms;
mod model;
mod ports;
mod service;

pub use forms::{NewEntry, Replacement};
pub use model::{DataEntry, DataKey, ListedEntry};
pub use ports::DataRepository;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockDataRepository;
pub use service::DataService;
