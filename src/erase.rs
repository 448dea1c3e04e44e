//! Erasure: a contact and everything that names it, gone from the file — not hidden.
//!
//! `erase(contact_id)` deletes, in one `BEGIN IMMEDIATE` transaction, the contact the
//! id reaches (a merged-away id reaches the contact it was merged into: that contact
//! now holds the person's data, so it is the one erased) and every row naming it:
//! identifiers, memories and their entities, calls, SMS conversations, the redirects of
//! the ids merged into it, and the merge journal rows naming it or those ids.
//!
//! Deleted rows must not linger in the file's free space or in the WAL: every
//! connection runs with `PRAGMA secure_delete` on (set in `db.rs`), so freed space is
//! zeroed, and after the commit the WAL is checkpointed and truncated
//! (`wal_checkpoint(TRUNCATE)`). A reader holding an old snapshot blocks that
//! checkpoint; it is waited for up to [`crate::Settings::busy_timeout`], and
//! [`Erased::wal_truncated`] says whether it succeeded.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::lookup;
use crate::store::ContactStore;

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// The contact erased: the one the given id reached.
    pub contact_id: String,
    /// Ids of contacts merged into it earlier; they are unknown now too.
    pub merged_ids: Vec<String>,
    /// Identifiers deleted.
    pub identifiers: u64,
    /// Memories deleted.
    pub memories: u64,
    /// Memory entities deleted.
    pub entities: u64,
    /// Calls deleted.
    pub calls: u64,
    /// SMS conversations deleted.
    pub sms_conversations: u64,
    /// Merge redirects deleted.
    pub redirects: u64,
    /// Merge journal rows deleted.
    pub journal_rows: u64,
    /// True when the WAL was checkpointed and truncated afterwards (or there is none),
    /// so no copy of the erased rows remains in the `-wal` file. False when a reader
    /// kept an older snapshot open past the busy timeout: the old pages then stay in
    /// the WAL until a later checkpoint overwrites them.
    pub wal_truncated: bool,
}

const MERGED_INTO: &str =
    "SELECT merged_id FROM merge_redirect WHERE org_id = ?1 AND surviving_id = ?2 \
     ORDER BY merged_id";
const DELETE_ENTITIES: &str = "DELETE FROM memory_entity WHERE org_id = ?1 AND memory_id IN \
     (SELECT id FROM memory WHERE org_id = ?1 AND contact_id = ?2)";
const DELETE_MEMORIES: &str = "DELETE FROM memory WHERE org_id = ?1 AND contact_id = ?2";
const DELETE_IDENTIFIERS: &str = "DELETE FROM identifier WHERE org_id = ?1 AND contact_id = ?2";
const DELETE_CALLS: &str = "DELETE FROM call WHERE org_id = ?1 AND contact_id = ?2";
const DELETE_SMS: &str = "DELETE FROM sms_conversation WHERE org_id = ?1 AND contact_id = ?2";
const DELETE_JOURNAL: &str =
    "DELETE FROM merge_journal WHERE org_id = ?1 AND (primary_id = ?2 OR duplicate_id = ?2)";
const DELETE_REDIRECTS: &str =
    "DELETE FROM merge_redirect WHERE org_id = ?1 AND (surviving_id = ?2 OR merged_id = ?2)";
const DELETE_CONTACT: &str = "DELETE FROM contact WHERE org_id = ?1 AND id = ?2";

pub(crate) fn erase(store: &ContactStore, org_id: &str, contact_id: &str) -> Result<Erased> {
    let mut erased = store.write(|tx| erase_in(tx, org_id, contact_id))?;
    erased.wal_truncated = truncate_wal(store.connection());
    Ok(erased)
}

fn erase_in(conn: &Connection, org: &str, id: &str) -> Result<Erased> {
    let contact = lookup::reached_contact(conn, org, id)?;
    let id = contact.id.as_str();
    let merged_ids: Vec<String> = conn
        .prepare_cached(MERGED_INTO)?
        .query_map((org, id), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let delete = |sql: &str, contact: &str| -> Result<u64> {
        Ok(conn.prepare_cached(sql)?.execute((org, contact))? as u64)
    };
    let mut erased = Erased {
        contact_id: contact.id.clone(),
        entities: delete(DELETE_ENTITIES, id)?,
        memories: delete(DELETE_MEMORIES, id)?,
        identifiers: delete(DELETE_IDENTIFIERS, id)?,
        calls: delete(DELETE_CALLS, id)?,
        sms_conversations: delete(DELETE_SMS, id)?,
        ..Erased::default()
    };
    for named in std::iter::once(id).chain(merged_ids.iter().map(String::as_str)) {
        erased.journal_rows += delete(DELETE_JOURNAL, named)?;
        erased.redirects += delete(DELETE_REDIRECTS, named)?;
    }
    delete(DELETE_CONTACT, id)?;
    erased.merged_ids = merged_ids;
    Ok(erased)
}

/// Checkpoints the whole WAL into the file and truncates it to zero bytes. SQLite waits
/// for readers of older snapshots through the busy handler; true when it succeeded.
fn truncate_wal(conn: &Connection) -> bool {
    // (busy, frames in the WAL, frames checkpointed); -1 frames without a WAL.
    let outcome = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    });
    matches!(outcome, Ok((0, _)))
}
