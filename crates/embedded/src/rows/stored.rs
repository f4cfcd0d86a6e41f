//! A value kept in a table as JSON, and the one encoding every table's rows share.

use keygate_domain::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value kept in a table as JSON: what it is written as, and how it comes back.
pub(crate) trait Stored: Sized {
    /// Its shape in the file.
    type Row: Serialize + DeserializeOwned;
    /// The row to write.
    fn to_row(&self) -> Self::Row;
    /// The value a row read back holds.
    fn from_row(row: Self::Row) -> Self;
}

/// Serialises a stored value.
pub(crate) fn encode<T: Stored>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(&value.to_row())
        .map_err(|e| Error::Internal(format!("cannot encode document: {e}")))
}

/// Reads a stored value back, validating it on the way.
pub(crate) fn decode<T: Stored>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice::<T::Row>(bytes)
        .map(T::from_row)
        .map_err(|e| Error::Internal(format!("stored document is unreadable: {e}")))
}
