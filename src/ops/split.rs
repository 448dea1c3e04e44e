//! Taking out of a contact what one merge brought into it — the pure rules of unmerge
//! for the parts two contacts share after a merge: a memory of a scope both had, and
//! the contact's name, metadata and `created_at`.
//!
//! The merge kept the survivor's state *before* it and *after* it. What it *brought*
//! is what differs between the two. Undoing it from the survivor's *current* state:
//!
//! * **Nothing written since** (current equals after): current becomes exactly before.
//! * **Written since**: field by field, what the merge brought is taken out only where
//!   it is still as the merge left it; anything written since stays. A fact or
//!   metadata key the merge set, still holding that value, goes back to its value
//!   before (or goes); messages and open items the merge added (and the survivor did
//!   not have itself) are removed; an entity the merge added or changed, unchanged
//!   since, goes back; the summary loses the paragraph the merge appended, unless the
//!   summary was rewritten since; history loses the entries the merge brought and
//!   keeps those written since.
//!
//! A merge further back in a chain (A into B, then B into C, and A is taken out of C)
//! is undone through the later merges: each later merge's *before* says what the
//! survivor had of its own, which takes precedence over what A brought (a key C held
//! itself stays C's, even with A's value). `befores[0]` is the undone merge's before;
//! the others are the later merges' befores for the same scope, oldest first (`None`
//! where the scope was moved whole).

use crate::limits::MAX_MEMORY_HISTORY;
use crate::model::{Contact, Entity, HistoryEntry, JsonObject, Memory};
use crate::ops::snapshot::ContactFields;
use crate::timestamp::Timestamp;

/// `current` without what the merge from `befores[0]` to `after` brought (see the
/// module's documentation). Keeps `current`'s id and contact.
pub(crate) fn subtract_memory(
    befores: &[Option<&Memory>],
    after: &Memory,
    current: &Memory,
    now: Timestamp,
) -> Memory {
    let before = befores.first().copied().flatten();
    let later = befores.get(1..).unwrap_or_default();
    let direct = later.is_empty();
    if let (true, Some(before)) = (direct && current == after, before) {
        return Memory {
            id: current.id.clone(),
            contact_id: current.contact_id.clone(),
            ..before.clone()
        };
    }
    let mut out = current.clone();
    out.updated_at = now;
    let empty = String::new();
    let before_summary = before.map_or(&empty, |b| &b.summary);
    if direct && current.summary == after.summary {
        out.summary.clone_from(before_summary);
        out.summary_updated_at = before.and_then(|b| b.summary_updated_at);
    } else if let Some(brought) = brought_text(before_summary, &after.summary) {
        if !later.iter().flatten().any(|m| m.summary.contains(brought)) {
            out.summary = remove_paragraph(&current.summary, brought);
        }
    }
    subtract_object(
        &mut out.facts,
        before.map(|b| &b.facts),
        &after.facts,
        &current.facts,
        &befores
            .iter()
            .map(|m| m.map(|m| &m.facts))
            .collect::<Vec<_>>(),
    );
    let kept_by_later = |pick: &dyn Fn(&Memory) -> bool| later.iter().flatten().any(|m| pick(m));
    if direct && current.recent_messages == after.recent_messages {
        out.recent_messages = before
            .map(|b| b.recent_messages.clone())
            .unwrap_or_default();
    } else {
        out.recent_messages.retain(|m| {
            let brought = after.recent_messages.contains(m)
                && !before.is_some_and(|b| b.recent_messages.contains(m));
            !brought || kept_by_later(&|l| l.recent_messages.contains(m))
        });
    }
    if direct && current.open_items == after.open_items {
        out.open_items = before.map(|b| b.open_items.clone()).unwrap_or_default();
    } else {
        out.open_items.retain(|i| {
            let brought =
                after.open_items.contains(i) && !before.is_some_and(|b| b.open_items.contains(i));
            !brought || kept_by_later(&|l| l.open_items.contains(i))
        });
    }
    subtract_entities(&mut out.entities, befores, after);
    // The merge's own entries, and those it brought, are no history of this memory.
    out.memory_history.retain(|e| {
        let brought = after.memory_history.contains(e)
            && !before.is_some_and(|b| b.memory_history.contains(e));
        !brought || kept_by_later(&|l| l.memory_history.contains(e))
    });
    if let (true, Some(before)) = (direct, before) {
        out.memory_history = history_without(&before.memory_history, after, current);
        if current.agent_number == after.agent_number {
            out.agent_number.clone_from(&before.agent_number);
        }
        if current.created_at == after.created_at {
            out.created_at = before.created_at;
        }
    }
    out
}

/// `current`'s name, metadata and `created_at` without what the merge from
/// `befores[0]` to `after` brought. `updated_at` is left to the caller.
pub(crate) fn subtract_fields(
    befores: &[&ContactFields],
    after: &ContactFields,
    current: &mut Contact,
) {
    let Some(before) = befores.first() else {
        return;
    };
    let named = |n: &Option<String>| n.as_deref().is_some_and(|n| !n.trim().is_empty());
    if current.name == after.name && after.name != before.name {
        current.name = befores
            .iter()
            .rev()
            .find(|b| named(&b.name))
            .map_or_else(|| before.name.clone(), |b| b.name.clone());
    }
    let metadata: Vec<Option<&JsonObject>> = befores.iter().map(|b| Some(&b.metadata)).collect();
    let snapshot = current.metadata.clone();
    subtract_object(
        &mut current.metadata,
        Some(&before.metadata),
        &after.metadata,
        &snapshot,
        &metadata,
    );
    if current.created_at == after.created_at && after.created_at != before.created_at {
        current.created_at = befores
            .iter()
            .map(|b| b.created_at)
            .min()
            .unwrap_or(before.created_at);
    }
}

/// Keys the merge set (different in `after` from `before`) and still holding the
/// merged value in `current` go back to the value the latest before has (or go).
fn subtract_object(
    out: &mut JsonObject,
    before: Option<&JsonObject>,
    after: &JsonObject,
    current: &JsonObject,
    befores: &[Option<&JsonObject>],
) {
    for (key, value) in after {
        let unchanged_by_merge = before.and_then(|b| b.get(key)) == Some(value);
        if unchanged_by_merge || current.get(key) != Some(value) {
            continue;
        }
        match befores.iter().rev().flatten().find_map(|b| b.get(key)) {
            Some(old) => out.insert(key.clone(), old.clone()),
            None => out.remove(key),
        };
    }
}

/// Entities the merge added or changed, unchanged since, go back to the version the
/// latest before has (or go).
fn subtract_entities(out: &mut Vec<Entity>, befores: &[Option<&Memory>], after: &Memory) {
    let before = befores.first().copied().flatten();
    let find = |m: &Memory, e: &Entity| -> Option<Entity> {
        m.entities
            .iter()
            .find(|x| x.entity_type == e.entity_type && x.entity_id == e.entity_id)
            .cloned()
    };
    for merged in &after.entities {
        if before.and_then(|b| find(b, merged)).as_ref() == Some(merged) {
            continue;
        }
        let Some(at) = out.iter().position(|x| x == merged) else {
            continue; // changed since (or gone)
        };
        match befores.iter().rev().flatten().find_map(|b| find(b, merged)) {
            Some(old) => out[at] = old,
            None => {
                out.remove(at);
            }
        }
    }
}

/// The text a merge appended to a summary (`join_texts` of the two), if any.
fn brought_text<'a>(before: &str, after: &'a str) -> Option<&'a str> {
    if after == before || after.trim().is_empty() {
        return None;
    }
    if before.trim().is_empty() {
        return Some(after);
    }
    after
        .strip_prefix(before)
        .and_then(|rest| rest.strip_prefix("\n\n"))
        .filter(|rest| !rest.is_empty())
}

/// `text` without the paragraph `brought` (as `join_texts` put it in), if it is there.
fn remove_paragraph(text: &str, brought: &str) -> String {
    if text == brought {
        return String::new();
    }
    if let Some(rest) = text
        .strip_suffix(brought)
        .and_then(|t| t.strip_suffix("\n\n"))
    {
        return rest.to_owned();
    }
    if let Some(rest) = text
        .strip_prefix(brought)
        .and_then(|t| t.strip_prefix("\n\n"))
    {
        return rest.to_owned();
    }
    let inner = format!("\n\n{brought}\n\n");
    match text.find(&inner) {
        Some(at) => format!("{}\n\n{}", &text[..at], &text[at + inner.len()..]),
        None => text.to_owned(),
    }
}

/// The history before the merge, then the entries written since it.
fn history_without(before: &[HistoryEntry], after: &Memory, current: &Memory) -> Vec<HistoryEntry> {
    let since = match after.memory_history.last() {
        Some(last) => match current.memory_history.iter().rposition(|e| e == last) {
            Some(at) => &current.memory_history[at + 1..],
            None => &current.memory_history[..],
        },
        None => &current.memory_history[..],
    };
    let mut history: Vec<HistoryEntry> = before.iter().chain(since).cloned().collect();
    if history.len() > MAX_MEMORY_HISTORY {
        history.drain(..history.len() - MAX_MEMORY_HISTORY);
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, Message, Role};
    use serde_json::json;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(1_753_000_000_000 + ms).unwrap()
    }

    fn memory(id: &str, summary: &str, facts: serde_json::Value, messages: &[&str]) -> Memory {
        Memory {
            id: id.into(),
            contact_id: "c".into(),
            persona_id: Some("p".into()),
            agent_number: None,
            summary: summary.into(),
            facts: facts.as_object().unwrap().clone(),
            recent_messages: messages
                .iter()
                .enumerate()
                .map(|(i, m)| Message {
                    role: Role::User,
                    content: (*m).into(),
                    channel: Channel::Sms,
                    timestamp: at(i as i64),
                })
                .collect(),
            open_items: vec![],
            entities: vec![],
            created_at: at(0),
            updated_at: at(0),
            summary_updated_at: None,
            memory_history: vec![],
        }
    }

    #[test]
    fn nothing_written_since_gives_back_exactly_the_before() {
        let before = memory("m1", "Mine.", json!({"a": 1}), &["x"]);
        let after = memory(
            "m1",
            "Mine.\n\nTheirs.",
            json!({"a": 1, "b": 2}),
            &["x", "y"],
        );
        let got = subtract_memory(&[Some(&before)], &after, &after, at(99));
        assert_eq!(got, before);
    }

    #[test]
    fn what_was_written_since_stays_and_what_was_brought_goes() {
        let before = memory("m1", "Mine.", json!({"a": 1, "c": 1}), &["x"]);
        let after = memory(
            "m1",
            "Mine.\n\nTheirs.",
            json!({"a": 1, "b": 2, "c": 1, "d": 4}),
            &["x", "y"],
        );
        // Since: b rewritten, e added, d untouched, a message added.
        let mut current = memory(
            "m1",
            "Mine.\n\nTheirs.",
            json!({"a": 1, "b": 3, "c": 1, "d": 4, "e": 5}),
            &["x", "y", "z"],
        );
        current.updated_at = at(50);
        let got = subtract_memory(&[Some(&before)], &after, &current, at(99));
        assert_eq!(got.summary, "Mine.");
        assert_eq!(
            got.facts,
            *json!({"a": 1, "b": 3, "c": 1, "e": 5}).as_object().unwrap()
        );
        let contents: Vec<&str> = got
            .recent_messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(contents, ["x", "z"]);
        assert_eq!(got.updated_at, at(99));
    }

    #[test]
    fn a_later_merge_keeps_what_the_survivor_held_itself() {
        // A (b: 2) into B (a: 1); then B into C, which held b: 2 itself and c: 3.
        let b_before = memory("mb", "", json!({"a": 1}), &[]);
        let after_a = memory("mb", "", json!({"a": 1, "b": 2}), &[]);
        let c_before = memory("mc", "", json!({"b": 2, "c": 3}), &[]);
        let c_now = memory("mc", "", json!({"a": 1, "b": 2, "c": 3}), &[]);
        let got = subtract_memory(&[Some(&b_before), Some(&c_before)], &after_a, &c_now, at(9));
        assert_eq!(
            got.facts,
            *json!({"a": 1, "b": 2, "c": 3}).as_object().unwrap()
        );
        // Had C not held b, it would go.
        let c_before = memory("mc", "", json!({"c": 3}), &[]);
        let got = subtract_memory(&[Some(&b_before), Some(&c_before)], &after_a, &c_now, at(9));
        assert_eq!(got.facts, *json!({"a": 1, "c": 3}).as_object().unwrap());
    }

    #[test]
    fn summaries_lose_the_merged_paragraph_only() {
        assert_eq!(brought_text("Mine.", "Mine.\n\nTheirs."), Some("Theirs."));
        assert_eq!(brought_text("", "Theirs."), Some("Theirs."));
        assert_eq!(brought_text("Mine.", "Mine."), None);
        assert_eq!(remove_paragraph("Mine.\n\nTheirs.", "Theirs."), "Mine.");
        assert_eq!(remove_paragraph("Theirs.\n\nNew.", "Theirs."), "New.");
        assert_eq!(
            remove_paragraph("A.\n\nTheirs.\n\nB.", "Theirs."),
            "A.\n\nB."
        );
        assert_eq!(remove_paragraph("Rewritten.", "Theirs."), "Rewritten.");
        assert_eq!(remove_paragraph("Theirs.", "Theirs."), "");
    }

    #[test]
    fn contact_fields_go_back_unless_changed_since() {
        let before = ContactFields {
            name: None,
            metadata: json!({"a": 1}).as_object().unwrap().clone(),
            created_at: at(10),
        };
        let after = ContactFields {
            name: Some("Sam".into()),
            metadata: json!({"a": 1, "b": 2}).as_object().unwrap().clone(),
            created_at: at(5),
        };
        let mut current = Contact {
            id: "c".into(),
            org_id: "o".into(),
            name: Some("Sam".into()),
            metadata: json!({"a": 1, "b": 2, "n": 0}).as_object().unwrap().clone(),
            created_at: at(5),
            updated_at: at(50),
        };
        subtract_fields(&[&before], &after, &mut current);
        assert_eq!(current.name, None);
        assert_eq!(
            current.metadata,
            *json!({"a": 1, "n": 0}).as_object().unwrap()
        );
        assert_eq!(current.created_at, at(10));
        let mut renamed = Contact {
            name: Some("Samantha".into()),
            ..current.clone()
        };
        subtract_fields(&[&before], &after, &mut renamed);
        assert_eq!(renamed.name.as_deref(), Some("Samantha"));
    }
}
