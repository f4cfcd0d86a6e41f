//! Turning the file store's failures into the domain's `Unavailable`.

use keygate_domain::{Error, Result};

/// Turns any redb failure into the domain's error. The database is a local file, so a failure
/// means the disk or the file is unusable: the store is unavailable, not the request wrong.
pub(crate) trait OrUnavailable<T> {
    /// The value, or `Error::Unavailable` naming the failure (for logs only).
    fn or_unavailable(self) -> Result<T>;
}

impl<T, E: Into<redb::Error>> OrUnavailable<T> for std::result::Result<T, E> {
    fn or_unavailable(self) -> Result<T> {
        self.map_err(|e| Error::Unavailable(format!("embedded store: {}", e.into())))
    }
}
