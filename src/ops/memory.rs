//! Memory writes: a contact's memory per persona or agent (contract §1).
//!
//! Every write is one `BEGIN IMMEDIATE` transaction that finds the contact (following
//! merges, like get), creates the scope's memory if it is missing, applies the change,
//! and bumps the memory's and the contact's `updated_at` — only if something changed.
//! Each write is built as a [`Change`] after its input is validated, so bad input is
//! refused before any transaction begins.

use super::fold::{add_sorted_capped, patch_object};
use super::lookup::reached_contact;
use super::scope;
use crate::error::{Error, Result};
use crate::limits;
use crate::model::{
    new_prefixed_id, Entity, EntityUpdate, JsonObject, Memory, MemoryScope, Message, OpenItem,
};
use crate::storage::{Db, MemoryRow, Tx};
use crate::timestamp::Timestamp;

/// What a memory write does to the row, and to other tables through the transaction.
/// Returns whether it changed anything.
pub(crate) type Change<'a> = dyn FnOnce(&dyn Tx, &mut MemoryRow) -> Result<bool> + 'a;

/// Runs one memory write: finds the contact and the scope's memory (creating it),
/// applies `change`, saves and bumps `updated_at` if anything changed, and returns the
/// memory as it is afterwards.
pub(crate) fn write(
    db: &Db,
    org: &str,
    contact_id: &str,
    scope: &MemoryScope,
    change: Box<Change<'_>>,
) -> Result<Memory> {
    let scope = scope::required(scope, db.settings().region)?;
    db.write(|tx| {
        let contact = reached_contact(tx, org, contact_id)?;
        let now = Timestamp::now();
        let mut created = false;
        let mut row = match tx.memory_row(org, &contact.id, &scope)? {
            Some(row) => row,
            None => {
                tx.insert_empty_memory(org, &new_prefixed_id("mem"), &contact.id, &scope, now)?;
                created = true;
                tx.memory_row(org, &contact.id, &scope)?
                    .ok_or(Error::NotFound)?
            }
        };
        if change(tx, &mut row)? {
            tx.update_memory(org, &row, now)?;
            tx.touch_contact(org, &contact.id, now)?;
        } else if created {
            tx.touch_contact(org, &contact.id, now)?;
        }
        tx.memory(org, &row.id)?.ok_or(Error::NotFound)
    })
}

/// Changes nothing: the memory is only created if missing.
pub(crate) fn ensure() -> Box<Change<'static>> {
    Box::new(|_, _| Ok(false))
}

/// Replaces the summary.
pub(crate) fn set_summary(summary: String) -> Result<Box<Change<'static>>> {
    limits::text(&summary, "summary")?;
    Ok(Box::new(move |_, row: &mut MemoryRow| {
        let changed = row.summary != summary;
        row.summary = summary;
        Ok(changed)
    }))
}

/// Patches facts: keys set, null removes.
pub(crate) fn patch_facts(patch: &JsonObject) -> Result<Box<Change<'static>>> {
    limits::facts(patch, "facts")?;
    let patch = patch.clone();
    Ok(Box::new(move |_, row: &mut MemoryRow| {
        let changed = patch_object(&mut row.facts, &patch);
        limits::facts(&row.facts, "facts")?;
        Ok(changed)
    }))
}

/// Appends messages, keeping the newest `cap` in timestamp order.
pub(crate) fn add_messages(messages: Vec<Message>, cap: usize) -> Result<Box<Change<'static>>> {
    for m in &messages {
        m.check()?;
    }
    Ok(Box::new(move |_, row: &mut MemoryRow| {
        // A retried delivery of the same message (same role, content, channel and
        // timestamp) is not stored twice — merge's union would not keep it twice either.
        let mut new: Vec<Message> = Vec::with_capacity(messages.len());
        for m in messages {
            if !row.recent_messages.contains(&m) && !new.contains(&m) {
                new.push(m);
            }
        }
        let before = row.recent_messages.clone();
        add_sorted_capped(&mut row.recent_messages, &new, cap);
        Ok(row.recent_messages != before)
    }))
}

/// Adds an open item (an exact duplicate of an open one is not added twice).
pub(crate) fn add_open_item(item: &OpenItem) -> Result<Box<Change<'static>>> {
    let item = item.checked()?;
    Ok(Box::new(move |_, row: &mut MemoryRow| {
        if row.open_items.contains(&item) {
            return Ok(false);
        }
        row.open_items.push(item);
        row.open_items.sort_by_key(|i| i.created_at);
        Ok(true)
    }))
}

/// Closes (removes) the open items of this type and description.
pub(crate) fn close_open_items(item_type: &str, description: &str) -> Box<Change<'static>> {
    let item_type = item_type.trim().to_owned();
    let description = description.to_owned();
    Box::new(move |_, row: &mut MemoryRow| {
        let before = row.open_items.len();
        row.open_items
            .retain(|i| !(i.item_type == item_type && i.description == description));
        Ok(row.open_items.len() != before)
    })
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
    Ok(Box::new(move |tx: &dyn Tx, row: &mut MemoryRow| {
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
        Ok(true)
    }))
}
