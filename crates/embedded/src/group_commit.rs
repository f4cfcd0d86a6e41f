//! Group commit: one writer thread runs every write transaction, each committed without a
//! flush, then makes everything it ran since the last flush durable with a single fsync, and
//! only then tells each writer its outcome. Concurrent writers share one fsync instead of
//! queueing for one each, and no write is acknowledged before it is on disk: a `kill -9`
//! after a success loses nothing.
//!
//! Each write keeps its own transaction, so uniqueness checks and failures behave exactly as
//! before: a write whose work fails is rolled back alone, and one that panics is rolled back
//! and answered with an error while the thread goes on with the others.
//!
//! What a client may assume when a flush fails: its write was committed but may not be on
//! disk, so it is answered `Unavailable` (503) — an unknown outcome, which the services treat
//! as "may have landed". A disk that failed an fsync cannot be trusted to keep what it
//! acknowledges later, so from then on every write is refused and the store reports itself
//! unavailable (`/ready` answers 503) until the process is restarted and redb recovers the
//! file to its last durable commit.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use keygate_domain::{Error, Result};
use redb::{Database, Durability, WriteTransaction};

use crate::unavailable::OrUnavailable;

/// The most writes one flush covers: bounds the wait of the first writer of a batch.
const MAX_BATCH: usize = 256;

/// What a write hands back once its batch's flush is known: sends its outcome.
type Completion = Box<dyn FnOnce(&Result<()>) + Send>;
/// A write: runs its transaction (unflushed) and returns how to report it.
type Job = Box<dyn FnOnce(&Database) -> Completion + Send>;

/// The writer thread and the queue into it. Dropping it drains the queue and joins the
/// thread, so the database file is closed when the last store handle goes.
pub(crate) struct GroupCommitter {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set once a flush has failed: no write is accepted after that.
    failed: Arc<AtomicBool>,
}

impl GroupCommitter {
    /// Starts the writer thread for `db`.
    pub(crate) fn start(db: Arc<Database>) -> Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let thread = std::thread::Builder::new()
            .name("keygate-writer".into())
            .spawn(move || run(&db, &receiver, &flag))
            .map_err(|e| Error::Unavailable(format!("cannot start the store's writer: {e}")))?;
        Ok(Self {
            queue: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            failed,
        })
    }

    /// Whether writes can be made: the writer thread runs and no flush has failed.
    pub(crate) fn check(&self) -> Result<()> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(Error::Unavailable(
                "the embedded store failed to flush to disk; restart Keygate".into(),
            ));
        }
        let running = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_some_and(|thread| !thread.is_finished());
        if running {
            Ok(())
        } else {
            Err(Error::Unavailable("the store's writer has stopped".into()))
        }
    }

    /// Runs `work` in a write transaction of its own; answers once it is durable (or failed).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.check()?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db: &Database| {
            let outcome = run_unflushed(db, work);
            Box::new(move |flushed: &Result<()>| {
                let outcome = outcome.and_then(|value| match flushed {
                    Ok(()) => Ok(value),
                    Err(e) => Err(Error::Unavailable(format!("embedded store flush: {e}"))),
                });
                let _ = reply.send(outcome);
            })
        });
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|queue| queue.send(job).is_ok());
        if sent != Some(true) {
            return Err(Error::Unavailable("the store's writer has stopped".into()));
        }
        // Dropped unanswered only when the write panicked (and was rolled back).
        answer.await.map_err(|_| {
            Error::Internal("a write failed unexpectedly and was rolled back".into())
        })?
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            let _ = thread.join();
        }
    }
}

/// One write transaction, committed without a flush; rolled back if `work` fails.
fn run_unflushed<T>(db: &Database, work: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
    let mut txn = db.begin_write().or_unavailable()?;
    txn.set_durability(Durability::None)
        .map_err(|e| Error::Unavailable(format!("embedded store durability: {e}")))?;
    let value = work(&txn)?;
    txn.commit().or_unavailable()?;
    Ok(value)
}

/// Makes every unflushed commit durable: an empty transaction committed with an fsync.
fn flush(db: &Database) -> Result<()> {
    let txn = db.begin_write().or_unavailable()?;
    txn.commit().or_unavailable()
}

/// Runs one job, rolling it back (dropping its transaction) if it panics; `None` then, and
/// its writer is answered by the dropped reply.
fn run_job(db: &Database, job: Job) -> Option<Completion> {
    catch_unwind(AssertUnwindSafe(|| job(db))).ok()
}

/// The writer loop: take what is queued (at least one write), run it, flush once, report.
fn run(db: &Database, queue: &mpsc::Receiver<Job>, failed: &AtomicBool) {
    while let Ok(first) = queue.recv() {
        let mut completions: Vec<Completion> = run_job(db, first).into_iter().collect();
        while completions.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => completions.extend(run_job(db, job)),
                Err(_) => break,
            }
        }
        let flushed = if failed.load(Ordering::SeqCst) {
            Err(Error::Unavailable("an earlier flush failed".into()))
        } else {
            flush(db)
        };
        if flushed.is_err() {
            failed.store(true, Ordering::SeqCst);
        }
        for complete in completions {
            complete(&flushed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableTable;

    #[tokio::test]
    async fn a_panicking_write_is_rolled_back_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Arc::new(Database::create(dir.path().join("t.redb")).expect("a database"));
        let writer = GroupCommitter::start(db).expect("a writer");
        const T: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("t");
        let panicked: Result<()> = writer
            .write(|txn| {
                txn.open_table(T)
                    .or_unavailable()?
                    .insert("a", 1)
                    .or_unavailable()?;
                panic!("a bug in one write")
            })
            .await;
        assert!(matches!(panicked, Err(Error::Internal(_))), "{panicked:?}");
        writer.check().expect("the writer still runs");
        let written = writer
            .write(|txn| {
                let mut table = txn.open_table(T).or_unavailable()?;
                let before = table.get("a").or_unavailable()?.map(|v| v.value());
                table.insert("b", 2).or_unavailable()?;
                Ok(before)
            })
            .await
            .expect("the next write succeeds");
        assert_eq!(written, None, "the panicked write was rolled back");
    }
}
