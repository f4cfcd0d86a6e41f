//! Opening the store, reads on the blocking pool, and writes through the group committer.

use std::path::Path;
use std::sync::Arc;

use keygate_domain::{Error, Result};
use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::group_commit::GroupCommitter;
use crate::record_rows::RecordCounts;
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
        };
        store.create_tables()?;
        store.record_counts = Arc::new(store.read_now(RecordCounts::of)?);
        Ok(store)
    }

    fn create_tables(&self) -> Result<()> {
        let txn = self.db.begin_write().or_unavailable()?;
        txn.open_table(tables::USERS).or_unavailable()?;
        txn.open_table(tables::USERS_BY_EMAIL).or_unavailable()?;
        txn.open_table(tables::USERS_BY_USERNAME).or_unavailable()?;
        txn.open_table(tables::SESSIONS).or_unavailable()?;
        txn.open_table(tables::SESSIONS_BY_USER).or_unavailable()?;
        txn.open_table(tables::REFRESH_TOKENS).or_unavailable()?;
        txn.open_table(tables::REFRESH_TOKENS_BY_USER)
            .or_unavailable()?;
        txn.open_table(tables::DATA).or_unavailable()?;
        txn.open_table(tables::APIS).or_unavailable()?;
        txn.open_table(tables::APIS_BY_NAME).or_unavailable()?;
        txn.open_table(tables::APIS_BY_OWNER).or_unavailable()?;
        txn.open_table(tables::API_KEYS).or_unavailable()?;
        txn.open_table(tables::API_KEYS_BY_API).or_unavailable()?;
        txn.open_table(tables::RECORDS).or_unavailable()?;
        txn.open_table(tables::RECORD_INDEX).or_unavailable()?;
        txn.open_table(tables::APIS_BUILDING_INDEXES)
            .or_unavailable()?;
        txn.open_table(tables::USAGE).or_unavailable()?;
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

    /// Runs `work`, a scan whose length depends on the data, in a read transaction on the
    /// blocking pool, so it never holds up the requests sharing this worker thread.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().or_unavailable()?;
            work(&txn)
        })
        .await
        .map_err(|e| Error::Internal(format!("embedded read task failed: {e}")))?
    }

    /// Runs `work` in a write transaction of its own on the store's writer thread; commits only
    /// if it succeeds, so a failed check leaves nothing half-written, and answers only once the
    /// commit is on disk (shared with the writes running beside it: see `group_commit`).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// Succeeds when a read transaction can be opened and the writer can take writes.
    pub(crate) async fn check(&self) -> Result<()> {
        self.writer.check()?;
        self.read_now(|_| Ok(()))
    }
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
