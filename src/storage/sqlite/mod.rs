//! The SQLite engine: the connection, its transactions, and the statements of each
//! table (one module a table, every statement written once).

mod activity;
mod backup;
mod busy;
mod changes;
mod check;
mod contacts;
mod documents;
mod findings;
mod identifiers;
mod memories;
mod merges;
mod open;
mod renormalize;
pub(crate) mod schema;
mod wal;

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Row};
use serde::de::DeserializeOwned;

use super::{ChangeRows, Tx};
use crate::error::{ErrorCode, Result};
use crate::model::{IdentifierType, StoredJson};
use crate::settings::Settings;
use crate::timestamp::Timestamp;
use busy::retry_while_busy;

/// An open SQLite database: the connection, the settings it was opened with, and the
/// checkpointing of its WAL. One per thread (a connection is not `Sync`).
pub(crate) struct Db {
    conn: Connection,
    settings: Settings,
    busy: busy::BusyWait,
    wal: wal::WalCheckpoints,
    compaction: changes::CompactionClock,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, or a private one in memory
    /// for `None`, and brings its schema up to date.
    pub(crate) fn open(path: Option<&Path>, settings: Settings) -> Result<Db> {
        let open::Opened { conn, busy, wal } = open::open(path, &settings)?;
        Ok(Db {
            conn,
            settings,
            busy,
            wal,
            compaction: changes::CompactionClock::default(),
        })
    }

    /// Opens the database at `path` for reading only: nothing is created, migrated or
    /// switched (the journal mode stays as it is), and SQLite refuses every write. A
    /// newer or foreign file is refused.
    pub(crate) fn open_read_only(path: &Path, settings: Settings) -> Result<Db> {
        let open::Opened { conn, busy, wal } = open::open_read_only(path, &settings)?;
        Ok(Db {
            conn,
            settings,
            busy,
            wal,
            compaction: changes::CompactionClock::default(),
        })
    }

    /// The settings the database was opened with.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: it waits for other writers, and
    /// commits only if `f` succeeds (an error rolls everything back).
    ///
    /// `SQLITE_BUSY` is retried only where SQLite allows it, until
    /// [`Settings::busy_timeout`] after the call: a `BEGIN` that got no lock (nothing
    /// ran yet) and a `COMMIT` that could not finish (the transaction stays open and
    /// the COMMIT may be repeated). Busy inside `f`, or any other error, rolls back and
    /// is returned: `f` runs at most once.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        let deadline = Instant::now() + self.settings.busy_timeout;
        let open = retry_while_busy(deadline, || Open::begin(&self.conn, "BEGIN IMMEDIATE"))?;
        let value = f(&self.tx())?;
        retry_while_busy(deadline, || open.commit())?;
        self.after_commit();
        Ok(value)
    }

    /// Runs `f` in one read transaction, so that its statements see one snapshot.
    /// (Starting a read snapshot that meets a lock — another process recovering the
    /// WAL, a checkpoint resetting it — calls SQLite's busy handler, so reads wait up
    /// to [`Settings::busy_timeout`] as writes do.)
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        let open = Open::begin(&self.conn, "BEGIN DEFERRED")?;
        let value = f(&self.tx())?;
        open.commit()?;
        Ok(value)
    }

    /// Runs `f` without a transaction around it: for a read of one statement, which
    /// is a consistent snapshot by itself (a known caller's resolve).
    pub(crate) fn read_one<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        f(&self.tx())
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction that is always rolled back: what it
    /// would write, computed against the current data, and nothing written (a
    /// preview). It waits for other writers as [`Db::write`] does.
    pub(crate) fn rolled_back<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        let deadline = Instant::now() + self.settings.busy_timeout;
        let open = retry_while_busy(deadline, || Open::begin(&self.conn, "BEGIN IMMEDIATE"))?;
        let value = f(&self.tx());
        drop(open); // rolls back
        value
    }

    fn tx(&self) -> SqliteTx<'_> {
        SqliteTx::new(&self.conn, self.settings.change_log.enabled)
    }

    /// After each committed write: keeps the WAL bounded and, now and then, compacts
    /// the change log.
    fn after_commit(&self) {
        self.wal
            .after_commit(&self.conn, &self.busy, self.settings.busy_timeout);
        if self.compaction.due() {
            // Best effort: the write itself has committed; the next one tries again.
            let _ = self.compact_changes();
        }
    }

    /// Deletes, in one transaction, up to [`changes::COMPACTION_BATCH`] events past
    /// the change log's retention; returns how many. Reads first: when nothing is
    /// past retention (the usual case), no write lock is taken.
    pub(crate) fn compact_changes(&self) -> Result<u64> {
        self.compaction.done();
        let retention = self.settings.change_log;
        let before = retention.max_age.map(|age| Timestamp::now().minus(age));
        let due = self.read_one(|tx| {
            let Some((oldest, at)) = tx.oldest_change()? else {
                return Ok(false);
            };
            let too_many = match retention.max_events {
                Some(keep) => tx.last_change_seq()?.saturating_sub(oldest) >= keep,
                None => false,
            };
            Ok(too_many || before.is_some_and(|before| at < before))
        })?;
        if !due {
            return Ok(0);
        }
        let deadline = Instant::now() + self.settings.busy_timeout;
        let open = retry_while_busy(deadline, || Open::begin(&self.conn, "BEGIN IMMEDIATE"))?;
        let deleted =
            self.tx()
                .compact_changes(before, retention.max_events, changes::COMPACTION_BATCH)?;
        retry_while_busy(deadline, || open.commit())?;
        Ok(deleted)
    }

    /// A writer of many transactions in a row (import), each opened, retried and
    /// checkpointed as [`Db::write`] does.
    pub(crate) fn batch_writer(&self) -> BatchWriter<'_> {
        BatchWriter {
            db: self,
            open: None,
            opened: Instant::now(),
        }
    }

    /// Checkpoints the whole WAL into the file and truncates it to zero bytes, so that
    /// no copy of deleted rows stays in the `-wal` file. SQLite waits for readers of
    /// older snapshots through the busy handler; true when it succeeded (or there is
    /// no WAL).
    pub(crate) fn truncate_wal(&self) -> bool {
        // (busy, frames in the WAL, frames checkpointed); -1 frames without a WAL.
        let outcome = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            });
        matches!(outcome, Ok((0, _)))
    }
}

/// Transactions opened one after another on one connection, for a long import: the
/// caller decides when to commit; each transaction is begun and committed as
/// [`Db::write`] does. Dropping it with a transaction open rolls that one back.
pub(crate) struct BatchWriter<'db> {
    db: &'db Db,
    open: Option<Open<'db>>,
    opened: Instant,
}

impl BatchWriter<'_> {
    /// The open transaction, begun (waiting for the write lock) if there is none.
    pub(crate) fn tx(&mut self) -> Result<SqliteTx<'_>> {
        if self.open.is_none() {
            let deadline = Instant::now() + self.db.settings.busy_timeout;
            let conn = &self.db.conn;
            self.open = Some(retry_while_busy(deadline, || {
                Open::begin(conn, "BEGIN IMMEDIATE")
            })?);
            self.opened = Instant::now();
        }
        Ok(self.db.tx())
    }

    /// How long the open transaction has held the write lock (zero when none is open).
    pub(crate) fn held_for(&self) -> Duration {
        match self.open {
            Some(_) => self.opened.elapsed(),
            None => Duration::ZERO,
        }
    }

    /// Commits the open transaction, if any.
    pub(crate) fn commit(&mut self) -> Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + self.db.settings.busy_timeout;
        retry_while_busy(deadline, || open.commit())?;
        self.db.after_commit();
        Ok(())
    }
}

/// A transaction on the store's connection, begun and committed with cached
/// statements: every resolve runs one, and parsing `BEGIN` and `COMMIT` anew each time
/// cost a quarter of a known caller's resolve over the floor. Rolled back when dropped
/// uncommitted (an error in between).
struct Open<'c> {
    conn: &'c Connection,
    committed: Cell<bool>,
}

impl<'c> Open<'c> {
    fn begin(conn: &'c Connection, begin: &'static str) -> Result<Self> {
        conn.prepare_cached(begin)?.execute([])?;
        Ok(Open {
            conn,
            committed: Cell::new(false),
        })
    }

    fn commit(&self) -> Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.committed.set(true);
        Ok(())
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        // SQLite may have rolled back already (after SQLITE_FULL, for example).
        if !self.committed.get() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The statements of one transaction (or of one autocommit read) on a connection.
/// Each table's module implements its part of [`Tx`] on it.
pub(crate) struct SqliteTx<'c> {
    conn: &'c Connection,
    /// Whether [`ChangeRows::append_change`](crate::storage::ChangeRows::append_change)
    /// writes (the store's change log is on).
    log_changes: bool,
}

impl<'c> SqliteTx<'c> {
    fn new(conn: &'c Connection, log_changes: bool) -> Self {
        SqliteTx { conn, log_changes }
    }

    /// Runs a cached statement that changes rows; returns how many.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<u64> {
        Ok(self.conn.prepare_cached(sql)?.execute(params)? as u64)
    }

    /// Runs a cached query expected to return at most one row.
    fn query_one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row(params, map)
            .optional()?)
    }

    /// Runs a cached query and collects its rows.
    fn query_all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, map)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether a cached query returns a row.
    fn exists(&self, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
        Ok(self.conn.prepare_cached(sql)?.exists(params)?)
    }
}

impl Tx for SqliteTx<'_> {
    fn savepoint(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.execute("SAVEPOINT line", [])?;
        match f() {
            Ok(()) => {
                self.execute("RELEASE line", [])?;
                Ok(())
            }
            // After a storage failure SQLite may have rolled back the whole
            // transaction (SQLITE_FULL): the savepoint is gone, and the error ends the
            // caller's work anyway.
            Err(e) if e.code() != ErrorCode::BadRequest => Err(e),
            Err(e) => {
                self.execute("ROLLBACK TO line", [])?;
                self.execute("RELEASE line", [])?;
                Err(e)
            }
        }
    }
}

/// The code stored in the `identifier_type` column.
fn kind_code(kind: IdentifierType) -> i64 {
    match kind {
        IdentifierType::PhoneNumber => 1,
        IdentifierType::Email => 2,
        IdentifierType::ExternalId => 3,
    }
}

fn kind_of_code(code: i64) -> Option<IdentifierType> {
    IdentifierType::ALL
        .into_iter()
        .find(|k| kind_code(*k) == code)
}

/// Parses a JSON TEXT column written by the library.
fn json_column<T: DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text = row.get_ref(idx)?.as_str()?;
    serde_json::from_str(text).map_err(|e| conversion_failure(idx, e))
}

/// A JSON TEXT column as stored, checked to be JSON but not parsed into values.
fn stored_json(row: &Row<'_>, idx: usize) -> rusqlite::Result<StoredJson> {
    let text: String = row.get(idx)?;
    StoredJson::from_text(text).map_err(|e| conversion_failure(idx, e))
}

fn conversion_failure(idx: usize, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_type_codes_round_trip() {
        for kind in IdentifierType::ALL {
            assert_eq!(kind_of_code(kind_code(kind)), Some(kind));
        }
        assert_eq!(kind_of_code(4), None);
    }
}
