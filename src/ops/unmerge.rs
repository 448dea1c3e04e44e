//! Undoing a merge (contract §10): `unmerge(merged_away_id)` brings the merged-away
//! contact back from the snapshot its merge kept, in one `BEGIN IMMEDIATE`
//! transaction.
//!
//! * **Nothing written since the merge**: both contacts come back exactly as they
//!   were — the restored one from the snapshot, the survivor's fields and combined
//!   memories from their state before the merge (only `updated_at` moves).
//! * **Written since**: nothing written after the merge is lost.
//!   - The restored contact gets back what was its own: its fields, its identifiers,
//!     calls and SMS conversations (those still on the survivor; one removed since
//!     stays removed), and its memories. A memory of a scope only it had (moved whole
//!     by the merge) comes back as it is now, with what was written to it since; a
//!     memory of a scope both had comes back as it was at the merge.
//!   - The survivor keeps everything else. From its fields and from each memory of a
//!     scope both had, what the merge brought is taken out where it is still as the
//!     merge left it (the rules of [`super::split`]); what was written since stays —
//!     so a message written to the combined memory after the merge stays with the
//!     survivor.
//!   - Every identifier, call and SMS conversation ends on exactly one contact; a
//!     type that lost its primary on either side gets its first identifier as
//!     primary.
//! * **Chains**: after A into B and B into C, A is taken out of C. The later merges'
//!   snapshots are corrected too (they held A's data inside B's), so B can still be
//!   unmerged afterwards.
//! * **Refused**, changing nothing: an id that was never merged away (or whose merge
//!   is undone) is `NOT_FOUND`; a `BAD_REQUEST` says why otherwise — a merge made
//!   before snapshots were kept, an identifier that now belongs to a third contact,
//!   an id or memory id in use again, a survivor that was erased (with the snapshot;
//!   known from the erase tombstone while it is retained).
//!
//! The redirect of the restored id is removed (ids that had redirected to it redirect
//! to it again), the journal marks the merge undone, and two events are logged: the
//! survivor's `contact.unmerged` and the restored contact's `contact.restored`.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::changes;
use super::lookup::details;
use super::snapshot::{ContactFields, MergeSnapshot};
use super::split::{subtract_fields, subtract_memory};
use crate::error::{Error, Result};
use crate::model::{
    to_json, ActivityKind, ChangeKind, Contact, ContactDetails, Identifier, IdentifierType, Memory,
};
use crate::storage::{Db, JournalEntry, Tx};
use crate::timestamp::Timestamp;

/// The two contacts after an unmerge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Unmerged {
    /// The contact brought back, with its identifiers and memories.
    pub restored: ContactDetails,
    /// The contact it had been merged into, as it is now.
    pub primary: ContactDetails,
}

const BEFORE_SNAPSHOTS: &str =
    "Cannot unmerge: the merge was made before contactstore kept what undoing it needs";
const TAKEN_IDENTIFIER: &str =
    "Cannot unmerge: an identifier of the merged contact now belongs to another contact";
const SNAPSHOT_ERASED: &str =
    "Cannot unmerge: the contact it was merged into was erased, and what undoing needs with it";
const ID_IN_USE: &str = "Cannot unmerge: the merged contact's id is in use again";
const MEMORY_IN_USE: &str = "Cannot unmerge: a memory id of the merged contact is in use again";
/// Longest chain of later merges followed (a guard: chains are a handful long).
const MAX_CHAIN: usize = 10_000;

/// Undoes the merge that took `merged_id` away. See the module's documentation.
pub(crate) fn unmerge(db: &Db, org: &str, merged_id: &str) -> Result<Unmerged> {
    db.write(|tx| unmerge_in(tx, org, merged_id))
}

/// One merge of the chain from the undone merge to the survivor, and its snapshot.
struct Hop {
    entry: JournalEntry,
    snapshot: MergeSnapshot,
}

fn parse(entry: JournalEntry) -> Result<Hop> {
    let snapshot = entry
        .snapshot
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or(Error::Refused(BEFORE_SNAPSHOTS))?;
    Ok(Hop { entry, snapshot })
}

fn unmerge_in(tx: &dyn Tx, org: &str, merged_id: &str) -> Result<Unmerged> {
    let Some(entry) = tx.merge_taking(org, merged_id)? else {
        // An id whose survivor was erased is gone with its snapshot: say so, rather
        // than that it never existed.
        if tx.erased_with(org, merged_id)? {
            return Err(Error::Refused(SNAPSHOT_ERASED));
        }
        return Err(Error::NotFound);
    };
    let survivor_id = tx.redirect_of(org, merged_id)?.ok_or(Error::NotFound)?;
    let mut survivor = tx.contact(org, &survivor_id)?.ok_or(Error::NotFound)?;
    if tx.contact(org, merged_id)?.is_some() {
        return Err(Error::Refused(ID_IN_USE));
    }
    let first = parse(entry)?;
    let later = later_hops(tx, org, &first, &survivor.id)?;
    let now = Timestamp::now();
    let own = &first.snapshot;

    let restored = Contact {
        id: merged_id.to_owned(),
        org_id: org.to_owned(),
        updated_at: now,
        ..own.duplicate.clone()
    };
    let moved_back = identifiers_to_move(tx, org, own, &survivor.id)?;
    for m in &own.memories {
        if tx.memory_id_taken(org, &m.id)? && !memory_on(tx, org, &m.id, &survivor.id)? {
            return Err(Error::Refused(MEMORY_IN_USE));
        }
    }
    tx.insert_contact(&restored)?;
    for i in &moved_back {
        tx.assign_identifier(
            org,
            i.identifier_type,
            &i.identifier_value,
            &restored.id,
            i.is_primary,
        )?;
    }
    for kind in ActivityKind::ALL {
        for id in own.activities(kind) {
            tx.move_activity(org, kind, id, &survivor.id, &restored.id)?;
        }
    }
    restore_memories(tx, org, own, &later, &survivor.id, &restored.id, now)?;
    settle_primaries(tx, org, &survivor.id)?;
    settle_primaries(tx, org, &restored.id)?;

    let befores: Vec<&ContactFields> = std::iter::once(&own.primary_before)
        .chain(later.iter().map(|h| &h.snapshot.primary_before))
        .collect();
    subtract_fields(&befores, &own.primary_after, &mut survivor);
    survivor.updated_at = now;
    tx.save_contact(&survivor)?;

    tx.delete_redirect(org, merged_id)?;
    for id in &own.redirects {
        tx.move_redirect(org, id, &survivor.id, &restored.id)?;
    }
    correct_later_snapshots(tx, org, &first, &later, now)?;
    tx.mark_unmerged(org, first.entry.seq, now)?;
    // One event for each side, so that each holds only its own contact's data.
    let keys = changes::keys(&moved_back);
    let detail = json!({ "identifiers_removed": keys });
    changes::record(
        tx,
        org,
        now,
        ChangeKind::ContactUnmerged,
        &survivor.id,
        Some(&restored.id),
        &detail,
    )?;
    let detail = json!({
        "name": restored.name,
        "metadata": restored.metadata,
        "identifiers_added": keys,
    });
    changes::record(
        tx,
        org,
        now,
        ChangeKind::ContactRestored,
        &restored.id,
        Some(&survivor.id),
        &detail,
    )?;
    Ok(Unmerged {
        restored: details(tx, restored)?,
        primary: details(tx, survivor)?,
    })
}

/// The merges after `first` that carried its primary on into the survivor, in order.
fn later_hops(tx: &dyn Tx, org: &str, first: &Hop, survivor: &str) -> Result<Vec<Hop>> {
    let mut hops = Vec::new();
    let mut at = first.entry.primary_id.clone();
    while at != survivor {
        if hops.len() >= MAX_CHAIN {
            return Err(Error::Refused(BEFORE_SNAPSHOTS));
        }
        let entry = tx
            .merge_taking(org, &at)?
            .ok_or(Error::Refused(BEFORE_SNAPSHOTS))?;
        at.clone_from(&entry.primary_id);
        hops.push(parse(entry)?);
    }
    Ok(hops)
}

/// The identifiers of the merged contact still on the survivor, with the flags they
/// had; refuses when one belongs to a third contact now.
fn identifiers_to_move(
    tx: &dyn Tx,
    org: &str,
    own: &MergeSnapshot,
    survivor: &str,
) -> Result<Vec<Identifier>> {
    let mut moving = Vec::with_capacity(own.identifiers.len());
    for i in &own.identifiers {
        match tx.identifier_owner(org, i.identifier_type, &i.identifier_value)? {
            Some(owner) if owner.contact_id == survivor => moving.push(i.clone()),
            Some(_) => return Err(Error::Refused(TAKEN_IDENTIFIER)),
            None => {} // removed since the merge: it stays removed
        }
    }
    Ok(moving)
}

fn memory_on(tx: &dyn Tx, org: &str, memory_id: &str, contact: &str) -> Result<bool> {
    Ok(tx
        .memory(org, memory_id)?
        .is_some_and(|m| m.contact_id == contact))
}

/// Gives the restored contact its memories back and takes out of the survivor's
/// memories what they brought.
fn restore_memories(
    tx: &dyn Tx,
    org: &str,
    own: &MergeSnapshot,
    later: &[Hop],
    survivor: &str,
    restored: &str,
    now: Timestamp,
) -> Result<()> {
    let survivor_scopes = tx.memory_scopes_of(org, survivor)?;
    for mine in &own.memories {
        let scope = mine.scope_key();
        let combined = own.combined_scope(&scope);
        if combined.is_none() && memory_on(tx, org, &mine.id, survivor)? {
            // Moved whole, and still whole: it comes back with what was written since.
            tx.move_memory(org, &mine.id, restored)?;
            continue;
        }
        tx.insert_memory(
            org,
            &Memory {
                contact_id: restored.to_owned(),
                ..mine.clone()
            },
        )?;
        let Some((theirs, _)) = survivor_scopes.iter().find(|(_, s)| *s == scope) else {
            continue;
        };
        let Some(current) = tx.memory(org, theirs)? else {
            continue;
        };
        let (before, after) = match combined {
            Some(c) => (Some(&c.before), &c.after),
            None => (None, mine),
        };
        let befores: Vec<Option<&Memory>> = std::iter::once(before)
            .chain(
                later
                    .iter()
                    .map(|h| h.snapshot.combined_scope(&scope).map(|c| &c.before)),
            )
            .collect();
        let kept = subtract_memory(&befores, after, &current, now);
        tx.save_memory(org, &kept)?;
        tx.delete_entities_of_memory(org, &kept.id)?;
        for e in &kept.entities {
            tx.save_entity(org, &kept.id, e)?;
        }
    }
    Ok(())
}

/// Makes the first identifier of each type primary where a contact has that type but
/// no primary of it.
fn settle_primaries(tx: &dyn Tx, org: &str, contact: &str) -> Result<()> {
    let identifiers = tx.identifiers_of(org, contact)?;
    for kind in IdentifierType::ALL {
        let of_kind = || identifiers.iter().filter(|i| i.identifier_type == kind);
        if of_kind().next().is_some() && !of_kind().any(|i| i.is_primary) {
            tx.promote_first_identifier(org, contact, kind)?;
        }
    }
    Ok(())
}

/// The later merges' snapshots hold the undone contact's data inside their duplicate
/// (B's document, when A is taken out of C): it is taken out of them too, so that
/// undoing those merges later does not bring it back.
fn correct_later_snapshots(
    tx: &dyn Tx,
    org: &str,
    first: &Hop,
    later: &[Hop],
    now: Timestamp,
) -> Result<()> {
    let own = &first.snapshot;
    let mut contact_befores = vec![&own.primary_before];
    for (i, hop) in later.iter().enumerate() {
        let mut s = hop.snapshot.clone();
        s.identifiers.retain(|x| {
            !own.identifiers.iter().any(|o| {
                o.identifier_type == x.identifier_type && o.identifier_value == x.identifier_value
            })
        });
        s.calls.retain(|id| !own.calls.contains(id));
        s.sms_conversations
            .retain(|id| !own.sms_conversations.contains(id));
        s.redirects
            .retain(|id| *id != first.entry.duplicate_id && !own.redirects.contains(id));
        s.memories
            .retain(|m| !own.memories.iter().any(|o| o.id == m.id));
        for m in &mut s.memories {
            let scope = m.scope_key();
            let Some(combined) = own.combined_scope(&scope) else {
                continue;
            };
            let mut befores: Vec<Option<&Memory>> = vec![Some(&combined.before)];
            befores.extend(
                later[..i]
                    .iter()
                    .map(|h| h.snapshot.combined_scope(&scope).map(|c| &c.before)),
            );
            *m = subtract_memory(&befores, &combined.after, m, now);
        }
        subtract_fields(&contact_befores, &own.primary_after, &mut s.duplicate);
        // What this later merge left its primary with held the undone contact's data
        // too; its befores are the survivor's own and stay.
        for combined in &mut s.combined {
            let scope = combined.after.scope_key();
            let mine = own.memories.iter().find(|m| m.scope_key() == scope);
            let (before, after) = match own.combined_scope(&scope) {
                Some(c) => (Some(&c.before), &c.after),
                None => match mine {
                    Some(m) => (None, m),
                    None => continue,
                },
            };
            let mut befores: Vec<Option<&Memory>> = vec![before];
            befores.extend(
                later[..=i]
                    .iter()
                    .map(|h| h.snapshot.combined_scope(&scope).map(|c| &c.before)),
            );
            combined.after = subtract_memory(&befores, after, &combined.after, now);
        }
        contact_befores.push(&hop.snapshot.primary_before);
        let mut primary_after = fields_as_contact(&s.primary_after);
        subtract_fields(&contact_befores, &own.primary_after, &mut primary_after);
        s.primary_after = ContactFields::of(&primary_after);
        tx.set_merge_snapshot(org, hop.entry.seq, &to_json(&s))?;
    }
    Ok(())
}

/// Contact fields as a contact, for the rules that take one.
fn fields_as_contact(fields: &ContactFields) -> Contact {
    Contact {
        id: String::new(),
        org_id: String::new(),
        name: fields.name.clone(),
        metadata: fields.metadata.clone(),
        created_at: fields.created_at,
        updated_at: fields.created_at,
    }
}
