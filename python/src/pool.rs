//! The connections of one store.
//!
//! A `ContactStore` is one SQLite connection (`Send`, not `Sync`). A Python store is
//! shared by threads, so it keeps a small pool of them on the same file rather than
//! one behind a mutex: in WAL mode readers never wait for each other or for the
//! writer, so a resolve of a known caller on one thread is not held up by an export
//! or a merge on another, and SQLite itself orders the writers (each waits up to the
//! busy timeout). Connections are opened when calls need them, up to `size`; a call
//! beyond that waits for one to be given back.
//!
//! A connection must never be used, or closed, by a process forked from the one that
//! opened it (SQLite: "do not carry an open connection across a fork"). The pool
//! remembers the process that opened it: a call from any other is refused before a
//! connection is touched, and a pool dropped in another process leaks its connections
//! instead of closing them.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use contactstore::{ContactStore, Settings};

use crate::failure::Failure;

pub(crate) struct Pool {
    path: Option<PathBuf>,
    settings: Settings,
    size: usize,
    pid: u32,
    state: Mutex<State>,
    returned: Condvar,
}

struct State {
    idle: Vec<ContactStore>,
    open: usize,
    closed: bool,
}

impl Pool {
    /// Opens the first connection (so that a bad path fails here, not on first use).
    pub(crate) fn open(path: PathBuf, settings: Settings, size: usize) -> Result<Self, Failure> {
        let path = (path.as_os_str() != ":memory:").then_some(path);
        // An in-memory database exists in its connection only: one connection.
        let size = if path.is_some() { size } else { 1 };
        let first = connect(path.as_ref(), &settings)?;
        Ok(Pool {
            path,
            settings,
            size,
            pid: std::process::id(),
            state: Mutex::new(State {
                idle: vec![first],
                open: 1,
                closed: false,
            }),
            returned: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No state is left half-changed across a panic: the guard is only held to
        // push, pop and count.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `op` with a connection of its own.
    pub(crate) fn with<T>(
        &self,
        op: impl FnOnce(&ContactStore) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        if std::process::id() != self.pid {
            return Err(Failure::Forked);
        }
        let store = self.take()?;
        // Given back even if `op` panics (pyo3 turns the panic into an exception).
        let guard = Lent {
            pool: self,
            store: Some(store),
        };
        op(guard.store.as_ref().expect("lent store"))
    }

    fn take(&self) -> Result<ContactStore, Failure> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return Err(Failure::Closed);
            }
            if let Some(store) = state.idle.pop() {
                return Ok(store);
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return connect(self.path.as_ref(), &self.settings).inspect_err(|_| {
                    self.lock().open -= 1;
                    self.returned.notify_one();
                });
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, store: ContactStore) {
        let mut state = self.lock();
        if state.closed {
            state.open -= 1;
            drop(state);
            drop(store);
        } else {
            state.idle.push(store);
            drop(state);
        }
        self.returned.notify_one();
    }

    /// Closes the idle connections; connections in use close when given back.
    pub(crate) fn close(&self) {
        if std::process::id() != self.pid {
            return;
        }
        let idle = {
            let mut state = self.lock();
            state.closed = true;
            state.open -= state.idle.len();
            std::mem::take(&mut state.idle)
        };
        drop(idle);
        self.returned.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // Forked: these connections belong to the parent. Closing them here could
            // checkpoint or unlink its WAL under it; leak them instead.
            let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
            std::mem::forget(std::mem::take(&mut state.idle));
        }
    }
}

struct Lent<'p> {
    pool: &'p Pool,
    store: Option<ContactStore>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pool.give_back(store);
        }
    }
}

fn connect(path: Option<&PathBuf>, settings: &Settings) -> Result<ContactStore, Failure> {
    Ok(match path {
        Some(path) => ContactStore::open_with(path, settings.clone())?,
        None => ContactStore::open_in_memory_with(settings.clone())?,
    })
}
