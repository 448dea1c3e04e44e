//! How values combine — the small pure rules that memory writes, merges and imports
//! share: patching an object, keeping messages in order under the cap, unions without
//! duplicates, and joining texts.

use std::collections::HashSet;
use std::hash::Hash;

use crate::limits::MAX_MEMORY_HISTORY;
use crate::model::{HistoryEntry, JsonObject, Message};

/// Applies a patch: keys set, keys set to null removed. Returns whether anything
/// changed.
pub(crate) fn patch_object(target: &mut JsonObject, patch: &JsonObject) -> bool {
    let mut changed = false;
    for (key, value) in patch {
        if value.is_null() {
            changed |= target.remove(key).is_some();
        } else if target.get(key) != Some(value) {
            target.insert(key.clone(), value.clone());
            changed = true;
        }
    }
    changed
}

/// Adds the keys of `other` that `target` lacks; `target`'s values win.
pub(crate) fn add_missing_keys(target: &mut JsonObject, other: &JsonObject) {
    for (key, value) in other {
        target.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

/// Inserts messages in timestamp order (stable: equal timestamps keep arrival order)
/// and keeps the newest `cap`.
pub(crate) fn add_sorted_capped(messages: &mut Vec<Message>, new: &[Message], cap: usize) {
    messages.extend_from_slice(new);
    messages.sort_by_key(|m| m.timestamp);
    if messages.len() > cap {
        messages.drain(..messages.len() - cap);
    }
}

/// Appends a history entry, dropping the oldest past [`MAX_MEMORY_HISTORY`].
pub(crate) fn push_history(history: &mut Vec<HistoryEntry>, entry: HistoryEntry) {
    history.push(entry);
    if history.len() > MAX_MEMORY_HISTORY {
        history.drain(..history.len() - MAX_MEMORY_HISTORY);
    }
}

/// The first list's items then the second's, each exact value once.
pub(crate) fn union<T: Clone + Eq + Hash>(first: &[T], second: &[T]) -> Vec<T> {
    let mut seen = HashSet::with_capacity(first.len() + second.len());
    first
        .iter()
        .chain(second)
        .filter(|item| seen.insert(*item))
        .cloned()
        .collect()
}

/// One text if the other is empty or equal, else both separated by a blank line.
pub(crate) fn join_texts(first: &str, second: &str) -> String {
    if second.trim().is_empty() || first == second {
        first.to_owned()
    } else if first.trim().is_empty() {
        second.to_owned()
    } else {
        format!("{first}\n\n{second}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, Role};
    use crate::timestamp::Timestamp;
    use serde_json::{json, Value};

    fn msg(ts: i64, content: &str) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
            channel: Channel::Sms,
            timestamp: Timestamp::from_millis(ts).unwrap(),
        }
    }

    #[test]
    fn patch_sets_and_null_removes() {
        let mut facts = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
        let patch = json!({"a": null, "b": 2, "c": 3})
            .as_object()
            .unwrap()
            .clone();
        assert!(patch_object(&mut facts, &patch));
        assert_eq!(Value::Object(facts.clone()), json!({"b": 2, "c": 3}));
        let same = json!({"b": 2, "zz": null}).as_object().unwrap().clone();
        assert!(!patch_object(&mut facts, &same));
    }

    #[test]
    fn messages_stay_ordered_and_capped() {
        let mut messages = vec![msg(10, "a"), msg(30, "c")];
        add_sorted_capped(&mut messages, &[msg(20, "b"), msg(40, "d")], 3);
        let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(contents, ["b", "c", "d"]);
        // An old message beyond the cap is dropped at once.
        add_sorted_capped(&mut messages, &[msg(1, "old")], 3);
        let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(contents, ["b", "c", "d"]);
        // Equal timestamps keep arrival order.
        let mut tied = vec![msg(5, "x")];
        add_sorted_capped(&mut tied, &[msg(5, "y")], 10);
        assert_eq!(tied[1].content, "y");
    }

    #[test]
    fn texts_combine_with_a_blank_line_unless_empty_or_equal() {
        assert_eq!(join_texts("a", ""), "a");
        assert_eq!(join_texts("", "b"), "b");
        assert_eq!(join_texts("a", "a"), "a");
        assert_eq!(join_texts("a", "b"), "a\n\nb");
    }

    #[test]
    fn unions_keep_the_first_of_each_value_in_order() {
        assert_eq!(union(&[1, 2, 3], &[3, 4, 1]), vec![1, 2, 3, 4]);
        let mut m = json!({"a": 1}).as_object().unwrap().clone();
        add_missing_keys(&mut m, json!({"a": 2, "b": 3}).as_object().unwrap());
        assert_eq!(Value::Object(m), json!({"a": 1, "b": 3}));
    }
}
