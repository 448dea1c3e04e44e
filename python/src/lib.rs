//! `contactstore._native`: the Rust library linked into Python, with no logic of its own.
//!
//! The Python package (`contactstore/__init__.py`) turns keyword arguments into one
//! JSON object per call; here it is deserialized into the library's request type
//! (serde, the same derive the CLI and the shim use), the library is called with the
//! GIL released, and the result goes back as JSON text serialized by serde_json — so
//! a result is byte for byte the `data` the CLI prints and the shim answers.
//!
//! - [`pool`]: the connections of one store (a bounded pool on one file), and the
//!   fork guard.
//! - [`ops`]: the table from an operation's name to its request type and library call.
//! - [`pyio`]: Python binary file objects as `BufRead` / `Write` for import and export.
//! - [`failure`]: every error, raised as the package's `contactstore.Error` subclasses.

#![forbid(unsafe_code)]

mod failure;
mod ops;
mod pool;
mod pyio;

use std::path::PathBuf;
use std::time::Duration;

use contactstore::{Durability, Settings};
use pyo3::prelude::*;

use crate::failure::Failure;
use crate::pool::Pool;

/// One open contactstore database: a small pool of connections to its file.
///
/// Shareable by threads (each call takes a connection of its own); refused in a
/// process forked after it was opened.
#[pyclass(frozen, module = "contactstore._native")]
struct Store {
    pool: Pool,
}

#[pymethods]
impl Store {
    /// Opens (creating or upgrading) the database at `path`; `":memory:"` is a private
    /// in-memory database with a single connection.
    #[new]
    #[pyo3(signature = (path, *, region, recent_messages_cap, durability, busy_timeout, pool_size))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        region: &str,
        recent_messages_cap: i64,
        durability: &str,
        busy_timeout: f64,
        pool_size: i64,
    ) -> PyResult<Self> {
        let settings = settings(region, recent_messages_cap, durability, busy_timeout)
            .map_err(|f| f.into_py(py))?;
        let pool_size = usize::try_from(pool_size)
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| Failure::invalid("pool_size", "must be 1 to 64").into_py(py))?;
        let pool = py
            .detach(|| Pool::open(path, settings, pool_size))
            .map_err(|f| f.into_py(py))?;
        Ok(Store { pool })
    }

    /// Runs the operation `op` in `org_id` (or on the whole store when `None`) with
    /// its arguments as a JSON object; returns the result as JSON text.
    #[pyo3(signature = (org_id, op, args))]
    fn call(&self, py: Python<'_>, org_id: Option<&str>, op: &str, args: &str) -> PyResult<String> {
        py.detach(|| self.pool.with(|store| ops::run(store, org_id, op, args)))
            .map_err(|f| f.into_py(py))
    }

    /// Imports JSON Lines from a file path (`str`) or a binary file object into
    /// `org_id`; returns the summary as JSON text.
    #[pyo3(signature = (org_id, source, on_conflict))]
    fn import_jsonl(
        &self,
        py: Python<'_>,
        org_id: Option<&str>,
        source: Bound<'_, PyAny>,
        on_conflict: &str,
    ) -> PyResult<String> {
        let source = pyio::Source::new(&source)?;
        py.detach(|| {
            self.pool
                .with(|store| ops::import(store, org_id, source, on_conflict))
        })
        .map_err(|f| f.into_py(py))
    }

    /// Exports `org_id`'s contacts as JSON Lines to a file path (`str`, written
    /// privately and renamed into place) or a binary file object; returns the summary
    /// as JSON text.
    #[pyo3(signature = (org_id, target))]
    fn export_jsonl(
        &self,
        py: Python<'_>,
        org_id: Option<&str>,
        target: Bound<'_, PyAny>,
    ) -> PyResult<String> {
        let target = pyio::Target::new(&target)?;
        py.detach(|| self.pool.with(|store| ops::export(store, org_id, target)))
            .map_err(|f| f.into_py(py))
    }

    /// Closes the idle connections; later calls fail. Calls running on other threads
    /// finish first (their connections close when they return).
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.pool.close());
    }

    /// Whether [`Store::close`] was called.
    #[getter]
    fn closed(&self) -> bool {
        self.pool.is_closed()
    }
}

fn settings(
    region: &str,
    recent_messages_cap: i64,
    durability: &str,
    busy_timeout: f64,
) -> Result<Settings, Failure> {
    let durability = match durability {
        "normal" => Durability::Normal,
        "full" => Durability::Full,
        _ => return Err(Failure::invalid("durability", "must be normal or full")),
    };
    let cap = usize::try_from(recent_messages_cap)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or(Failure::invalid(
            "recent_messages_cap",
            "must be at least 1",
        ))?;
    let timeout = Duration::try_from_secs_f64(busy_timeout).map_err(|_| {
        Failure::invalid("busy_timeout", "must be a non-negative number of seconds")
    })?;
    Ok(Settings::default()
        .region(region.parse().map_err(Failure::Library)?)
        .recent_messages_cap(cap)
        .durability(durability)
        .busy_timeout(timeout))
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Store>()?;
    m.add("SCHEMA_VERSION", contactstore::SCHEMA_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
