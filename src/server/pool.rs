//! The stores behind the server: one SQLite connection per blocking worker, and one
//! per network thread for quick reads.
//!
//! A [`ContactStore`] is `Send` but not `Sync` and its calls may block (a write waits
//! for the write lock), so store calls run on tokio's blocking pool. A semaphore bounds
//! how many run at once (the number of workers); each running call takes an idle store
//! from the pool, or opens a new connection to the same file, and gives it back
//! afterwards. So the blocking pool never has more connections than workers, and each
//! is used by one thread at a time.
//!
//! A read that is short and never waits for a writer (WAL readers do not) — a known
//! caller's resolve, a find, a get — costs less than the hop to the blocking pool and
//! back (two thread wake-ups), which was most of such a request's time. Those run where
//! the request is, on the network thread ([`Stores::read_here`]), with a connection of
//! a second pool: at most one per network thread, since such a call does not yield. So
//! the server holds up to `workers` plus one connection per network thread. What such a
//! read may still wait for: pages not yet in the operating system's cache (read through
//! the memory map), and, rarely, the busy handler while another process recovers the WAL
//! after a crash or a reader connection is opened; meanwhile that network thread serves
//! no other connection.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use crate::{ContactStore, Error, Org, Result, Settings};

/// Why a store call produced no result of its own.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The library's error (bad request, not found, storage failure).
    Store(Error),
    /// The call could not run or did not return (the worker panicked, the runtime is
    /// shutting down). Nothing about it is safe or useful to show.
    Lost,
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Store(e)
    }
}

/// A bounded pool of stores on one database file.
pub(crate) struct Stores {
    path: PathBuf,
    settings: Settings,
    idle: Mutex<Vec<ContactStore>>,
    permits: Arc<Semaphore>,
    /// Connections for [`Stores::read_here`].
    readers: Mutex<Vec<ContactStore>>,
    /// Whether the database is a PostgreSQL server rather than a file.
    remote: bool,
}

impl Stores {
    /// A pool of at most `workers` connections, starting with `first` (opened by the
    /// caller, which also proved that the file can be opened).
    pub(crate) fn new(
        path: PathBuf,
        settings: Settings,
        first: ContactStore,
        workers: usize,
    ) -> Self {
        let remote = path
            .to_str()
            .is_some_and(|p| p.starts_with("postgres://") || p.starts_with("postgresql://"));
        Stores {
            path,
            settings,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(workers.max(1))),
            readers: Mutex::new(Vec::new()),
            remote,
        }
    }

    /// Runs the read `op` in `org_id` on the calling thread, with a reader connection
    /// of its own. Only for calls that never wait for a writer and take microseconds:
    /// the network thread runs nothing else meanwhile.
    pub(crate) fn read_here<T>(
        &self,
        org_id: &str,
        op: impl FnOnce(&Org<'_>) -> Result<T>,
    ) -> Result<T, CallError> {
        if self.remote {
            // A PostgreSQL read is a network round trip, and its synchronous client
            // runs a runtime of its own: the network thread hands its other tasks to
            // the rest of the runtime while it waits (the server's runtime is
            // multi-threaded).
            return tokio::task::block_in_place(|| self.read_on_this_thread(org_id, op));
        }
        self.read_on_this_thread(org_id, op)
    }

    fn read_on_this_thread<T>(
        &self,
        org_id: &str,
        op: impl FnOnce(&Org<'_>) -> Result<T>,
    ) -> Result<T, CallError> {
        let store = match pop(&self.readers) {
            Some(store) => store,
            None => ContactStore::open_with(&self.path, self.settings.clone())?,
        };
        // As on the blocking pool, a panic is a lost call, not a lost connection; the
        // store it was using is dropped rather than reused.
        let result = catch_unwind(AssertUnwindSafe(|| {
            store.org(org_id).and_then(|org| op(&org))
        }))
        .map_err(|_| CallError::Lost)?;
        push(&self.readers, store);
        Ok(result?)
    }

    /// Runs `op` in `org_id` on a blocking worker with a connection of its own.
    ///
    /// The call holds its worker until `op` returns, even if the request that asked
    /// for it is gone (a client that hangs up does not cut a transaction short).
    pub(crate) async fn call<T, F>(
        self: &Arc<Self>,
        org_id: Arc<str>,
        op: F,
    ) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: FnOnce(&Org<'_>) -> Result<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| CallError::Lost)?;
        let stores = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let store = match stores.take() {
                Some(store) => store,
                None => ContactStore::open_with(&stores.path, stores.settings.clone())?,
            };
            let result = store.org(&org_id).and_then(|org| op(&org));
            stores.give_back(store);
            result
        })
        .await;
        match joined {
            Ok(result) => result.map_err(CallError::Store),
            Err(_) => Err(CallError::Lost),
        }
    }

    fn take(&self) -> Option<ContactStore> {
        pop(&self.idle)
    }

    fn give_back(&self, store: ContactStore) {
        push(&self.idle, store);
    }
}

fn pop(stores: &Mutex<Vec<ContactStore>>) -> Option<ContactStore> {
    stores.lock().unwrap_or_else(PoisonError::into_inner).pop()
}

fn push(stores: &Mutex<Vec<ContactStore>>, store: ContactStore) {
    stores
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(store);
}
