//! Checkpointing of the WAL, so that it stays bounded under readers that never pause.

use std::cell::Cell;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::busy::BusyWait;
use rusqlite::Connection;

use crate::error::Result;

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
    /// About 14 MiB of 4 KiB pages: with the commit that crosses it (an import commits
    /// about 1 MiB of input, which may take 2–3 MiB of pages) the WAL stays under 17 MiB.
    pub(crate) const RESTART_FRAMES: i32 = 3_500;
    /// Restart checkpoints tried in a row.
    pub(crate) const RESTART_ATTEMPTS: u32 = 4;
    /// How long each waits for readers.
    pub(crate) const RESTART_WAIT: Duration = Duration::from_millis(25);

    pub(super) fn install(conn: &mut Connection) -> Result<Self> {
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
    pub(crate) fn after_commit(&self, conn: &Connection, busy: &BusyWait, busy_timeout: Duration) {
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
        busy.set(Self::RESTART_WAIT);
        for _ in 0..Self::RESTART_ATTEMPTS {
            // (blocked, frames, frames checkpointed); blocked is 0 once reset.
            let blocked =
                conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0));
            if matches!(blocked, Ok(0)) {
                break;
            }
        }
        busy.set(busy_timeout);
    }
}
