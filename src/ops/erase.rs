//! Erasure: a contact and everything that names it, gone from the file — not hidden.
//!
//! `erase(contact_id)` deletes, in one `BEGIN IMMEDIATE` transaction, the contact the
//! id reaches (a merged-away id reaches the contact it was merged into: that contact
//! now holds the person's data, so it is the one erased) and every row naming it:
//! identifiers, memories and their entities, calls, SMS conversations, the redirects of
//! the ids merged into it, the merge journal rows naming it or those ids (with the
//! snapshots their merges kept), and every change-log event of it or those ids. Its
//! identifiers are also struck from the merge and unmerge events of other contacts
//! (a contact merged into another, split out again and then erased is listed there);
//! those events stay, as the other contacts' history. One `contact.erased` event is appended in their place, naming only ids, so
//! that a consumer of the log learns to delete what it holds.
//!
//! Deleted rows must not linger in the file's free space or in the WAL: every
//! connection runs with `PRAGMA secure_delete` on (set when the store is opened), so freed space is
//! zeroed, and after the commit the WAL is checkpointed and truncated
//! (`wal_checkpoint(TRUNCATE)`). A reader holding an old snapshot blocks that
//! checkpoint; it is waited for up to [`crate::Settings::busy_timeout`], and
//! [`Erased::wal_truncated`] says whether it succeeded.

use serde::{Deserialize, Serialize};

use serde_json::json;

use super::changes;
use super::lookup::reached_contact;
use crate::error::Result;
use crate::model::ChangeKind;
use crate::storage::{Db, Tx};
use crate::timestamp::Timestamp;

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
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
    /// Merge journal rows deleted (with the snapshots of their merges).
    pub journal_rows: u64,
    /// Change-log events deleted (the `contact.erased` event appended is not counted).
    pub changes: u64,
    /// True when the WAL was checkpointed and truncated afterwards (or there is none),
    /// so no copy of the erased rows remains in the `-wal` file. False when a reader
    /// kept an older snapshot open past the busy timeout: the old pages then stay in
    /// the WAL until a later checkpoint overwrites them.
    pub wal_truncated: bool,
}

/// Erases in one transaction, then truncates the WAL. See the module's documentation.
pub(crate) fn erase(db: &Db, org: &str, contact_id: &str) -> Result<Erased> {
    let mut erased = db.write(|tx| erase_in(tx, org, contact_id))?;
    erased.wal_truncated = db.truncate_wal();
    Ok(erased)
}

fn erase_in(tx: &dyn Tx, org: &str, id: &str) -> Result<Erased> {
    let contact = reached_contact(tx, org, id)?;
    let id = contact.id.as_str();
    let merged_ids = tx.ids_merged_into(org, id)?;
    let identifiers = tx.identifiers_of(org, id)?;
    // The tombstone goes first: it is then the newest event, so deleting the contact's
    // older events can never free a seq a consumer has already seen.
    let detail = json!({ "merged_ids": merged_ids });
    changes::append(
        tx,
        org,
        Timestamp::now(),
        ChangeKind::ContactErased,
        id,
        None,
        &detail,
    )?;
    let deleted = tx.delete_rows_of(org, id)?;
    let mut erased = Erased {
        contact_id: contact.id.clone(),
        identifiers: deleted.identifiers,
        memories: deleted.memories,
        entities: deleted.entities,
        calls: deleted.calls,
        sms_conversations: deleted.sms_conversations,
        ..Erased::default()
    };
    let named: Vec<&str> = std::iter::once(id)
        .chain(merged_ids.iter().map(String::as_str))
        .collect();
    for &one in &named {
        let (journal_rows, redirects) = tx.forget_merges_of(org, one)?;
        erased.journal_rows += journal_rows;
        erased.redirects += redirects;
    }
    erased.changes = tx.erase_changes_of(org, &named)?;
    changes::scrub_identifiers(tx, org, &identifiers)?;
    tx.delete_contact(org, id)?;
    erased.merged_ids = merged_ids;
    Ok(erased)
}
