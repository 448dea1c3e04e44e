//! The PostgreSQL engine: one connection, its transactions, and the statements of each
//! table (one module a table, as for SQLite; the schema is `schema.postgres.sql`).
//!
//! # Concurrency
//!
//! Every write transaction is `SERIALIZABLE`. The rules were written against SQLite,
//! whose writers run one at a time: a memory write reads the memory, changes it in Rust
//! and writes it back; resolve reads that no contact owns an identifier, then creates
//! one. Under PostgreSQL's default `READ COMMITTED` two hosts doing either at once
//! would lose an update or create two contacts; `SERIALIZABLE` makes the server refuse
//! (SQLSTATE `40001`) whichever transaction would break the one-at-a-time outcome, and
//! [`Db::write`] then runs the whole closure again, on fresh data, until
//! [`Settings::busy_timeout`] after the call. Unique constraints stay the last word on
//! one contact per identity: a duplicate key another transaction inserted meanwhile
//! (`23505`) is retried the same way, as is a deadlock (`40P01`). The alternative —
//! `INSERT … ON CONFLICT` and a re-read — would fix resolve alone and leave every
//! read-modify-write of the rules to be audited for lost updates; retrying whole
//! serializable transactions keeps the rules as they are. Merges also lock their two
//! contacts in id order (`SELECT … FOR UPDATE`), so that merges of one pair queue
//! instead of failing each other. Lock waits are bounded by `lock_timeout`, set to the
//! busy timeout. So that no transaction starves under contention (SSI's predicate
//! locks are per index page: on a small or hot table, concurrent writers conflict
//! often), every write transaction holds a writers' advisory lock shared, and one
//! that has failed three times takes it exclusively before it begins: it runs with no
//! other writer, and cannot fail for a conflict again.
//!
//! Reads run in `REPEATABLE READ READ ONLY` transactions (one snapshot, never a
//! serialization failure); a one-statement read runs alone.

mod activity;
mod changes;
mod check;
mod contacts;
mod documents;
mod endpoint;
mod findings;
mod identifiers;
mod memories;
mod merges;
pub(crate) mod schema;

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{Client, Row, Statement};

use endpoint::Endpoint;
use serde::de::DeserializeOwned;

use super::Tx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{IdentifierType, StoredJson};
use crate::settings::Settings;
use crate::timestamp::Timestamp;

/// Bound parameters of a statement.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// An open PostgreSQL database: one connection, the statements prepared on it, and
/// the settings it was opened with. One per thread, as with SQLite.
pub(crate) struct Db {
    /// Always `Some` but while dropping.
    client: RefCell<Option<Client>>,
    /// Where to connect again after the server closed the connection (a restart, a
    /// failover). Kept for that only; never shown (it may hold a password).
    endpoint: Endpoint,
    statements: RefCell<HashMap<&'static str, Statement>>,
    settings: Settings,
    compaction: CompactionClock,
}

impl Db {
    /// Connects to the server at `url` (`postgres://user@host:port/db?…`, libpq's
    /// URL form), brings the schema up to date in one transaction, and sets the lock
    /// timeout to the busy timeout.
    pub(crate) fn open(url: &str, settings: Settings) -> Result<Db> {
        Self::connect_with(url, settings, schema::migrate)
    }

    /// As [`Db::open`], but the schema is only checked, never created or upgraded:
    /// `check_file`'s open, which writes nothing.
    pub(crate) fn open_existing(url: &str, settings: Settings) -> Result<Db> {
        Self::connect_with(url, settings, schema::existing)
    }

    fn connect_with(
        url: &str,
        settings: Settings,
        prepare_schema: fn(&mut Client) -> Result<()>,
    ) -> Result<Db> {
        let endpoint = Endpoint::parse(url)?;
        let mut client = connect(&endpoint, &settings)?;
        prepare_schema(&mut client)?;
        Ok(Db {
            client: RefCell::new(Some(client)),
            endpoint,
            statements: RefCell::new(HashMap::new()),
            settings,
            compaction: CompactionClock::default(),
        })
    }

    /// The settings the database was opened with.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs `f` in one `SERIALIZABLE` transaction, committed only if `f` succeeds. A
    /// transaction the server ends for a conflict with another (serialization failure,
    /// deadlock, a unique key inserted meanwhile) is rolled back and `f` runs again,
    /// whole, until [`Settings::busy_timeout`] after the call; then the last error is
    /// returned. Never a partial write: each attempt commits all of `f` or nothing.
    pub(crate) fn write<T>(&self, mut f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        let value = self.retrying(|failures| self.write_attempt(failures, &mut f, true))?;
        self.after_commit();
        Ok(value)
    }

    /// Runs `f` in one read-only `REPEATABLE READ` transaction: one snapshot.
    pub(crate) fn read<T>(&self, mut f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        self.attempt(READ, &mut f, true)
    }

    /// Runs `f` without a transaction around it: a read of one statement.
    pub(crate) fn read_one<T>(&self, mut f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        self.reconnect_if_closed()?;
        f(&self.tx())
    }

    /// Runs `f` in a `SERIALIZABLE` transaction that is always rolled back (a preview),
    /// retried as [`Db::write`] is.
    pub(crate) fn rolled_back<T>(&self, mut f: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        self.retrying(|failures| self.write_attempt(failures, &mut f, false))
    }

    /// Runs `attempt` (given how many attempts failed before it) again while it fails
    /// with an error that a new attempt may not meet, until the busy deadline; with a
    /// growing, jittered pause in between.
    fn retrying<T>(&self, mut attempt: impl FnMut(u32) -> Result<T>) -> Result<T> {
        let deadline = Instant::now() + self.settings.busy_timeout;
        let mut pause = Duration::from_millis(1);
        let mut round: u32 = 0;
        loop {
            match attempt(round) {
                Err(e) if e.is_retryable() && Instant::now() < deadline => {
                    round = round.wrapping_add(1);
                    // Jitter from the clock: two hosts that collided once should not
                    // collide again in lockstep.
                    let clock = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or(0);
                    let nanos = clock ^ std::process::id() ^ round.wrapping_mul(2_654_435_761);
                    let jittered = pause.mul_f64(0.5 + f64::from(nanos % 1000) / 1000.0);
                    std::thread::sleep(
                        jittered.min(deadline.saturating_duration_since(Instant::now())),
                    );
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// One write transaction. The first attempts run beside other writers
    /// ([`WRITE`]: serializable, holding the writers' lock shared); one that failed
    /// [`ALONE_AFTER`] times for conflicts takes the writers' lock exclusively first, so
    /// that it runs with no other writer and cannot fail for a conflict again: under
    /// contention no transaction starves until the busy deadline.
    fn write_attempt<T>(
        &self,
        failures: u32,
        f: &mut dyn FnMut(&dyn Tx) -> Result<T>,
        commit: bool,
    ) -> Result<T> {
        if failures < ALONE_AFTER {
            return self.attempt(WRITE, f, commit);
        }
        // Session-level, taken before BEGIN: the transaction's snapshot is taken once
        // the other writers are gone. Writers starting meanwhile wait at their shared
        // lock, having read nothing yet.
        let alone = self.begin_alone()?;
        self.run_in(alone.open, f, commit)
    }

    /// Takes the writers' lock exclusively, then begins a transaction in the same
    /// session (never a reconnected one, which would not hold the lock). If the BEGIN
    /// fails, the lock is let go.
    fn begin_alone(&self) -> Result<WritingAlone<'_>> {
        self.reconnect_if_closed()?;
        self.batch(ALONE)?;
        let lock = Alone { db: self };
        let open = Open::begin_in_this_session(self, WRITE_ALONE)?;
        Ok(WritingAlone { open, _lock: lock })
    }

    /// One transaction: begin, `f`, commit (or roll back when `commit` is false or `f`
    /// fails).
    fn attempt<T>(
        &self,
        begin: &'static str,
        f: &mut dyn FnMut(&dyn Tx) -> Result<T>,
        commit: bool,
    ) -> Result<T> {
        let open = Open::begin(self, begin)?;
        self.run_in(open, f, commit)
    }

    /// Runs `f` in the open transaction, then commits it (or, when `commit` is false
    /// or `f` fails, rolls it back as `open` is dropped).
    fn run_in<T>(
        &self,
        open: Open<'_>,
        f: &mut dyn FnMut(&dyn Tx) -> Result<T>,
        commit: bool,
    ) -> Result<T> {
        let value = f(&self.tx())?;
        if commit {
            open.commit()?;
        }
        Ok(value)
    }

    fn tx(&self) -> PgTx<'_> {
        PgTx { db: self }
    }

    /// The connection (a store's calls never overlap: one statement at a time).
    fn client(&self) -> RefMut<'_, Client> {
        RefMut::map(self.client.borrow_mut(), |c| {
            c.as_mut()
                .expect("the connection is there until the store is dropped")
        })
    }

    fn batch(&self, sql: &str) -> Result<()> {
        self.client().batch_execute(sql)?;
        Ok(())
    }

    /// Connects again if the server closed the connection since the last call (its
    /// prepared statements went with it). Called before each transaction or lone
    /// read: a store outlives a server restart, as a file store outlives nothing
    /// worse. A call cut off mid-way still fails; the next one connects.
    fn reconnect_if_closed(&self) -> Result<()> {
        if !self.client().is_closed() {
            return Ok(());
        }
        let fresh = connect(&self.endpoint, &self.settings)?;
        self.statements.borrow_mut().clear();
        *self.client.borrow_mut() = Some(fresh);
        Ok(())
    }

    /// After each committed write: now and then, compacts the change log.
    fn after_commit(&self) {
        if self.compaction.due() {
            // Best effort: the write itself has committed; the next one tries again.
            let _ = self.compact_changes();
        }
    }

    /// Deletes, in one transaction, up to [`COMPACTION_BATCH`] events past the change
    /// log's retention; returns how many. Reads first: when nothing is past retention
    /// (the usual case), nothing is written.
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
        self.retrying(|failures| {
            self.write_attempt(
                failures,
                &mut |tx| tx.compact_changes(before, retention.max_events, COMPACTION_BATCH),
                true,
            )
        })
    }

    /// A writer of many transactions in a row (import).
    pub(crate) fn batch_writer(&self) -> BatchWriter<'_> {
        BatchWriter {
            db: self,
            open: None,
            opened: Instant::now(),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some(client) = self.client.get_mut().take() else {
            return;
        };
        // Closing the connection runs the client's own runtime, which needs tokio's
        // thread-local context. A store dropped while its thread exits (kept in a
        // `thread_local!`) may find that context destroyed already: the close then runs
        // on a thread of its own, where the context is new.
        let context_destroyed =
            tokio::runtime::Handle::try_current().is_err_and(|e| e.is_thread_local_destroyed());
        // Dropped only by running: if the closure were dropped unrun (a failed spawn),
        // closing here would panic again while unwinding; the session then ends with
        // the process.
        let client = std::mem::ManuallyDrop::new(client);
        let close = move || drop(std::mem::ManuallyDrop::into_inner(client));
        // A panic in a destructor at thread exit would abort the process; the server
        // ends the session when the socket closes in any case.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if !context_destroyed {
                close();
            } else if let Ok(closing) = std::thread::Builder::new()
                .name("contactstore-postgres-close".into())
                .spawn(close)
            {
                let _ = closing.join();
            }
        }));
    }
}

/// A new connection with the session settings of a store: the lock timeout is the busy
/// timeout, times are UTC.
fn connect(endpoint: &Endpoint, settings: &Settings) -> Result<Client> {
    let mut client = endpoint.connect()?;
    let millis = settings.busy_timeout.as_millis().clamp(1, i32::MAX as u128);
    client.batch_execute(&format!("SET lock_timeout = {millis}; SET TIME ZONE 'UTC'"))?;
    Ok(client)
}

// The writers' advisory lock, key 7306232590272: held shared by every write
// transaction (to its end), exclusively by one that failed [`ALONE_AFTER`] times.

/// Begins a write transaction beside other writers.
const WRITE: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE; \
     SELECT pg_advisory_xact_lock_shared(7306232590272)";
/// Takes the writers' lock exclusively (before [`WRITE_ALONE`]).
const ALONE: &str = "SELECT pg_advisory_lock(7306232590272)";
/// Begins a write transaction holding the writers' lock exclusively.
const WRITE_ALONE: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE";
/// Failed attempts after which a write runs alone.
const ALONE_AFTER: u32 = 3;

/// The writers' lock held exclusively, released when dropped (after the transaction
/// ended: see [`WritingAlone`]).
struct Alone<'d> {
    db: &'d Db,
}

impl Drop for Alone<'_> {
    fn drop(&mut self) {
        if let Ok(mut client) = self.db.client.try_borrow_mut() {
            if let Some(client) = client.as_mut() {
                let _ = client.batch_execute("SELECT pg_advisory_unlock(7306232590272)");
            }
        }
    }
}
/// Begins a read transaction.
const READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Most events one compaction deletes.
const COMPACTION_BATCH: u64 = 10_000;

/// When a connection next compacts the change log: after its first write, then at
/// most every ten minutes.
#[derive(Debug, Default)]
struct CompactionClock {
    last: Cell<Option<Instant>>,
}

impl CompactionClock {
    const EVERY: Duration = Duration::from_secs(600);

    fn due(&self) -> bool {
        self.last.get().is_none_or(|t| t.elapsed() >= Self::EVERY)
    }

    fn done(&self) {
        self.last.set(Some(Instant::now()));
    }
}

/// An open transaction on the store's connection, rolled back when dropped
/// uncommitted (an error, or a panic, in between): the connection is never left in a
/// transaction that the next `BEGIN` would silently join.
struct Open<'d> {
    db: &'d Db,
    done: Cell<bool>,
}

impl<'d> Open<'d> {
    /// Begins on the connection, connecting again first if the server closed it.
    fn begin(db: &'d Db, begin: &'static str) -> Result<Self> {
        db.reconnect_if_closed()?;
        Self::begin_in_this_session(db, begin)
    }

    /// Begins on the session as it is, never a new one: for a transaction that must
    /// run in the session holding the writers' lock (a new session would not hold it;
    /// if this one is gone, beginning fails).
    fn begin_in_this_session(db: &'d Db, begin: &'static str) -> Result<Self> {
        db.batch(begin)?;
        Ok(Open {
            db,
            done: Cell::new(false),
        })
    }

    fn commit(&self) -> Result<()> {
        self.done.set(true);
        self.db.batch("COMMIT")
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.done.get() {
            if let Ok(mut client) = self.db.client.try_borrow_mut() {
                if let Some(client) = client.as_mut() {
                    let _ = client.batch_execute("ROLLBACK");
                }
            }
        }
    }
}

/// Transactions opened one after another on one connection, for a long import: the
/// caller decides when to commit. Each holds the writers' lock exclusively, as an
/// import batch holds SQLite's write lock: other writers wait for its commit (a batch
/// is bounded in lines, bytes and time), and the batch cannot fail for a conflict
/// with one of them — its lines are consumed as they are written, so a batch the
/// server ended could not be run again here. Read transactions (`REPEATABLE READ`)
/// take no predicate locks and never conflict with it.
pub(crate) struct BatchWriter<'db> {
    db: &'db Db,
    open: Option<WritingAlone<'db>>,
    opened: Instant,
}

/// A transaction holding the writers' lock exclusively. `open` is declared first, so
/// the transaction ends (rolled back if uncommitted) before the lock is released,
/// outside any transaction.
struct WritingAlone<'d> {
    open: Open<'d>,
    _lock: Alone<'d>,
}

impl BatchWriter<'_> {
    /// The open transaction, begun if there is none.
    pub(crate) fn tx(&mut self) -> Result<PgTx<'_>> {
        if self.open.is_none() {
            self.open = Some(self.db.begin_alone()?);
            self.opened = Instant::now();
        }
        Ok(self.db.tx())
    }

    /// How long the open transaction has been open (zero when none is).
    pub(crate) fn held_for(&self) -> Duration {
        match self.open {
            Some(_) => self.opened.elapsed(),
            None => Duration::ZERO,
        }
    }

    /// Commits the open transaction, if any; other writers go on between batches.
    pub(crate) fn commit(&mut self) -> Result<()> {
        let Some(batch) = self.open.take() else {
            return Ok(());
        };
        let committed = batch.open.commit();
        drop(batch);
        committed?;
        self.db.after_commit();
        Ok(())
    }
}

/// The statements of one transaction (or of one lone read) on the connection. Each
/// table's module implements its part of [`Tx`] on it.
pub(crate) struct PgTx<'d> {
    db: &'d Db,
}

impl PgTx<'_> {
    /// The statement prepared for `sql` on this connection (prepared once).
    fn statement(&self, sql: &'static str) -> Result<Statement> {
        if let Some(stmt) = self.db.statements.borrow().get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.db.client().prepare(sql)?;
        self.db.statements.borrow_mut().insert(sql, stmt.clone());
        Ok(stmt)
    }

    /// Runs a statement that changes rows; returns how many.
    fn execute(&self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        let stmt = self.statement(sql)?;
        if has_nul(&stmt, params) {
            return Err(Error::invalid("text", NUL_REFUSED));
        }
        Ok(self.db.client().execute(&stmt, params)?)
    }

    /// Runs a query and returns its rows.
    fn rows(&self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        if has_nul(&stmt, params) {
            // No stored text holds a NUL (PostgreSQL cannot store one), so nothing
            // matches: as on SQLite, where no id or key with a NUL was ever stored.
            // Sending it would fail the statement and end the transaction.
            return if sql.starts_with("SELECT") {
                Ok(Vec::new())
            } else {
                Err(Error::invalid("text", NUL_REFUSED))
            };
        }
        Ok(self.db.client().query(&stmt, params)?)
    }

    /// Runs a query expected to return at most one row.
    fn query_one<T>(
        &self,
        sql: &'static str,
        params: Params<'_>,
        map: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let row = self.rows(sql, params)?.into_iter().next();
        row.as_ref().map(map).transpose()
    }

    /// Runs a query and maps its rows.
    fn query_all<T>(
        &self,
        sql: &'static str,
        params: Params<'_>,
        map: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.rows(sql, params)?.iter().map(map).collect()
    }

    /// Whether a query returns a row.
    fn exists(&self, sql: &'static str, params: Params<'_>) -> Result<bool> {
        Ok(self.query_one(sql, params, |_| Ok(()))?.is_some())
    }
}

impl Tx for PgTx<'_> {
    fn savepoint(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.db.batch("SAVEPOINT line")?;
        match f() {
            Ok(()) => {
                self.db.batch("RELEASE SAVEPOINT line")?;
                Ok(())
            }
            // A storage failure has aborted the transaction: the caller ends it.
            Err(e) if e.code() != ErrorCode::BadRequest => Err(e),
            Err(e) => {
                self.db
                    .batch("ROLLBACK TO SAVEPOINT line; RELEASE SAVEPOINT line")?;
                Err(e)
            }
        }
    }
}

/// Why text with a NUL character is refused (PostgreSQL's text cannot hold one).
const NUL_REFUSED: &str = "contains a NUL character, which PostgreSQL cannot store";

/// Whether a text parameter holds a NUL character (checked on the encoded bytes, the
/// form the server would refuse).
fn has_nul(stmt: &Statement, params: Params<'_>) -> bool {
    stmt.params().iter().zip(params).any(|(ty, p)| {
        if *ty != Type::TEXT {
            return false;
        }
        let mut buf = BytesMut::new();
        matches!(p.to_sql_checked(ty, &mut buf), Ok(IsNull::No)) && buf.contains(&0)
    })
}

/// The code stored in the `identifier_type` column (as on SQLite).
fn kind_code(kind: IdentifierType) -> i16 {
    match kind {
        IdentifierType::PhoneNumber => 1,
        IdentifierType::Email => 2,
        IdentifierType::ExternalId => 3,
    }
}

fn kind_of_code(code: i16) -> Result<IdentifierType> {
    IdentifierType::ALL
        .into_iter()
        .find(|k| kind_code(*k) == code)
        .ok_or_else(unexpected)
}

/// A value the database should never hold (a CHECK constraint refuses it).
fn unexpected() -> crate::error::Error {
    crate::error::Error::Storage(crate::error::StorageError::unexpected_postgres())
}

/// A `json` column, as its text.
struct JsonText(String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(JsonText(std::str::from_utf8(raw)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// JSON text written by the library, bound to a `json` column as it is (the `json`
/// type keeps the text byte for byte; the server checks that it is JSON).
#[derive(Debug)]
struct Json<'a>(&'a str);

impl ToSql for Json<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }

    to_sql_checked!();
}

/// Parses a `json` column written by the library.
fn json_column<T: DeserializeOwned>(row: &Row, idx: usize) -> Result<T> {
    let JsonText(text) = row.try_get(idx)?;
    serde_json::from_str(&text).map_err(|_| unexpected())
}

/// A `json` column as stored, checked to be JSON but not parsed into values.
fn stored_json(row: &Row, idx: usize) -> Result<StoredJson> {
    let JsonText(text) = row.try_get(idx)?;
    StoredJson::from_text(text).map_err(|_| unexpected())
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Timestamps are `timestamptz(3)`: the server's binary form is microseconds since
/// 2000-01-01, always a whole number of milliseconds here.
impl ToSql for Timestamp {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let micros = self.as_millis() * 1000 - PG_EPOCH_MICROS;
        out.extend_from_slice(&micros.to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Timestamp {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let bytes: [u8; 8] = raw.try_into()?;
        let micros = i64::from_be_bytes(bytes).saturating_add(PG_EPOCH_MICROS);
        Timestamp::from_millis(micros.div_euclid(1000))
            .ok_or_else(|| "timestamp out of range".into())
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
}

/// A list position as the columns hold it. A cursor's time may lie outside the
/// timestamps a column can hold (the first page starts at `i64::MIN`): such a
/// position is moved to the earliest (or latest) timestamp with an id before (or
/// after) every id, which selects the same contacts.
fn position(p: &crate::storage::ListPosition) -> (Timestamp, &str) {
    match Timestamp::from_millis(p.created_at) {
        Some(at) => (at, &p.id),
        None if p.created_at < 0 => (earliest(), ""),
        None => (latest(), "\u{10FFFF}"),
    }
}

fn earliest() -> Timestamp {
    Timestamp::from_millis(-62_167_219_200_000).unwrap_or_else(Timestamp::now)
}

fn latest() -> Timestamp {
    Timestamp::from_millis(253_402_300_799_999).unwrap_or_else(Timestamp::now)
}

/// A count or limit as a bigint parameter.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_type_codes_round_trip() {
        for kind in IdentifierType::ALL {
            assert_eq!(kind_of_code(kind_code(kind)).unwrap(), kind);
        }
        assert!(kind_of_code(4).is_err());
    }

    #[test]
    fn timestamps_round_trip_through_the_binary_form() {
        for millis in [
            0,
            1,
            -1,
            1_753_180_200_123,
            -62_167_219_200_000,
            253_402_300_799_999,
        ] {
            let t = Timestamp::from_millis(millis).unwrap();
            let mut out = BytesMut::new();
            t.to_sql(&Type::TIMESTAMPTZ, &mut out).unwrap();
            assert_eq!(Timestamp::from_sql(&Type::TIMESTAMPTZ, &out).unwrap(), t);
        }
    }
}
