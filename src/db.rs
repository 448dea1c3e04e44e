//! Opening a database: the file, the pragmas, the migration, and the settings that
//! shape them.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::normalize::PhoneRegion;
use crate::schema;

/// How hard SQLite works to keep committed transactions across a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit survives a crash of the process,
    /// and the database is never corrupted; a power loss may undo the last commits.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is on disk before it returns.
    Full,
}

/// Settings of a store, fixed when it is opened.
///
/// ```
/// use contactstore::{Durability, Settings};
/// let settings = Settings::default()
///     .region("GB".parse().unwrap())
///     .recent_messages_cap(20)
///     .durability(Durability::Full);
/// assert_eq!(settings.recent_messages_cap, 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Region for phone numbers written without a country code. Default `US`.
    pub region: PhoneRegion,
    /// How many recent messages a memory keeps (the newest). Default 50.
    pub recent_messages_cap: usize,
    /// Commit durability. Default [`Durability::Normal`].
    pub durability: Durability,
    /// How long a write waits for another process's lock before failing. Default 10 s.
    pub busy_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: PhoneRegion::default(),
            recent_messages_cap: 50,
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl Settings {
    /// Sets the default phone region.
    pub fn region(mut self, region: PhoneRegion) -> Self {
        self.region = region;
        self
    }
    /// Sets how many recent messages each memory keeps (at least 1).
    pub fn recent_messages_cap(mut self, cap: usize) -> Self {
        self.recent_messages_cap = cap.max(1);
        self
    }
    /// Sets commit durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
    /// Sets the lock wait.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

/// Opens (creating if needed) the database at `path`, or an in-memory one for `None`.
pub(crate) fn open(path: Option<&Path>, settings: &Settings) -> Result<Connection> {
    let conn = match path {
        Some(path) => {
            create_owner_only(path)?;
            Connection::open_with_flags(path, open_flags())?
        }
        None => Connection::open_in_memory()?,
    };
    conn.busy_timeout(settings.busy_timeout)?;
    // Statements of the hot paths are prepared once per connection.
    conn.set_prepared_statement_cache_capacity(64);

    // Refuse a newer or foreign file before anything writes to it: even switching the
    // journal mode rewrites the header.
    schema::check_compatible(&conn)?;

    if path.is_some() {
        enable_wal(&conn, settings.busy_timeout)?;
    }
    let synchronous = match settings.durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    // Referential integrity, including the (org_id, contact_id) keys that keep tenants
    // apart, is enforced by SQLite, and it is off unless asked for.
    conn.pragma_update(None, "foreign_keys", true)?;
    // Our schema uses no functions or virtual tables that a hostile file could abuse.
    conn.pragma_update(None, "trusted_schema", false)?;
    // Keep the WAL from staying large after a burst of writes (bytes).
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;

    schema::migrate(&conn)?;
    Ok(conn)
}

fn open_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_EXRESCODE
}

/// Creates the file readable and writable by its owner only, if it does not exist.
/// SQLite gives the `-wal` and `-shm` files the same permissions.
fn create_owner_only(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Let SQLite open what we may not write (it reports read-only itself).
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.exists() => Ok(()),
        Err(e) => Err(Error::from(e)),
    }
}

/// Switches to WAL. Changing the journal mode needs an exclusive lock and SQLite does
/// not call the busy handler for it, so several processes opening a new file at once
/// must retry here themselves.
fn enable_wal(conn: &Connection, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(e) => {
                let err = Error::from(e);
                if !err.is_busy() || Instant::now() >= deadline {
                    return Err(err);
                }
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
