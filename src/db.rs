//! Opening a database: the file, the pragmas, the migration, and the settings that
//! shape them.

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
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
    /// The largest the database may grow, in bytes (whole pages: `PRAGMA
    /// max_page_count`). A write that needs more fails with `INTERNAL_ERROR` (disk is
    /// full) and changes nothing, as on a full disk. A limit below the file's current
    /// size keeps it at that size. Default: none.
    pub size_limit: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: PhoneRegion::default(),
            recent_messages_cap: 50,
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(10),
            size_limit: None,
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
    /// Caps the database's size, in bytes (see [`Settings::size_limit`]).
    pub fn size_limit(mut self, bytes: u64) -> Self {
        self.size_limit = Some(bytes);
        self
    }
}

/// Opens (creating if needed) the database at `path`, or an in-memory one for `None`,
/// with the checkpointing of its WAL.
pub(crate) fn open(
    path: Option<&Path>,
    settings: &Settings,
) -> Result<(Connection, WalCheckpoints)> {
    let mut conn = match path {
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

    let wal = WalCheckpoints::install(&mut conn)?;

    schema::migrate(&conn)?;
    if let Some(bytes) = settings.size_limit {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let page_size = u64::try_from(page_size).unwrap_or(4096).max(1);
        let pages = (bytes / page_size).clamp(1, u64::from(u32::MAX - 1));
        conn.pragma_update(None, "max_page_count", i64::try_from(pages).unwrap_or(1))?;
    }
    Ok((conn, wal))
}

/// Keeps the WAL bounded while readers come and go.
///
/// SQLite copies the WAL into the database (a passive checkpoint) once it holds 1,000
/// frames, and starts it over from the beginning when a write begins after a complete
/// checkpoint — but only if no reader still uses a snapshot inside the WAL. A reader
/// that never pauses, even with short transactions, can make that moment rare: its
/// snapshot is always one commit behind the checkpoint that follows the commit, and
/// the WAL grows by every commit (the WAL test saw 24 MiB where 4 were expected).
///
/// So past [`WalCheckpoints::RESTART_FRAMES`] a write also runs *restart*
/// checkpoints, which wait for the readers of older snapshots (they move on within
/// milliseconds; new ones read from the database file) and reset the WAL. SQLite
/// reads each reader's position once per attempt, so a few short attempts succeed
/// where one long one waits on a stale position. A reader that keeps one snapshot
/// open for good pins the WAL whatever is done: then the attempts cost at most
/// [`WalCheckpoints::RESTART_ATTEMPTS`] × [`WalCheckpoints::RESTART_WAIT`], once per
/// further [`WalCheckpoints::RESTART_FRAMES`] / 2 frames.
#[derive(Debug)]
pub(crate) struct WalCheckpoints {
    /// Frames in the WAL after the last commit of this connection (SQLite's WAL hook).
    frames: Arc<AtomicI32>,
    /// Frames at which the next restart is attempted.
    next_restart: Cell<i32>,
}

impl WalCheckpoints {
    /// SQLite's own automatic checkpoint threshold, kept.
    const AUTOCHECKPOINT_FRAMES: i32 = 1_000;
    /// About 16 MiB of 4 KiB pages.
    pub(crate) const RESTART_FRAMES: i32 = 4_000;
    /// Restart checkpoints tried in a row.
    pub(crate) const RESTART_ATTEMPTS: u32 = 4;
    /// How long each waits for readers.
    pub(crate) const RESTART_WAIT: Duration = Duration::from_millis(25);

    fn install(conn: &mut Connection) -> Result<Self> {
        let frames = Arc::new(AtomicI32::new(0));
        let seen = Arc::clone(&frames);
        // Replaces SQLite's automatic checkpoint, which is this same hook.
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            seen.store(pages, Ordering::Relaxed);
            if pages >= Self::AUTOCHECKPOINT_FRAMES {
                // An error here would be reported as the commit's, which succeeded.
                let _ = wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE);
            }
            Ok(())
        }))?;
        Ok(WalCheckpoints {
            frames,
            next_restart: Cell::new(Self::RESTART_FRAMES),
        })
    }

    /// After a commit: resets the WAL if passive checkpoints have not managed to.
    pub(crate) fn after_commit(&self, conn: &Connection, busy_timeout: Duration) {
        let frames = self.frames.load(Ordering::Relaxed);
        if frames < Self::RESTART_FRAMES {
            self.next_restart.set(Self::RESTART_FRAMES);
            return;
        }
        if frames < self.next_restart.get() {
            return;
        }
        self.next_restart.set(frames + Self::RESTART_FRAMES / 2);
        // Best effort: the write itself has committed.
        if conn.busy_timeout(Self::RESTART_WAIT).is_ok() {
            for _ in 0..Self::RESTART_ATTEMPTS {
                // (blocked, frames, frames checkpointed); blocked is 0 once reset.
                let blocked =
                    conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0));
                if matches!(blocked, Ok(0)) {
                    break;
                }
            }
        }
        let _ = conn.busy_timeout(busy_timeout);
    }
}

/// Runs `op` again while it fails with `SQLITE_BUSY`, until `deadline`. Only for steps
/// SQLite allows to repeat: a `BEGIN` that could not take its lock (nothing has
/// happened yet) and a `COMMIT` that could not finish (the transaction stays open).
/// SQLite's busy handler has usually waited already; this covers the cases where it
/// gives up early. Any other error is returned at once.
pub(crate) fn retry_while_busy<T>(
    deadline: Instant,
    mut op: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut pause = Duration::from_millis(1);
    loop {
        match op() {
            Err(e) if e.is_busy() && Instant::now() < deadline => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
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
