//! The stores behind the server: one SQLite connection per blocking worker.
//!
//! A [`ContactStore`] is `Send` but not `Sync` and its calls block, so every store call
//! runs on tokio's blocking pool. A semaphore bounds how many run at once (the number
//! of workers); each running call takes an idle store from the pool, or opens a new
//! connection to the same file, and gives it back afterwards. So there are never more
//! connections than workers, and each is used by one thread at a time.

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
        Stores {
            path,
            settings,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
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
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn give_back(&self, store: ContactStore) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(store);
    }
}
