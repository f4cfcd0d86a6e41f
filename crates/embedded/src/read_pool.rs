//! The threads that run the store's scans: a fixed few, so a burst of long reads (counts over
//! half a million index entries, scans of `records.max_scan` rows) waits its turn instead of
//! spreading over ever more threads. Each thread of tokio's blocking pool (one pool per actix
//! worker) gets its own allocator arena holding the pages it read, so 32 concurrent counts
//! once took the server from 55 to 234 MiB; a fixed pool keeps both the threads and the
//! memory they hold bounded.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use keygate_domain::{Error, Result};
use redb::{Database, ReadTransaction, ReadableDatabase};

use crate::unavailable::OrUnavailable;

/// A read: runs against the database it is given.
type Job = Box<dyn FnOnce() + Send>;

/// The reading threads and their queue. Dropping it lets the threads finish what they hold
/// and joins them, so no read keeps the database file open after the store is gone.
pub(crate) struct ReadPool {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl ReadPool {
    /// Starts `threads` reading threads.
    pub(crate) fn start(threads: usize) -> Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut handles = Vec::with_capacity(threads.max(1));
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            let handle = std::thread::Builder::new()
                .name(format!("keygate-reader-{i}"))
                .spawn(move || loop {
                    let next = receiver
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    match next {
                        // A panicking read drops its reply (its caller hears an error); the
                        // thread goes on with the next.
                        Ok(job) => {
                            let _ = catch_unwind(AssertUnwindSafe(job));
                        }
                        Err(mpsc::RecvError) => return, // the store is gone
                    }
                })
                .map_err(|e| Error::Unavailable(format!("cannot start a reading thread: {e}")))?;
            handles.push(handle);
        }
        Ok(Self {
            queue: Mutex::new(Some(sender)),
            threads: Mutex::new(handles),
        })
    }

    /// Runs `work` in a read transaction of `db` on one of the pool's threads.
    pub(crate) async fn read<T, F>(&self, db: Arc<Database>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A caller that has gone (a dropped request, a client that hung up) would not read
            // the answer: a queue of abandoned scans must not hold the threads from live ones.
            if reply.is_closed() {
                return;
            }
            let outcome = db.begin_read().or_unavailable().and_then(|txn| work(&txn));
            let _ = reply.send(outcome);
        });
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|queue| queue.send(job).is_ok());
        if sent != Some(true) {
            return Err(Error::Unavailable(
                "the store's readers have stopped".into(),
            ));
        }
        answer
            .await
            .map_err(|_| Error::Internal("a read failed unexpectedly".into()))?
    }
}

impl Drop for ReadPool {
    fn drop(&mut self) {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let threads = std::mem::take(
            &mut *self
                .threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for thread in threads {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn a_panicking_read_is_an_error_and_the_pool_goes_on() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Arc::new(Database::create(dir.path().join("t.redb")).expect("a database"));
        let pool = ReadPool::start(1).expect("a pool");
        let panicked: Result<()> = pool.read(db.clone(), |_| panic!("a bug in one read")).await;
        assert!(matches!(panicked, Err(Error::Internal(_))), "{panicked:?}");
        let answered = pool.read(db, |_| Ok(7)).await.expect("the next read runs");
        assert_eq!(answered, 7);
    }

    #[tokio::test]
    async fn a_read_whose_caller_has_gone_is_skipped() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Arc::new(Database::create(dir.path().join("t.redb")).expect("a database"));
        let pool = Arc::new(ReadPool::start(1).expect("a pool"));
        // Hold the only reading thread until the abandoned read is queued behind it.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, holding) = tokio::sync::oneshot::channel::<()>();
        let busy = {
            let (pool, db) = (pool.clone(), db.clone());
            tokio::spawn(async move {
                pool.read(db, move |_| {
                    let _ = started.send(());
                    let _ = held.recv();
                    Ok(())
                })
                .await
            })
        };
        holding.await.expect("the first read holds the thread");
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let abandoned = pool.read(db.clone(), move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        // Queue it, then drop it: its caller is gone before a thread is free.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), abandoned).await;
        release.send(()).expect("the first read waits");
        busy.await.expect("joined").expect("the first read");
        pool.read(db, |_| Ok(())).await.expect("a later read");
        assert!(!ran.load(Ordering::SeqCst), "the abandoned read ran");
    }

    #[tokio::test]
    async fn dropping_the_pool_releases_the_database_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.redb");
        let db = Arc::new(Database::create(&path).expect("a database"));
        let pool = ReadPool::start(2).expect("a pool");
        pool.read(db.clone(), |_| Ok(())).await.expect("a read");
        drop(pool);
        drop(db);
        Database::create(&path).expect("the file is free again");
    }
}
