//! Group commit: one writer thread runs every write, the writes queued together in one
//! transaction committed without a flush, then makes everything it ran since the last flush
//! durable with a single fsync, and only then tells each writer its outcome. Concurrent
//! writers share one transaction and one fsync instead of queueing for one each, and no write
//! is acknowledged before it is on disk: a `kill -9` after a success loses nothing.
//!
//! Each write still behaves as if it had its own transaction: when one of a batch fails (a
//! failed check, a storage error) or panics, the batch's transaction is rolled back and every
//! write of it runs again alone, in order, each in a transaction of its own, so a failed
//! write leaves nothing half-written and the others see exactly what they would have seen. A
//! write's work may therefore run twice; it only touches the transaction it is given. One
//! that panics is rolled back and answered with an error while the thread goes on.
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

/// The most writes one transaction and flush cover: bounds the wait of the first writer of a
/// batch, and the work run again when one of them fails.
const MAX_BATCH: usize = 256;

/// When a write's caller hears its outcome.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// After the flush of its batch: an acknowledged write survives a crash.
    WhenDurable,
    /// As soon as its transaction is committed (see `write_answered_on_commit`).
    WhenCommitted,
}

/// A queued write, type-erased for the writer thread.
trait QueuedWrite: Send {
    /// Runs the work in `txn`, keeping its outcome; false if it failed (the transaction must
    /// then not be committed).
    fn run(&mut self, txn: &WriteTransaction) -> bool;
    /// Replaces a kept success by `error`: its transaction could not be committed.
    fn not_committed(&mut self, error: Error);
    /// Its transaction is committed: answers now if it is answered on commit.
    fn committed(&mut self);
    /// Answers with the kept outcome, given how the batch's flush went.
    fn finish(self: Box<Self>, flushed: &Result<()>);
}

/// A write's work, its outcome once run, and where to send it.
struct Pending<T, F> {
    work: F,
    answer_when: Answer,
    outcome: Option<Result<T>>,
    reply: Option<tokio::sync::oneshot::Sender<Result<T>>>,
}

impl<T, F> QueuedWrite for Pending<T, F>
where
    T: Send + 'static,
    F: Fn(&WriteTransaction) -> Result<T> + Send + 'static,
{
    fn run(&mut self, txn: &WriteTransaction) -> bool {
        let outcome = (self.work)(txn);
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        succeeded
    }

    fn not_committed(&mut self, error: Error) {
        if matches!(self.outcome, Some(Ok(_)) | None) {
            self.outcome = Some(Err(error));
        }
    }

    fn committed(&mut self) {
        if self.answer_when == Answer::WhenCommitted {
            if let (Some(reply), Some(outcome)) = (self.reply.take(), self.outcome.take()) {
                let _ = reply.send(outcome);
            }
        }
    }

    fn finish(mut self: Box<Self>, flushed: &Result<()>) {
        let (Some(reply), Some(outcome)) = (self.reply.take(), self.outcome.take()) else {
            return;
        };
        let outcome = outcome.and_then(|value| match flushed {
            Ok(()) => Ok(value),
            Err(e) => Err(Error::Unavailable(format!("embedded store flush: {e}"))),
        });
        let _ = reply.send(outcome);
    }
}

/// The writer thread and the queue into it. Dropping it drains the queue and joins the
/// thread, so the database file is closed when the last store handle goes.
pub(crate) struct GroupCommitter {
    queue: Mutex<Option<mpsc::Sender<Box<dyn QueuedWrite>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set once a flush has failed: no write is accepted after that.
    failed: Arc<AtomicBool>,
}

impl GroupCommitter {
    /// Starts the writer thread for `db`.
    pub(crate) fn start(db: Arc<Database>) -> Result<Self> {
        let (sender, receiver) = mpsc::channel::<Box<dyn QueuedWrite>>();
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

    /// Runs `work` as one atomic write; answers once it is durable (or failed). `work` may
    /// run more than once (see the module's text) and must only touch its transaction.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.submit(work, Answer::WhenDurable).await
    }

    /// Runs `work` like [`Self::write`] but answers as soon as its transaction is committed,
    /// before the flush that makes it durable. Only for bookkeeping whose loss in a crash
    /// errs on the safe side: a quota reservation made before its record. Every later write
    /// is committed after it, so one acknowledged as durable makes this one durable too; a
    /// crash before that loses both, or leaves the account charged for a write that never
    /// landed (refusing early, never late).
    pub(crate) async fn write_answered_on_commit<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.submit(work, Answer::WhenCommitted).await
    }

    async fn submit<T, F>(&self, work: F, answer_when: Answer) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.check()?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let write: Box<dyn QueuedWrite> = Box::new(Pending {
            work,
            answer_when,
            outcome: None,
            reply: Some(reply),
        });
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|queue| queue.send(write).is_ok());
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

/// A write transaction that commits without a flush.
fn begin_unflushed(db: &Database) -> Result<WriteTransaction> {
    let mut txn = db.begin_write().or_unavailable()?;
    txn.set_durability(Durability::None)
        .map_err(|e| Error::Unavailable(format!("embedded store durability: {e}")))?;
    Ok(txn)
}

/// Runs every write of `batch` in one transaction and commits it (without a flush); false,
/// with the transaction rolled back, as soon as one fails or panics.
fn run_together(db: &Database, batch: &mut [Box<dyn QueuedWrite>]) -> bool {
    let Ok(txn) = begin_unflushed(db) else {
        return false;
    };
    for write in batch.iter_mut() {
        match catch_unwind(AssertUnwindSafe(|| write.run(&txn))) {
            Ok(true) => {}
            // Dropping the transaction uncommitted rolls every write of it back.
            _ => return false,
        }
    }
    if txn.commit().is_err() {
        return false;
    }
    for write in batch.iter_mut() {
        write.committed();
    }
    true
}

/// Runs one write in a transaction of its own, committed (without a flush) only if it
/// succeeds; `None` if it panicked (rolled back, and its caller answered by the dropped reply).
fn run_alone(db: &Database, mut write: Box<dyn QueuedWrite>) -> Option<Box<dyn QueuedWrite>> {
    catch_unwind(AssertUnwindSafe(move || {
        match begin_unflushed(db) {
            Ok(txn) => {
                if write.run(&txn) {
                    match txn.commit().or_unavailable() {
                        Ok(()) => write.committed(),
                        Err(error) => write.not_committed(error),
                    }
                }
            }
            Err(error) => write.not_committed(error),
        }
        write
    }))
    .ok()
}

/// Makes every unflushed commit durable: an empty transaction committed with an fsync.
fn flush(db: &Database) -> Result<()> {
    let txn = db.begin_write().or_unavailable()?;
    txn.commit().or_unavailable()
}

/// The writer loop: take what is queued (at least one write), run it in one transaction (or,
/// if one of it fails, each alone), flush once, report.
fn run(db: &Database, queue: &mpsc::Receiver<Box<dyn QueuedWrite>>, failed: &AtomicBool) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        if !run_together(db, &mut batch) {
            batch = batch
                .into_iter()
                .filter_map(|write| run_alone(db, write))
                .collect();
        }
        let flushed = if failed.load(Ordering::SeqCst) {
            Err(Error::Unavailable("an earlier flush failed".into()))
        } else {
            flush(db)
        };
        if flushed.is_err() {
            failed.store(true, Ordering::SeqCst);
        }
        for write in batch {
            write.finish(&flushed);
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

    const COUNTER: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("counter");

    /// Adds one to `name` in the transaction: a write that would land twice if run twice.
    fn increment(txn: &WriteTransaction, name: &str) -> Result<u64> {
        let mut table = txn.open_table(COUNTER).or_unavailable()?;
        let next = table.get(name).or_unavailable()?.map_or(0, |v| v.value()) + 1;
        table.insert(name, next).or_unavailable()?;
        Ok(next)
    }

    fn value_of(db: &Database, name: &str) -> Option<u64> {
        use redb::ReadableDatabase;
        let txn = db.begin_read().expect("a read");
        let table = txn.open_table(COUNTER).expect("the table");
        let value = table.get(name).expect("a read").map(|v| v.value());
        value
    }

    #[tokio::test]
    async fn a_failing_write_of_a_batch_is_rolled_back_alone_and_the_others_land_once() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Arc::new(Database::create(dir.path().join("t.redb")).expect("a database"));
        let writer = Arc::new(GroupCommitter::start(db.clone()).expect("a writer"));
        // Hold the writer thread so the next writes queue up and run as one batch.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Mutex::new(held);
        let blocker = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .write(move |_| {
                        let _ = held
                            .lock()
                            .map(|held| held.recv_timeout(std::time::Duration::from_secs(5)));
                        Ok(())
                    })
                    .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let spawn_write = |name: &'static str, fail: bool| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |txn| {
                        let counted = increment(txn, name)?;
                        if fail {
                            return Err(Error::Internal("refused after writing".into()));
                        }
                        Ok(counted)
                    })
                    .await
            })
        };
        let first = spawn_write("first", false);
        let failing = spawn_write("failing", true);
        let last = spawn_write("first", false);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release.send(()).expect("the blocker waits");
        blocker.await.expect("joined").expect("the blocker lands");
        assert_eq!(first.await.expect("joined").expect("lands"), 1);
        assert!(matches!(
            failing.await.expect("joined"),
            Err(Error::Internal(_))
        ));
        assert_eq!(last.await.expect("joined").expect("lands"), 2);
        assert_eq!(value_of(&db, "first"), Some(2), "each landed exactly once");
        assert_eq!(
            value_of(&db, "failing"),
            None,
            "the failed write left nothing"
        );
    }

    #[tokio::test]
    async fn a_write_answered_on_commit_is_made_durable_by_the_next_durable_write() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.redb");
        {
            let db = Arc::new(Database::create(&path).expect("a database"));
            let writer = GroupCommitter::start(db).expect("a writer");
            let reserved = writer
                .write_answered_on_commit(|txn| increment(txn, "reserved"))
                .await
                .expect("answered once committed");
            assert_eq!(reserved, 1);
            writer
                .write(|txn| increment(txn, "written"))
                .await
                .expect("durable");
        }
        let reopened = Database::create(&path).expect("reopened");
        assert_eq!(value_of(&reopened, "reserved"), Some(1));
        assert_eq!(value_of(&reopened, "written"), Some(1));
    }
}
