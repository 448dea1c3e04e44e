//! Memory writes and reads: a contact's memory per persona or agent (contract §1), and
//! the hosted API's memory calls (contract §8).
//!
//! Every write is one `BEGIN IMMEDIATE` transaction that finds the memory — by contact
//! (following merges, like get) and scope, created if missing, or by its id — applies
//! the change, records it in `memory_history`, and bumps the memory's and the
//! contact's `updated_at`: only if something changed. Each write is built as a
//! [`Change`] after its input is validated, so bad input is refused before any
//! transaction begins.

use serde_json::{json, Value};

use super::fold::{add_sorted_capped, patch_object, push_history};
use super::lookup::reached_contact;
use super::{changes, scope};
use crate::error::{Error, Result};
use crate::limits;
use crate::model::{
    new_prefixed_id, ChangeKind, Entity, EntityUpdate, HistoryEntry, HistoryKind, JsonObject,
    Memory, MemoryScope, Message, OpenItem, Scope,
};
use crate::storage::{Db, MemoryRow, Tx};
use crate::timestamp::Timestamp;

/// What a memory write does to the row (and to other tables through the
/// transaction), at `now`. Returns whether it changed anything; a change records
/// itself in the row's history.
pub(crate) type Change<'a> = dyn FnMut(&dyn Tx, &mut MemoryRow, Timestamp) -> Result<bool> + 'a;

/// Which memory a write or read is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MemoryAt<'a> {
    /// The memory of a contact (or the contact it was merged into) for a scope;
    /// created if missing.
    Scope {
        contact_id: &'a str,
        scope: &'a MemoryScope,
    },
    /// The memory with this id.
    Id(&'a str),
}

/// Creates a contact's empty memory for a scope; returns its id. Its history starts
/// with its creation.
pub(crate) fn create(
    tx: &dyn Tx,
    org: &str,
    contact_id: &str,
    scope: &Scope,
    now: Timestamp,
) -> Result<String> {
    let id = new_prefixed_id("mem");
    let created = entry(now, HistoryKind::Created, Value::Null, None);
    tx.insert_empty_memory(org, &id, contact_id, scope, now, &[created])?;
    Ok(id)
}

/// A history entry.
fn entry(now: Timestamp, kind: HistoryKind, value: Value, previous: Option<Value>) -> HistoryEntry {
    HistoryEntry {
        timestamp: now,
        kind,
        value,
        previous,
    }
}

/// Finds the memory a write is about (creating it for a scope); returns the row, its
/// contact, and whether it was just created.
fn locate(
    tx: &dyn Tx,
    org: &str,
    at: MemoryAt<'_>,
    scope: Option<&Scope>,
    now: Timestamp,
    create_missing: bool,
) -> Result<Option<(MemoryRow, String, bool)>> {
    match (at, scope) {
        (MemoryAt::Scope { contact_id, .. }, Some(scope)) => {
            let contact = reached_contact(tx, org, contact_id)?;
            if let Some(row) = tx.memory_row(org, &contact.id, scope)? {
                return Ok(Some((row, contact.id, false)));
            }
            if !create_missing {
                return Ok(None);
            }
            create(tx, org, &contact.id, scope, now)?;
            let row = tx
                .memory_row(org, &contact.id, scope)?
                .ok_or(Error::MemoryNotFound)?;
            Ok(Some((row, contact.id, true)))
        }
        (MemoryAt::Id(id), _) => {
            let (row, contact) = tx.memory_row_by_id(org, id)?.ok_or(Error::MemoryNotFound)?;
            Ok(Some((row, contact, false)))
        }
        (MemoryAt::Scope { .. }, None) => Err(Error::MemoryNotFound),
    }
}

/// The validated scope of an address, if it has one.
fn scope_of(at: MemoryAt<'_>, db: &Db) -> Result<Option<Scope>> {
    match at {
        MemoryAt::Scope { scope, .. } => scope::required(scope, db.settings().region).map(Some),
        MemoryAt::Id(_) => Ok(None),
    }
}

/// Runs one memory write and returns the memory as it is afterwards, and whether this
/// write created it.
pub(crate) fn write(
    db: &Db,
    org: &str,
    at: MemoryAt<'_>,
    mut change: Box<Change<'_>>,
) -> Result<(Memory, bool)> {
    let scope = scope_of(at, db)?;
    db.write(|tx| {
        let now = Timestamp::now();
        let (mut row, contact, created) =
            locate(tx, org, at, scope.as_ref(), now, true)?.ok_or(Error::MemoryNotFound)?;
        // A new memory's first entries are news too.
        let known = if created {
            None
        } else {
            row.history.last().cloned()
        };
        let changed = change(tx, &mut row, now)?;
        if changed {
            tx.update_memory(org, &row, now)?;
        }
        if changed || created {
            tx.touch_contact(org, &contact, now)?;
        }
        let memory = tx.memory(org, &row.id)?.ok_or(Error::MemoryNotFound)?;
        if changed || created {
            log_write(tx, org, &memory, known.as_ref(), now)?;
        }
        Ok((memory, created))
    })
}

/// Logs a memory write: the `memory_history` entries it added after `known` (the
/// newest entry before it; all of them for a new memory).
fn log_write(
    tx: &dyn Tx,
    org: &str,
    memory: &Memory,
    known: Option<&HistoryEntry>,
    now: Timestamp,
) -> Result<()> {
    let history = &memory.memory_history;
    let added = match known.and_then(|k| history.iter().rposition(|e| e == k)) {
        Some(at) => &history[at + 1..],
        None => &history[..],
    };
    let detail = json!({
        "memory_id": memory.id,
        "persona_id": memory.persona_id,
        "agent_number": memory.agent_number,
        "history": added,
    });
    changes::record(
        tx,
        org,
        now,
        ChangeKind::MemoryUpdated,
        &memory.contact_id,
        None,
        &detail,
    )
}

/// Wipes a contact's memory of a scope, if it has one (see [`reset`]); returns whether
/// there was one. A contact without it is left untouched.
pub(crate) fn reset_scope(
    db: &Db,
    org: &str,
    contact_id: &str,
    scope: &MemoryScope,
) -> Result<bool> {
    let scope = scope::required(scope, db.settings().region)?;
    let at = MemoryAt::Scope {
        contact_id,
        scope: &MemoryScope::default(),
    };
    db.write(|tx| {
        let now = Timestamp::now();
        let Some((mut row, contact, _)) = locate(tx, org, at, Some(&scope), now, false)? else {
            reached_contact(tx, org, contact_id)?;
            return Ok(false);
        };
        let known = row.history.last().cloned();
        if reset(org)(tx, &mut row, now)? {
            tx.update_memory(org, &row, now)?;
            tx.touch_contact(org, &contact, now)?;
            let memory = tx.memory(org, &row.id)?.ok_or(Error::MemoryNotFound)?;
            log_write(tx, org, &memory, known.as_ref(), now)?;
        }
        Ok(true)
    })
}

/// The memory with this id, read-only.
pub(crate) fn read(db: &Db, org: &str, memory_id: &str) -> Result<Memory> {
    db.read(|tx| tx.memory(org, memory_id)?.ok_or(Error::MemoryNotFound))
}

/// A contact's memory of a scope, read-only: the id of the contact reached (a
/// merged-away id reaches the survivor) and the memory, `None` when there is none yet.
pub(crate) fn read_scope(
    db: &Db,
    org: &str,
    contact_id: &str,
    scope: &MemoryScope,
) -> Result<(String, Option<Memory>)> {
    let scope = scope::required(scope, db.settings().region)?;
    db.read(|tx| {
        let contact = reached_contact(tx, org, contact_id)?;
        let memory = match tx.memory_row(org, &contact.id, &scope)? {
            Some(row) => tx.memory(org, &row.id)?,
            None => None,
        };
        Ok((contact.id, memory))
    })
}

/// Changes nothing: the memory is only created if missing.
pub(crate) fn ensure() -> Box<Change<'static>> {
    Box::new(|_, _, _| Ok(false))
}

/// Replaces the summary.
pub(crate) fn set_summary(summary: String) -> Result<Box<Change<'static>>> {
    limits::text(&summary, "summary")?;
    Ok(Box::new(move |_, row: &mut MemoryRow, now| {
        if row.summary == summary {
            return Ok(false);
        }
        let previous = std::mem::replace(&mut row.summary, summary.clone());
        row.summary_updated_at = Some(now);
        let new = Value::String(row.summary.clone());
        push_history(
            &mut row.history,
            entry(
                now,
                HistoryKind::SummaryUpdate,
                new,
                Some(Value::String(previous)),
            ),
        );
        Ok(true)
    }))
}

/// Patches facts. With `nulls_remove`, a key set to null is removed (the library's
/// patch); without, null is stored as a value (the hosted API's merge, which never
/// deletes a key).
pub(crate) fn patch_facts(patch: &JsonObject, nulls_remove: bool) -> Result<Box<Change<'static>>> {
    limits::facts(patch, "facts")?;
    let patch = patch.clone();
    Ok(Box::new(move |_, row: &mut MemoryRow, now| {
        let before = row.facts.clone();
        let changed = if nulls_remove {
            patch_object(&mut row.facts, &patch)
        } else {
            let mut changed = false;
            for (key, value) in &patch {
                changed |= row.facts.insert(key.clone(), value.clone()).as_ref() != Some(value);
            }
            changed
        };
        limits::facts(&row.facts, "facts")?;
        if changed {
            let previous: JsonObject = patch
                .keys()
                .map(|k| (k.clone(), before.get(k).cloned().unwrap_or(Value::Null)))
                .collect();
            let value = Value::Object(patch.clone());
            push_history(
                &mut row.history,
                entry(
                    now,
                    HistoryKind::FactsUpdate,
                    value,
                    Some(Value::Object(previous)),
                ),
            );
        }
        Ok(changed)
    }))
}

/// Appends messages, keeping the newest `cap` in timestamp order.
pub(crate) fn add_messages(messages: Vec<Message>, cap: usize) -> Result<Box<Change<'static>>> {
    for m in &messages {
        m.check()?;
    }
    Ok(Box::new(move |_, row: &mut MemoryRow, now| {
        // A retried delivery of the same message (same role, content, channel and
        // timestamp) is not stored twice — merge's union would not keep it twice either.
        let mut new: Vec<Message> = Vec::with_capacity(messages.len());
        for m in &messages {
            if !row.recent_messages.contains(m) && !new.contains(m) {
                new.push(m.clone());
            }
        }
        let before = row.recent_messages.clone();
        add_sorted_capped(&mut row.recent_messages, &new, cap);
        if row.recent_messages == before {
            return Ok(false);
        }
        push_history(
            &mut row.history,
            entry(now, HistoryKind::MessagesAdded, json!(new.len()), None),
        );
        Ok(true)
    }))
}

/// Adds an open item (an exact duplicate of an open one is not added twice).
pub(crate) fn add_open_item(item: &OpenItem) -> Result<Box<Change<'static>>> {
    let item = item.checked()?;
    Ok(Box::new(move |_, row: &mut MemoryRow, now| {
        if row.open_items.contains(&item) {
            return Ok(false);
        }
        let value = json!({"type": item.item_type, "description": item.description});
        row.open_items.push(item.clone());
        row.open_items.sort_by_key(|i| i.created_at);
        push_history(
            &mut row.history,
            entry(now, HistoryKind::OpenItemAdded, value, None),
        );
        Ok(true)
    }))
}

/// Closes (removes) the open items of this type and description.
pub(crate) fn close_open_items(item_type: &str, description: &str) -> Result<Box<Change<'static>>> {
    // What could never have been added is refused rather than matching nothing.
    let item_type = limits::short_key(item_type, "type")?;
    limits::text(description, "description")?;
    let description = description.to_owned();
    Ok(Box::new(move |_, row: &mut MemoryRow, now| {
        let before = row.open_items.len();
        row.open_items
            .retain(|i| !(i.item_type == item_type && i.description == description));
        let closed = before - row.open_items.len();
        if closed == 0 {
            return Ok(false);
        }
        let value = json!({"type": item_type, "description": description, "closed": closed});
        push_history(
            &mut row.history,
            entry(now, HistoryKind::OpenItemsClosed, value, None),
        );
        Ok(true)
    }))
}

/// Creates or updates one entity.
pub(crate) fn upsert_entity(update: &EntityUpdate, org: &str) -> Result<Box<Change<'static>>> {
    let entity_type = limits::short_key(&update.entity_type, "entity_type")?;
    let entity_id = limits::short_key(&update.entity_id, "entity_id")?;
    // Before the copy below: copying a deep value recurses.
    limits::facts(&update.facts, "facts")?;
    if let Some(status) = &update.status {
        limits::short_key(status, "status")?;
    }
    if let Some(notes) = &update.notes {
        limits::text(notes, "notes")?;
    }
    let update = EntityUpdate {
        entity_type,
        entity_id,
        ..update.clone()
    };
    let org = org.to_owned();
    Ok(Box::new(move |tx: &dyn Tx, row: &mut MemoryRow, now| {
        let existing = tx.entity(&org, &row.id, &update.entity_type, &update.entity_id)?;
        let mut entity = existing
            .clone()
            .unwrap_or_else(|| Entity::empty(update.entity_type.clone(), update.entity_id.clone()));
        patch_object(&mut entity.facts, &update.facts);
        limits::facts(&entity.facts, "facts")?;
        if update.status.is_some() {
            entity.status = update.status.clone();
        }
        if update.last_discussed_at.is_some() {
            entity.last_discussed_at = update.last_discussed_at;
        }
        if update.notes.is_some() {
            entity.notes = update.notes.clone();
        }
        if existing.as_ref() == Some(&entity) {
            return Ok(false);
        }
        tx.save_entity(&org, &row.id, &entity)?;
        let value = json!({"entity_type": entity.entity_type, "entity_id": entity.entity_id});
        push_history(
            &mut row.history,
            entry(now, HistoryKind::EntityUpdate, value, None),
        );
        Ok(true)
    }))
}

/// Wipes the memory: summary, facts, messages, open items, entities and the history
/// that held their earlier values. What remains is the record and one `reset` entry.
pub(crate) fn reset(org: &str) -> Box<Change<'static>> {
    let org = org.to_owned();
    Box::new(move |tx: &dyn Tx, row: &mut MemoryRow, now| {
        let entities = tx.delete_entities_of_memory(&org, &row.id)?;
        let empty = row.summary.is_empty()
            && row.facts.is_empty()
            && row.recent_messages.is_empty()
            && row.open_items.is_empty()
            && entities == 0;
        if empty
            && row
                .history
                .last()
                .is_some_and(|e| e.kind == HistoryKind::Reset)
        {
            return Ok(false);
        }
        if !row.summary.is_empty() {
            row.summary_updated_at = Some(now);
        }
        row.summary.clear();
        row.facts.clear();
        row.recent_messages.clear();
        row.open_items.clear();
        row.history = vec![entry(now, HistoryKind::Reset, Value::Null, None)];
        Ok(true)
    })
}
