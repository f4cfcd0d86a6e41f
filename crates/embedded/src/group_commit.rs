//! Group commit: one writer thread runs every write transaction, each committed without a
//! flush, then makes everything it ran since the last flush durable with a single fsync, and
//! only then tells each writer its outcome. Concurrent writers share one fsync instead of
//! queueing for one each, and no write is acknowledged before it is on disk: a `kill -9`
//! after a success loses nothing.
//!
//! Each write keeps its own transaction, so uniqueness checks and failures behave exactly as
//! before: a write whose work fails is rolled back alone.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use keygate_domain::{Error, Result};
use redb::{Database, Durability, WriteTransaction};

use crate::store::OrUnavailable;

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
}

impl GroupCommitter {
    /// Starts the writer thread for `db`.
    pub(crate) fn start(db: Arc<Database>) -> Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("keygate-writer".into())
            .spawn(move || run(&db, &receiver))
            .map_err(|e| Error::Unavailable(format!("cannot start the store's writer: {e}")))?;
        Ok(Self {
            queue: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `work` in a write transaction of its own; answers once it is durable (or failed).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
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
        answer
            .await
            .map_err(|_| Error::Internal("the store's writer dropped a write".into()))?
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

/// The writer loop: take what is queued (at least one write), run it, flush once, report.
fn run(db: &Database, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut completions = vec![first(db)];
        while completions.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => completions.push(job(db)),
                Err(_) => break,
            }
        }
        let flushed = flush(db);
        for complete in completions {
            complete(&flushed);
        }
    }
}
