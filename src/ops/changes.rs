//! The change log (contract §10): every write appends one event in its own
//! transaction, so the log and the data cannot disagree; a write that changes nothing
//! appends nothing. Readers page through it by `seq`.
//!
//! `seq` is the table's rowid, and the newest event is never deleted (compaction keeps
//! it; erase appends its tombstone before deleting), so it only grows and is never
//! reused; since writes are serialized a reader never sees an event before an earlier one
//! that will exist. So a consumer that resumes after the last `seq` it saw misses
//! nothing and sees nothing twice. Gaps appear only where events were removed:
//! retention compacts the oldest (a cursor from before them is refused, saying so),
//! and erasure removes a contact's events (leaving a `contact.erased` tombstone after
//! them).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::limits;
use crate::model::{to_json, ChangeKind, ChangePage, Identifier, IdentifierKey, NewChange};
use crate::storage::{Db, OrgScope, Tx};
use crate::timestamp::Timestamp;

/// Appends one event to the transaction's writes, unless the store keeps no change
/// log (then the detail is not even serialized).
pub(crate) fn record<D: Serialize + ?Sized>(
    tx: &dyn Tx,
    org: &str,
    at: Timestamp,
    kind: ChangeKind,
    contact_id: &str,
    related_id: Option<&str>,
    detail: &D,
) -> Result<()> {
    if !tx.logs_changes() {
        return Ok(());
    }
    append(tx, org, at, kind, contact_id, related_id, detail)
}

/// Appends one event whether or not the store keeps a change log: erase's tombstone
/// (ids only), which keeps the newest seq in place when erase deletes older events,
/// tells a consumer of an older log to delete, and lets unmerge say why an id is gone.
pub(crate) fn append<D: Serialize + ?Sized>(
    tx: &dyn Tx,
    org: &str,
    at: Timestamp,
    kind: ChangeKind,
    contact_id: &str,
    related_id: Option<&str>,
    detail: &D,
) -> Result<()> {
    tx.append_change(&NewChange {
        org_id: org,
        at,
        kind,
        contact_id,
        related_id,
        detail: to_json(detail),
    })
}

/// Identifiers as events name them: type and value.
pub(crate) fn keys(identifiers: &[Identifier]) -> Vec<IdentifierKey<'_>> {
    identifiers
        .iter()
        .map(|i| IdentifierKey {
            identifier_type: i.identifier_type.as_str(),
            identifier_value: &i.identifier_value,
        })
        .collect()
}

/// One page of the log after `since` (exclusive), oldest first.
pub(crate) fn page(
    db: &Db,
    orgs: OrgScope<'_>,
    since: u64,
    limit: Option<usize>,
) -> Result<ChangePage> {
    let limit = limits::changes_page_size(limit.unwrap_or(limits::DEFAULT_CHANGES_PAGE_SIZE))?;
    let since = limits::change_cursor(since)?;
    db.read(|tx| {
        let compacted_through = tx.compacted_through()?;
        if since < compacted_through {
            return Err(Error::ChangesCompacted { compacted_through });
        }
        let changes = tx.changes_after(orgs, since, limit)?;
        let next = changes.last().map_or(since, |c| c.seq);
        Ok(ChangePage { changes, next })
    })
}

/// Strikes these identifiers from the org's events that name two contacts (what an
/// erasure leaves of other contacts' merges and unmerges): their lists of identifiers
/// lose the erased ones, so no event keeps them and a replay of the log never gives
/// them back.
pub(crate) fn scrub_identifiers(tx: &dyn Tx, org: &str, erased: &[Identifier]) -> Result<()> {
    if erased.is_empty() {
        return Ok(());
    }
    let gone = |entry: &serde_json::Value| {
        erased.iter().any(|i| {
            entry["identifier_type"] == i.identifier_type.as_str()
                && entry["identifier_value"] == i.identifier_value.as_str()
        })
    };
    for (seq, text) in tx.changes_with_related(org)? {
        let Ok(serde_json::Value::Object(mut detail)) = serde_json::from_str(&text) else {
            continue;
        };
        let mut changed = false;
        for field in ["identifiers_added", "identifiers_removed"] {
            if let Some(serde_json::Value::Array(list)) = detail.get_mut(field) {
                let before = list.len();
                list.retain(|entry| !gone(entry));
                changed |= list.len() != before;
            }
        }
        if changed {
            tx.set_change_detail(org, seq, &to_json(&detail))?;
        }
    }
    Ok(())
}
