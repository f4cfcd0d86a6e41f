//! Opening the store, reads on the blocking pool, and writes through the group committer.

use std::path::Path;
use std::sync::Arc;

use keygate_domain::{Error, Result};
use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::group_commit::GroupCommitter;
use crate::read_pool::ReadPool;
use crate::record_rows::RecordCounts;
use crate::rows::EventRow;
use crate::scan_blocks;
use crate::tables;
use crate::unavailable::OrUnavailable;

/// The file the store keeps inside `database.path`.
const FILE_NAME: &str = "keygate.redb";

/// redb's page cache. Its default (1 GiB) lets a busy server's resident memory grow with the
/// data file; 32 MiB keeps it bounded while holding every hot index page of a typical store.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// The embedded store. Cheap to clone; every clone shares one database file and one writer.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: Arc<GroupCommitter>,
    /// Records per endpoint, counted at open and kept by each committed write.
    pub(crate) record_counts: Arc<RecordCounts>,
    /// The threads that run scans (see [`Self::read`]).
    readers: Arc<ReadPool>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `directory`. Fails if another process has it open.
    pub fn open(directory: &Path) -> Result<Self> {
        std::fs::create_dir_all(directory).map_err(|e| {
            Error::Unavailable(format!(
                "cannot create data directory {}: {e}",
                directory.display()
            ))
        })?;
        // Accounts, sessions and private data live here: owner only, even if the directory
        // or the file came back from a backup with looser permissions.
        restrict(directory, 0o700)?;
        let path = directory.join(FILE_NAME);
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => Error::Unavailable(format!(
                    "{} is already in use by another process",
                    path.display()
                )),
                other => Error::Unavailable(format!("cannot open {}: {other}", path.display())),
            })?;
        restrict(&path, 0o600)?;
        let db = Arc::new(db);
        let mut store = Self {
            writer: Arc::new(GroupCommitter::start(db.clone())?),
            db,
            record_counts: Arc::default(),
            readers: Arc::new(ReadPool::start(reading_threads())?),
        };
        store.create_tables()?;
        scan_blocks::build_if_incomplete(&store.db)?;
        store.record_counts = Arc::new(RecordCounts::new(
            store.read_now(scan_blocks::records_per_endpoint)?,
        ));
        Ok(store)
    }

    fn create_tables(&self) -> Result<()> {
        let txn = self.db.begin_write().or_unavailable()?;
        tables::create_all(&txn).or_unavailable()?;
        txn.commit().or_unavailable()
    }

    /// Runs `work`, a point lookup, in a read transaction on the calling thread. A lookup
    /// touches a few B-tree pages, almost always in redb's cache (or else the OS page cache):
    /// microseconds, less than the two thread wake-ups of a hop to the blocking pool, which
    /// were most of an authenticated request's cost. Scans go through [`Self::read`].
    pub(crate) fn read_now<T>(
        &self,
        work: impl FnOnce(&ReadTransaction) -> Result<T>,
    ) -> Result<T> {
        let txn = self.db.begin_read().or_unavailable()?;
        work(&txn)
    }

    /// Runs `work`, a scan whose length depends on the data, in a read transaction on one of
    /// the store's reading threads ([`reading_threads`] of them), so it never holds up the
    /// requests sharing this worker thread, and a burst of scans waits its turn.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T> + Send + 'static,
    {
        self.readers.read(self.db.clone(), work).await
    }

    /// Runs `work` as one atomic write on the store's writer thread: it lands whole only if it
    /// succeeds, so a failed check leaves nothing half-written, and is answered only once it
    /// is on disk. It shares a transaction and a flush with the writes queued beside it, and
    /// may run again alone if one of those fails (see `group_commit`): `work` must only
    /// touch the transaction it is given.
    ///
    /// An audit event the use case attached to this change (`AuditTrail::around`) is written
    /// in the same transaction, so the change and its event land together or not at all (§13).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        match keygate_domain::audit::take_attached_event() {
            None => self.writer.write(work).await,
            Some(event) => {
                let event = EventRow::of(&event)?;
                self.writer
                    .write(move |txn| {
                        let outcome = work(txn)?;
                        event.insert(txn)?;
                        Ok(outcome)
                    })
                    .await
            }
        }
    }

    /// Runs `work` like [`Self::write`], leaving any attached audit event to a later write:
    /// for the audit log's own writes.
    pub(crate) async fn write_unaudited<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// Runs `work` like [`Self::write`], answering once committed rather than once durable:
    /// only for a quota reservation that precedes its write (see `group_commit`).
    pub(crate) async fn write_answered_on_commit<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.writer.write_answered_on_commit(work).await
    }

    /// Succeeds when a read transaction can be opened and the writer can take writes.
    pub(crate) async fn check(&self) -> Result<()> {
        self.writer.check()?;
        self.read_now(|_| Ok(()))
    }
}

/// How many scans run at once: one per core. Scans are CPU-bound (their pages are almost
/// always cached), and every reading thread's allocator arena comes to hold up to a page
/// cache's worth of pages it read: measured at 10⁶ records, counting 500 000 index entries
/// over and over took the server to 180 MiB with four threads.
fn reading_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Sets `path`'s permission bits to `mode`; a no-op off Unix.
fn restrict(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            Error::Unavailable(format!(
                "cannot restrict {} to its owner: {e}",
                path.display()
            ))
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}
