//! Whether the store already holds an import line's content: what makes a second run
//! of a file (after a crash, say) land exactly the lines the first did not.
//!
//! A line is *unchanged* when the contact it names — by its id, or, without an id, the
//! one contact owning all its identifiers — has the very document the line describes.
//! The values a line leaves to the importer ([`Filled`]: record ids it does not give,
//! timestamps it does not give) are the stored contact's for the comparison: the first
//! import chose them, and a line that does not state them cannot disagree with them.
//! Everything the line does state is compared as stored (JSON as canonical text,
//! identifiers normalized, lists in the store's order), so an absent name is a null
//! name and an absent memory list an empty one.

use super::parse::{Filled, Parsed};
use crate::model::{ActivityRow, ContactDocument, MemoryDocument};

/// Whether `stored` is the document the line describes.
pub(super) fn holds(stored: &ContactDocument, line: &Parsed) -> bool {
    let filled = &line.filled;
    let d = &line.document;
    // The cheap refusals first: a re-run compares every line it meets this way.
    if d.name != stored.name
        || d.metadata != stored.metadata
        || d.identifiers.len() != stored.identifiers.len()
        || d.memories.len() != stored.memories.len()
        || d.calls.len() != stored.calls.len()
        || d.sms_conversations.len() != stored.sms_conversations.len()
    {
        return false;
    }
    let mut d = d.clone();
    if !line.id_given {
        d.set_contact_id(&stored.id);
    }
    if filled.created_at {
        d.created_at = stored.created_at;
    }
    if filled.updated_at {
        d.updated_at = stored.updated_at;
    }
    for i in &mut d.identifiers {
        if filled.ids.contains(&i.id) {
            if let Some(s) = stored.identifiers.iter().find(|s| {
                s.identifier_type == i.identifier_type && s.identifier_value == i.identifier_value
            }) {
                i.id.clone_from(&s.id);
            }
        }
    }
    adopt_memory_values(&mut d.memories, &stored.memories, filled);
    adopt_activity_ids(&mut d.calls, &stored.calls, filled);
    adopt_activity_ids(&mut d.sms_conversations, &stored.sms_conversations, filled);
    d == *stored
}

/// Memories are matched by scope (one memory a scope); then in the store's order.
fn adopt_memory_values(mine: &mut [MemoryDocument], stored: &[MemoryDocument], filled: &Filled) {
    for m in mine.iter_mut() {
        let Some(s) = stored
            .iter()
            .find(|s| s.persona_id == m.persona_id && s.agent_number == m.agent_number)
        else {
            continue;
        };
        if filled.memory_created_at.contains(&m.id) {
            m.created_at = s.created_at;
        }
        if filled.memory_updated_at.contains(&m.id) {
            m.updated_at = s.updated_at;
        }
        if filled.ids.contains(&m.id) {
            m.id.clone_from(&s.id);
        }
    }
    mine.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

/// A call or conversation without an id is matched with a stored one equal in
/// everything else (each stored record once, and none the line names by its id); then
/// newest first, as stored.
fn adopt_activity_ids(mine: &mut [ActivityRow], stored: &[ActivityRow], filled: &Filled) {
    let mut taken: Vec<bool> = stored
        .iter()
        .map(|s| {
            mine.iter()
                .any(|a| a.id == s.id && !filled.ids.contains(&a.id))
        })
        .collect();
    for a in mine.iter_mut() {
        if !filled.ids.contains(&a.id) {
            continue;
        }
        let same = |s: &ActivityRow| {
            s.kind == a.kind
                && s.direction == a.direction
                && s.agent_number == a.agent_number
                && s.contact_number == a.contact_number
                && s.started_at == a.started_at
                && s.amount == a.amount
                && s.status == a.status
                && s.summary == a.summary
                && s.metadata == a.metadata
        };
        if let Some(k) = (0..stored.len()).find(|&k| !taken[k] && same(&stored[k])) {
            taken[k] = true;
            a.id.clone_from(&stored[k].id);
        }
    }
    mine.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
}
