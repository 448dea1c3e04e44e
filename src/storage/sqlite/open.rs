//! Opening a database: the file, the pragmas and the migration.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::busy::{retry_while_busy, BusyWait};
use super::schema;
use super::wal::WalCheckpoints;
use crate::error::{Error, Result};
use crate::settings::{Durability, Settings};

/// An open connection with its busy handler and the checkpointing of its WAL.
pub(super) struct Opened {
    pub conn: Connection,
    pub busy: BusyWait,
    pub wal: WalCheckpoints,
}

/// Opens (creating if needed) the database at `path`, or an in-memory one for `None`.
pub(super) fn open(path: Option<&Path>, settings: &Settings) -> Result<Opened> {
    let mut conn = match path {
        Some(path) => {
            create_owner_only(path)?;
            Connection::open_with_flags(path, open_flags())?
        }
        None => Connection::open_in_memory()?,
    };
    let busy = BusyWait::install(&mut conn, settings.busy_timeout)?;
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
    // Plans must not depend on bound values: otherwise SQLite recompiles a cached
    // statement whenever a bound value might change its plan — which, with the shipped
    // statistics, was nearly every statement on every use (72% of an export's time).
    // The statistics make the plan right without looking at values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Referential integrity, including the (org_id, contact_id) keys that keep tenants
    // apart, is enforced by SQLite, and it is off unless asked for.
    conn.pragma_update(None, "foreign_keys", true)?;
    // Our schema uses no functions or virtual tables that a hostile file could abuse.
    conn.pragma_update(None, "trusted_schema", false)?;
    // Keep the WAL from staying large after a burst of writes (bytes).
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    // Deleted and overwritten content (an erased contact, a replaced summary) is zeroed
    // in the file instead of lingering in free space, where a copy of the file would
    // still carry it.
    conn.pragma_update(None, "secure_delete", true)?;
    map_for_reads(&conn, settings)?;

    let wal = WalCheckpoints::install(&mut conn)?;

    schema::migrate(&conn, settings.region)?;
    if let Some(bytes) = settings.size_limit {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let page_size = u64::try_from(page_size).unwrap_or(4096).max(1);
        let pages = (bytes / page_size).clamp(1, u64::from(u32::MAX - 1));
        conn.pragma_update(None, "max_page_count", i64::try_from(pages).unwrap_or(1))?;
    }
    Ok(Opened { conn, busy, wal })
}

/// Opens an existing file for reading only, for `check`: no file is created, no pragma
/// that writes is set (the journal mode is left as it is), and `query_only` makes
/// SQLite refuse any write. A newer or foreign file is refused.
pub(super) fn open_read_only(path: &Path, settings: &Settings) -> Result<Opened> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_EXRESCODE;
    let mut conn = Connection::open_with_flags(path, flags)?;
    let busy = BusyWait::install(&mut conn, settings.busy_timeout)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "trusted_schema", false)?;
    map_for_reads(&conn, settings)?;
    schema::check_compatible(&conn)?;
    let wal = WalCheckpoints::install(&mut conn)?;
    Ok(Opened { conn, busy, wal })
}

/// Reads through a memory mapping of up to [`Settings::mmap_size`] bytes of the file.
fn map_for_reads(conn: &Connection, settings: &Settings) -> Result<()> {
    let bytes = i64::try_from(settings.mmap_size).unwrap_or(i64::MAX);
    conn.pragma_update(None, "mmap_size", bytes)?;
    Ok(())
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
    retry_while_busy(Instant::now() + timeout, || {
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(Error::from)
    })?;
    Ok(())
}
