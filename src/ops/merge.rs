//! Merging two contacts (contract §3, merge): the rules, in one place.
//!
//! `merge(primary, duplicate)` runs in one `BEGIN IMMEDIATE` transaction. Refusals
//! first — same contact (`Cannot merge a contact with itself`), unknown id
//! (`Contact not found`), different orgs (`Cannot merge contacts from different
//! orgs`) — then, in this order:
//!
//! 1. **identifiers**: all of the duplicate's move to the primary; the primary keeps its
//!    primaries; a moved identifier of a type the primary lacks keeps its primary flag.
//! 2. **metadata**: top-level keys merged; the primary's value wins on conflict.
//! 3. **name**: the primary's, unless null or empty — then the duplicate's.
//! 4. **created_at**: the earlier of the two; **updated_at**: now.
//! 5. **calls and SMS conversations**: reassigned to the primary.
//! 6. **memory, per scope**: a scope only the duplicate has moves over. Where both
//!    have one: `summary` — one if the other is empty or equal, else the primary's, a
//!    blank line, the duplicate's; `facts` — keys merged, primary wins;
//!    `recent_messages` — union (every exact message once), ordered by timestamp
//!    (primary's first on ties), cut to the newest N; `open_items` — union (every exact item
//!    once), ordered by `created_at`; `entities` — union by (type, id); where both
//!    have one, the later `last_discussed_at` (the primary's on a tie) wins `status`
//!    and conflicting fact keys, other facts are kept, non-empty notes are joined.
//! 7. **the duplicate** is deleted; its id (and every id that redirected to it)
//!    redirects to the primary, so reads follow one redirect however long the chain;
//!    the merge is journaled with what moved and what undoing it needs (a
//!    [`MergeSnapshot`]: see [`super::unmerge`]), and a `contact.merged` event is logged.
//!
//! Any error rolls the whole transaction back: the database is exactly as before. A
//! preview ([`preview`]) runs the same merge in a transaction that is rolled back.

use serde::{Deserialize, Serialize};

use serde_json::json;

use super::changes;
use super::fold::{add_missing_keys, add_sorted_capped, join_texts, push_history, union};
use super::lookup::contact_in;
use super::snapshot::{CombinedScope, ContactFields, MergeSnapshot};
use crate::error::{Error, Result};
use crate::model::{
    to_json, ActivityKind, ChangeKind, Contact, Entity, HistoryEntry, HistoryKind, Identifier,
    Memory, MoveCounts,
};
use crate::storage::{Db, OrgScope, Tx};
use crate::timestamp::Timestamp;

/// The result of a merge: the surviving contact, with its identifiers and memories
/// after the merge, and what moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Merged {
    /// The merged contact (the primary, updated).
    #[serde(flatten)]
    pub contact: Contact,
    /// Its identifiers: by type, primary first.
    pub identifiers: Vec<Identifier>,
    /// Its memories, by creation.
    pub memories: Vec<Memory>,
    /// What moved from the duplicate.
    pub moved: MoveCounts,
}

/// Merges in one transaction. See the module's documentation.
pub(crate) fn merge(
    db: &Db,
    orgs: OrgScope<'_>,
    primary_id: &str,
    duplicate_id: &str,
) -> Result<Merged> {
    let cap = db.settings().recent_messages_cap;
    db.write(|tx| merge_in(tx, orgs, primary_id, duplicate_id, cap))
}

/// What [`merge`] would return, computed in a transaction that is rolled back:
/// nothing is written. (It takes the write lock while it runs, as a merge would.)
pub(crate) fn preview(
    db: &Db,
    orgs: OrgScope<'_>,
    primary_id: &str,
    duplicate_id: &str,
) -> Result<Merged> {
    let cap = db.settings().recent_messages_cap;
    db.rolled_back(|tx| merge_in(tx, orgs, primary_id, duplicate_id, cap))
}

/// The merge itself, inside the caller's transaction (import uses it per line).
pub(crate) fn merge_in(
    tx: &dyn Tx,
    orgs: OrgScope<'_>,
    primary_id: &str,
    duplicate_id: &str,
    cap: usize,
) -> Result<Merged> {
    // The primary may be named by a merged-away id (it is followed, like get); the
    // duplicate may not — a stale id must never delete the live contact it redirects
    // to.
    let mut primary = contact_in(tx, orgs, primary_id, true)?;
    let duplicate = contact_in(tx, orgs, duplicate_id, false)?;
    if primary.org_id != duplicate.org_id {
        return Err(Error::Refused("Cannot merge contacts from different orgs"));
    }
    // The same id twice, or a merged-away id and the contact it was merged into. Only
    // after both are found: an id that names nothing is not found, whatever it is
    // merged with.
    if primary.id == duplicate.id {
        return Err(Error::Refused("Cannot merge a contact with itself"));
    }
    let org = primary.org_id.clone();
    // Both contacts stay as read until the merge commits (in one order whatever the
    // argument order: two merges of one pair cannot deadlock).
    tx.lock_contacts(&org, &primary.id, &duplicate.id)?;
    let now = Timestamp::now();
    let mut snapshot = MergeSnapshot::before_merge(tx, &primary, &duplicate)?;
    let mut moved = MoveCounts {
        identifiers: tx.move_identifiers(&org, &duplicate.id, &primary.id)?,
        ..MoveCounts::default()
    };
    add_missing_keys(&mut primary.metadata, &duplicate.metadata);
    merge_name(&mut primary.name, &duplicate.name);
    primary.created_at = primary.created_at.min(duplicate.created_at);
    primary.updated_at = now;
    for kind in ActivityKind::ALL {
        let n = tx.move_activities(&org, kind, &duplicate.id, &primary.id)?;
        match kind {
            ActivityKind::Call => moved.calls = n,
            ActivityKind::Sms => moved.sms_conversations = n,
        }
    }
    merge_memories(
        tx,
        &org,
        &primary.id,
        &duplicate.id,
        cap,
        now,
        &mut moved,
        &mut snapshot,
    )?;
    tx.repoint_findings(&org, &duplicate.id, &primary.id)?;
    tx.save_contact(&primary)?;
    // Redirects to the duplicate are re-pointed before it is deleted: the redirect's
    // foreign key would cascade.
    moved.redirects = tx.repoint_redirects(&org, &duplicate.id, &primary.id)?;
    tx.delete_contact(&org, &duplicate.id)?;
    tx.insert_redirect(&org, &duplicate.id, &primary.id, now)?;
    snapshot.primary_after = ContactFields::of(&primary);
    tx.journal_merge(
        &org,
        &primary.id,
        &duplicate.id,
        now,
        &moved,
        &to_json(&snapshot),
    )?;
    let detail = json!({
        "identifiers_added": changes::keys(&snapshot.identifiers),
        "moved": moved,
    });
    changes::record(
        tx,
        &org,
        now,
        ChangeKind::ContactMerged,
        &primary.id,
        Some(&duplicate.id),
        &detail,
    )?;
    Ok(Merged {
        identifiers: tx.identifiers_of(&org, &primary.id)?,
        memories: tx.memories_of(&org, &primary.id)?,
        contact: primary,
        moved,
    })
}

// 3. name ----------------------------------------------------------------------------

fn merge_name(primary: &mut Option<String>, other: &Option<String>) {
    if primary.as_deref().is_none_or(|n| n.trim().is_empty()) {
        primary.clone_from(other);
    }
}

// 6. memory ------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn merge_memories(
    tx: &dyn Tx,
    org: &str,
    primary: &str,
    duplicate: &str,
    cap: usize,
    now: Timestamp,
    moved: &mut MoveCounts,
    snapshot: &mut MergeSnapshot,
) -> Result<()> {
    let primary_scopes = tx.memory_scopes_of(org, primary)?;
    let duplicate_scopes = tx.memory_scopes_of(org, duplicate)?;
    let mut to_combine = Vec::new();
    for (dup_memory, scope) in &duplicate_scopes {
        match primary_scopes.iter().find(|(_, s)| s == scope) {
            None => {
                tx.move_memory(org, dup_memory, primary)?;
                moved.memories_moved += 1;
                moved.entities += snapshot
                    .duplicate_memory(dup_memory)
                    .map_or(0, |m| m.entities.len() as u64);
            }
            Some((primary_memory, _)) => {
                to_combine.push((primary_memory.clone(), dup_memory.clone()))
            }
        }
    }
    // Only the primary's side of the pairs being combined is read here (memories moved
    // whole above are not read at all); the duplicate's memories, with their entities,
    // were read for the snapshot in this transaction.
    for (primary_memory, dup_memory) in to_combine {
        let d = snapshot.duplicate_memory(&dup_memory);
        let (Some(mut p), Some(d)) = (tx.memory(org, &primary_memory)?, d) else {
            continue;
        };
        let kept = p.clone();
        let before = p.entities.clone();
        combine_memory(&mut p, d, cap, now);
        snapshot.combined.push(CombinedScope {
            before: kept,
            after: p.clone(),
        });
        tx.save_memory(org, &p)?;
        // Only entities the duplicate added or changed are written.
        for entity in p.entities.iter().filter(|e| !before.contains(e)) {
            tx.save_entity(org, &p.id, entity)?;
        }
        tx.delete_memory(org, &dup_memory)?;
        moved.memories_combined += 1;
        moved.entities += (p.entities.len() - before.len()) as u64;
    }
    Ok(())
}

/// Combines the duplicate's memory of a scope into the primary's (rule 6), at `now`.
/// The histories are joined in time order, and the merge is the newest entry.
pub(crate) fn combine_memory(primary: &mut Memory, duplicate: &Memory, cap: usize, now: Timestamp) {
    let summary = join_texts(&primary.summary, &duplicate.summary);
    if summary != primary.summary {
        primary.summary = summary;
        primary.summary_updated_at = Some(now);
    }
    add_missing_keys(&mut primary.facts, &duplicate.facts);
    if primary.agent_number.is_none() {
        primary.agent_number.clone_from(&duplicate.agent_number);
    }
    let messages = union(&primary.recent_messages, &duplicate.recent_messages);
    primary.recent_messages.clear();
    add_sorted_capped(&mut primary.recent_messages, &messages, cap);
    primary.open_items = union(&primary.open_items, &duplicate.open_items);
    primary.open_items.sort_by_key(|i| i.created_at);
    for entity in &duplicate.entities {
        let same = |e: &&mut Entity| {
            e.entity_type == entity.entity_type && e.entity_id == entity.entity_id
        };
        match primary.entities.iter_mut().find(same) {
            Some(mine) => combine_entity(mine, entity),
            None => primary.entities.push(entity.clone()),
        }
    }
    primary.created_at = primary.created_at.min(duplicate.created_at);
    primary.updated_at = now;
    let mut history = primary.memory_history.clone();
    history.extend(duplicate.memory_history.iter().cloned());
    // Stable: on equal timestamps the primary's entries come first.
    history.sort_by_key(|e| e.timestamp);
    // The memory merged in, by id (the merge journal links the two contacts).
    let merged_in = json!({"memory_id": duplicate.id});
    primary.memory_history = history;
    push_history(
        &mut primary.memory_history,
        HistoryEntry {
            timestamp: now,
            kind: HistoryKind::MergedIn,
            value: merged_in,
            previous: None,
        },
    );
}

/// Where both memories know an entity: the later discussion wins status and
/// conflicting facts (the primary's on a tie); other facts are kept; notes joined.
fn combine_entity(primary: &mut Entity, duplicate: &Entity) {
    let duplicate_is_newer = match (duplicate.last_discussed_at, primary.last_discussed_at) {
        (Some(d), Some(p)) => d > p,
        (Some(_), None) => true,
        _ => false,
    };
    if duplicate_is_newer {
        let mut facts = duplicate.facts.clone();
        add_missing_keys(&mut facts, &primary.facts);
        primary.facts = facts;
        if duplicate.status.is_some() {
            primary.status.clone_from(&duplicate.status);
        }
        primary.last_discussed_at = duplicate.last_discussed_at;
    } else {
        add_missing_keys(&mut primary.facts, &duplicate.facts);
    }
    let notes = join_texts(
        primary.notes.as_deref().unwrap_or(""),
        duplicate.notes.as_deref().unwrap_or(""),
    );
    primary.notes = (!notes.is_empty()).then_some(notes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(
        at: Option<i64>,
        facts: serde_json::Value,
        status: &str,
        notes: Option<&str>,
    ) -> Entity {
        Entity {
            entity_type: "order".into(),
            entity_id: "o-1".into(),
            facts: facts.as_object().unwrap().clone(),
            status: Some(status.into()),
            last_discussed_at: at.and_then(Timestamp::from_millis),
            notes: notes.map(str::to_owned),
        }
    }

    #[test]
    fn the_later_discussion_wins_status_and_conflicting_facts() {
        let mut primary = entity(
            Some(1),
            json!({"status": "processing", "carrier": "UPS"}),
            "processing",
            Some("p"),
        );
        let newer = entity(
            Some(2),
            json!({"status": "in_transit", "eta": "Fri"}),
            "in_transit",
            Some("d"),
        );
        combine_entity(&mut primary, &newer);
        assert_eq!(
            serde_json::Value::Object(primary.facts.clone()),
            json!({"status": "in_transit", "carrier": "UPS", "eta": "Fri"})
        );
        assert_eq!(primary.status.as_deref(), Some("in_transit"));
        assert_eq!(primary.notes.as_deref(), Some("p\n\nd"));

        let mut primary = entity(Some(5), json!({"status": "delivered"}), "delivered", None);
        combine_entity(
            &mut primary,
            &entity(Some(5), json!({"status": "lost", "x": 1}), "lost", None),
        );
        assert_eq!(
            primary.status.as_deref(),
            Some("delivered"),
            "a tie goes to the primary"
        );
        assert_eq!(
            serde_json::Value::Object(primary.facts),
            json!({"status": "delivered", "x": 1})
        );
        assert_eq!(primary.notes, None);
    }

    #[test]
    fn a_newer_entity_without_status_keeps_the_primarys_status() {
        let mut primary = entity(Some(1), json!({}), "delivered", None);
        let mut newer = entity(Some(2), json!({"x": 1}), "ignored", None);
        newer.status = None;
        combine_entity(&mut primary, &newer);
        assert_eq!(primary.status.as_deref(), Some("delivered"));
        assert_eq!(primary.last_discussed_at, Timestamp::from_millis(2));
    }

    #[test]
    fn names_prefer_the_primary() {
        let mut name = Some("  ".to_owned());
        merge_name(&mut name, &Some("Sarah".into()));
        assert_eq!(name.as_deref(), Some("Sarah"));
        let mut name = Some("Sarah".to_owned());
        merge_name(&mut name, &Some("S.".into()));
        assert_eq!(name.as_deref(), Some("Sarah"));
    }
}
