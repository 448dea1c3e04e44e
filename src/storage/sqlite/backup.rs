//! Online copies of a live database, with `VACUUM INTO`.
//!
//! `VACUUM INTO` reads the database in one read transaction — in WAL mode that takes
//! no lock writers wait for, so other processes keep writing — and writes a new,
//! compacted file from that snapshot: a consistent copy. It was chosen over SQLite's
//! online backup API (`sqlite3_backup_step`), which copies pages as they are: run in
//! steps, it starts over whenever another connection writes (under agents that write
//! all the time it might never finish); run in one step, it gives the same snapshot
//! but copies the free pages too, and needs rusqlite's `backup` feature. `VACUUM INTO`
//! copies only live rows, so nothing deleted — even before `secure_delete` zeroed
//! freed space — reaches the copy, and it refuses a target that is not empty by
//! itself. Its cost is that of a `VACUUM`: the tables and indexes are rebuilt (a read
//! snapshot is held, and the WAL cannot be reset, meanwhile).

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::Db;
use crate::error::{Error, Result};

const BACKUP_INTO: &str = "VACUUM INTO ?1";

impl Db {
    /// Writes a consistent copy of the database to `dest`, a file this call creates
    /// (readable by its owner only; an existing file is refused). Returns its size.
    pub(crate) fn backup_to(&self, dest: &Path) -> Result<u64> {
        // An absolute path: SQLite would take a name starting with `file:` for a URI.
        let dest = std::path::absolute(dest)?;
        let name = dest
            .to_str()
            .ok_or(Error::invalid("destination", "must be a UTF-8 path"))?;
        create_owner_only(&dest)?;
        let copied = (|| {
            self.conn.prepare_cached(BACKUP_INTO)?.execute([name])?;
            // SQLite does not sync the file VACUUM INTO writes.
            let file = File::open(&dest)?;
            file.sync_all()?;
            sync_directory(&dest);
            Ok(file.metadata()?.len())
        })();
        if copied.is_err() {
            // Only what this call created: the file did not exist before.
            let _ = std::fs::remove_file(&dest);
        }
        copied
    }

    /// As [`Db::backup_to`], replacing `dest` if it exists: the copy is written to a new
    /// file beside it and renamed over it once complete and synced, so `dest` is at
    /// every moment either the old file or the whole new copy.
    pub(crate) fn backup_replacing(&self, dest: &Path) -> Result<u64> {
        let dest = std::path::absolute(dest)?;
        let file_name = dest
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or(Error::invalid(
                "destination",
                "must name a file by a UTF-8 path",
            ))?;
        let partial =
            dest.with_file_name(format!(".{file_name}.backup-{}", crate::model::new_id()));
        let bytes = self.backup_to(&partial)?;
        if let Err(e) = std::fs::rename(&partial, &dest) {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
        sync_directory(&dest);
        Ok(bytes)
    }
}

/// Creates the empty file a backup is written into, readable and writable by its owner
/// only; refuses an existing one. (SQLite keeps the permissions of the file it writes
/// into.)
fn create_owner_only(path: &Path) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::invalid(
            "destination",
            "already exists (a backup never overwrites a file)",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Makes the new file's directory entry durable (best effort: not every platform can
/// open a directory).
fn sync_directory(file: &Path) {
    if let Some(dir) = file.parent() {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}
