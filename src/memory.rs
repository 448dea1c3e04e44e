//! Memory writes: a contact's memory per persona or agent (contract §1).
//!
//! Every write is one `BEGIN IMMEDIATE` transaction that finds the contact (following
//! merges, like get), creates the scope's memory if it is missing, applies the change,
//! and bumps the memory's and the contact's `updated_at` — only if something changed.

use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::lookup;
use crate::model::{
    Channel, Entity, EntityRef, JsonObject, Memory, Message, OpenItem, Priority, Role,
};
use crate::normalize::{self, PhoneRegion};
use crate::resolve::{insert_memory, to_json, ScopeInput};
use crate::store::ContactStore;
use crate::timestamp::Timestamp;

/// Longest free text accepted (summary, message content, description, notes), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Longest short key accepted (entity type and id, open item type, status), in characters.
pub const MAX_KEY_CHARS: usize = 256;
/// Largest facts object accepted, as compact JSON.
pub const MAX_FACTS_BYTES: usize = 64 * 1024;
/// Deepest nesting accepted in stored JSON (metadata, facts), the object itself
/// counting as one level. Deeper values could not be read back (serde_json parses 128
/// levels, and an exported document adds a few), and are refused before they are
/// copied or serialized, both of which recurse.
pub const MAX_JSON_DEPTH: usize = 64;

/// Which memory of a contact: a persona's, or else an agent number's.
///
/// ```
/// use contactstore::MemoryScope;
/// let by_persona = MemoryScope::persona("persona-12345678");
/// let by_agent = MemoryScope::agent("(415) 555-0100");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryScope {
    /// The persona; when given, it is the scope.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// The agent's phone number; the scope when no persona is given.
    #[serde(default)]
    pub agent_number: Option<String>,
}

impl MemoryScope {
    /// The memory of a persona.
    pub fn persona(persona_id: impl Into<String>) -> Self {
        MemoryScope {
            persona_id: Some(persona_id.into()),
            agent_number: None,
        }
    }
    /// The memory of an agent phone number.
    pub fn agent(agent_number: impl Into<String>) -> Self {
        MemoryScope {
            persona_id: None,
            agent_number: Some(agent_number.into()),
        }
    }

    pub(crate) fn validate(&self, region: PhoneRegion) -> Result<ScopeInput> {
        ScopeInput::new(
            self.persona_id.as_deref(),
            self.agent_number.as_deref(),
            region,
        )?
        .ok_or(Error::invalid(
            "persona_id",
            "or agent_number is required to choose a memory",
        ))
    }
}

/// A change to one entity of a memory, matched by (`entity_type`, `entity_id`).
/// Fields left `None` keep their value; a new entity starts empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityUpdate {
    /// For example `order`.
    pub entity_type: String,
    /// For example `order-8821`.
    pub entity_id: String,
    /// Facts to set; a key set to null is removed.
    #[serde(default)]
    pub facts: JsonObject,
    /// New status.
    #[serde(default)]
    pub status: Option<String>,
    /// When it was last discussed.
    #[serde(default)]
    pub last_discussed_at: Option<Timestamp>,
    /// New notes (replacing the old).
    #[serde(default)]
    pub notes: Option<String>,
}

macro_rules! parse_enum {
    ($ty:ty, $field:literal, $reason:literal, { $($name:literal => $variant:expr),+ $(,)? }) => {
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($name => Ok($variant),)+
                    _ => Err(Error::invalid($field, $reason)),
                }
            }
        }
    };
}

parse_enum!(Role, "role", "must be user, assistant or system", {
    "user" => Role::User, "assistant" => Role::Assistant, "system" => Role::System,
});
parse_enum!(Channel, "channel", "must be voice, sms, email or chat", {
    "voice" => Channel::Voice, "sms" => Channel::Sms, "email" => Channel::Email, "chat" => Channel::Chat,
});
parse_enum!(Priority, "priority", "must be low, medium, high or urgent", {
    "low" => Priority::Low, "medium" => Priority::Medium, "high" => Priority::High, "urgent" => Priority::Urgent,
});

/// Checks free text against [`MAX_TEXT_BYTES`].
pub(crate) fn check_text(text: &str, field: &'static str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::invalid(field, "is too long"));
    }
    Ok(())
}

/// Checks a short key: non-empty after trimming, bounded, no control characters.
pub(crate) fn check_key(text: &str, field: &'static str) -> Result<String> {
    normalize::key(text, MAX_KEY_CHARS, field)
}

/// Checks that a JSON object nests at most [`MAX_JSON_DEPTH`] levels, without
/// recursing (the value may be arbitrarily deep).
pub(crate) fn check_nesting(object: &JsonObject, field: &'static str) -> Result<()> {
    let mut pending: Vec<(&Value, usize)> = object.values().map(|v| (v, 2)).collect();
    while let Some((value, depth)) = pending.pop() {
        let children: &mut dyn Iterator<Item = &Value> = match value {
            Value::Array(items) => &mut items.iter(),
            Value::Object(map) => &mut map.values(),
            _ => continue,
        };
        if depth > MAX_JSON_DEPTH {
            return Err(Error::invalid(field, "is nested too deeply"));
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

/// Checks a facts object against [`MAX_JSON_DEPTH`] and [`MAX_FACTS_BYTES`].
pub(crate) fn check_facts(facts: &JsonObject, field: &'static str) -> Result<()> {
    check_nesting(facts, field)?;
    if to_json(facts).len() > MAX_FACTS_BYTES {
        return Err(Error::invalid(field, "is too large"));
    }
    Ok(())
}

pub(crate) fn check_message(message: &Message) -> Result<()> {
    check_text(&message.content, "content")
}

pub(crate) fn check_open_item(item: &OpenItem) -> Result<OpenItem> {
    check_text(&item.description, "description")?;
    let mut item = item.clone();
    item.item_type = check_key(&item.item_type, "type")?;
    if let Some(r) = &item.related_to {
        item.related_to = Some(EntityRef {
            entity_type: check_key(&r.entity_type, "entity_type")?,
            entity_id: check_key(&r.entity_id, "entity_id")?,
        });
    }
    Ok(item)
}

pub(crate) fn check_entity(entity: &Entity) -> Result<Entity> {
    let mut entity = entity.clone();
    entity.entity_type = check_key(&entity.entity_type, "entity_type")?;
    entity.entity_id = check_key(&entity.entity_id, "entity_id")?;
    check_facts(&entity.facts, "facts")?;
    if let Some(status) = &entity.status {
        check_key(status, "status")?;
    }
    if let Some(notes) = &entity.notes {
        check_text(notes, "notes")?;
    }
    Ok(entity)
}

/// Applies a facts patch: keys set to null are removed. Returns whether anything changed.
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

/// Inserts messages in timestamp order (stable: equal timestamps keep arrival order)
/// and keeps the newest `cap`.
pub(crate) fn add_sorted_capped(messages: &mut Vec<Message>, new: &[Message], cap: usize) {
    messages.extend_from_slice(new);
    messages.sort_by_key(|m| m.timestamp);
    if messages.len() > cap {
        messages.drain(..messages.len() - cap);
    }
}

/// The mutable columns of a memory row.
pub(crate) struct MemoryRow {
    pub id: String,
    pub summary: String,
    pub facts: JsonObject,
    pub recent_messages: Vec<Message>,
    pub open_items: Vec<OpenItem>,
}

const MEMORY_ROW: &str = "SELECT id, summary, facts, recent_messages, open_items FROM memory \
     WHERE org_id = ?1 AND contact_id = ?2 AND scope = ?3";

const UPDATE_MEMORY_ROW: &str = "UPDATE memory SET summary = ?3, facts = ?4, \
     recent_messages = ?5, open_items = ?6, updated_at = ?7 WHERE org_id = ?1 AND id = ?2";

const TOUCH_CONTACT: &str = "UPDATE contact SET updated_at = ?3 WHERE org_id = ?1 AND id = ?2";

const TOUCH_MEMORY: &str = "UPDATE memory SET updated_at = ?3 WHERE org_id = ?1 AND id = ?2";

fn load_row(
    conn: &Connection,
    org_id: &str,
    contact_id: &str,
    scope_key: &str,
) -> Result<Option<MemoryRow>> {
    Ok(conn
        .prepare_cached(MEMORY_ROW)?
        .query_row((org_id, contact_id, scope_key), |row| {
            Ok(MemoryRow {
                id: row.get(0)?,
                summary: row.get(1)?,
                facts: lookup::json_column(row, 2)?,
                recent_messages: lookup::json_column(row, 3)?,
                open_items: lookup::json_column(row, 4)?,
            })
        })
        .optional()?)
}

/// Sets `updated_at` of the contact (and of a memory) to now.
pub(crate) fn touch(
    conn: &Connection,
    org_id: &str,
    contact_id: &str,
    memory_id: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(TOUCH_CONTACT)?
        .execute((org_id, contact_id, now))?;
    if let Some(memory_id) = memory_id {
        conn.prepare_cached(TOUCH_MEMORY)?
            .execute((org_id, memory_id, now))?;
    }
    Ok(())
}

/// What a memory write does to the row, and to other tables through `conn`. Returns
/// whether it changed anything.
type Change<'a> = dyn FnOnce(&Connection, &mut MemoryRow) -> Result<bool> + 'a;

/// Runs one memory write: finds the contact and the scope's memory (creating it),
/// applies `change`, saves and bumps `updated_at` if anything changed, and returns the
/// memory as it is afterwards.
pub(crate) fn write(
    store: &ContactStore,
    org_id: &str,
    contact_id: &str,
    scope: &MemoryScope,
    change: Box<Change<'_>>,
) -> Result<Memory> {
    let scope = scope.validate(store.settings().region)?;
    store.write(|tx| {
        let contact = lookup::reached_contact(tx, org_id, contact_id)?;
        let now = Timestamp::now();
        let key = scope.scope.key();
        let mut created = false;
        let mut row = match load_row(tx, org_id, &contact.id, &key)? {
            Some(row) => row,
            None => {
                insert_memory(tx, org_id, &contact.id, &scope, now)?;
                created = true;
                load_row(tx, org_id, &contact.id, &key)?.ok_or(Error::NotFound)?
            }
        };
        if change(tx, &mut row)? {
            tx.prepare_cached(UPDATE_MEMORY_ROW)?.execute((
                org_id,
                &row.id,
                &row.summary,
                to_json(&row.facts),
                to_json(&row.recent_messages),
                to_json(&row.open_items),
                now,
            ))?;
            touch(tx, org_id, &contact.id, None, now)?;
        } else if created {
            touch(tx, org_id, &contact.id, None, now)?;
        }
        lookup::memory(tx, org_id, &row.id)?.ok_or(Error::NotFound)
    })
}

/// Replaces the summary.
pub(crate) fn set_summary(summary: String) -> Result<Box<Change<'static>>> {
    check_text(&summary, "summary")?;
    Ok(Box::new(move |_, row: &mut MemoryRow| {
        let changed = row.summary != summary;
        row.summary = summary;
        Ok(changed)
    }))
}

/// Patches facts: keys set, null removes.
pub(crate) fn patch_facts(patch: &JsonObject) -> Result<Box<Change<'static>>> {
    check_facts(patch, "facts")?;
    let patch = patch.clone();
    Ok(Box::new(move |_, row: &mut MemoryRow| {
        let changed = patch_object(&mut row.facts, &patch);
        check_facts(&row.facts, "facts")?;
        Ok(changed)
    }))
}

/// Appends messages, keeping the newest `cap` in timestamp order.
pub(crate) fn add_messages(messages: Vec<Message>, cap: usize) -> Result<Box<Change<'static>>> {
    for m in &messages {
        check_message(m)?;
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
    let item = check_open_item(item)?;
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
pub(crate) fn close_open_items(
    item_type: String,
    description: String,
) -> Result<Box<Change<'static>>> {
    let item_type = item_type.trim().to_owned();
    Ok(Box::new(move |_, row: &mut MemoryRow| {
        let before = row.open_items.len();
        row.open_items
            .retain(|i| !(i.item_type == item_type && i.description == description));
        Ok(row.open_items.len() != before)
    }))
}

const ENTITY_ROW: &str = "SELECT entity_type, entity_id, facts, status, last_discussed_at, notes \
     FROM memory_entity WHERE org_id = ?1 AND memory_id = ?2 AND entity_type = ?3 AND entity_id = ?4";

const UPSERT_ENTITY: &str = "INSERT INTO memory_entity \
     (org_id, memory_id, entity_type, entity_id, facts, status, last_discussed_at, notes) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     ON CONFLICT (org_id, memory_id, entity_type, entity_id) DO UPDATE SET \
     facts = excluded.facts, status = excluded.status, \
     last_discussed_at = excluded.last_discussed_at, notes = excluded.notes";

/// Inserts or replaces an entity row.
pub(crate) fn save_entity(
    conn: &Connection,
    org_id: &str,
    memory_id: &str,
    e: &Entity,
) -> Result<()> {
    conn.prepare_cached(UPSERT_ENTITY)?.execute((
        org_id,
        memory_id,
        &e.entity_type,
        &e.entity_id,
        to_json(&e.facts),
        &e.status,
        e.last_discussed_at,
        &e.notes,
    ))?;
    Ok(())
}

/// Creates or updates one entity.
pub(crate) fn upsert_entity(update: &EntityUpdate, org_id: &str) -> Result<Box<Change<'static>>> {
    let entity_type = check_key(&update.entity_type, "entity_type")?;
    let entity_id = check_key(&update.entity_id, "entity_id")?;
    check_facts(&update.facts, "facts")?;
    if let Some(status) = &update.status {
        check_key(status, "status")?;
    }
    if let Some(notes) = &update.notes {
        check_text(notes, "notes")?;
    }
    let update = EntityUpdate {
        entity_type,
        entity_id,
        ..update.clone()
    };
    let org_id = org_id.to_owned();
    Ok(Box::new(move |conn: &Connection, row: &mut MemoryRow| {
        let existing = conn
            .prepare_cached(ENTITY_ROW)?
            .query_row(
                (&org_id, &row.id, &update.entity_type, &update.entity_id),
                |r| lookup::entity_from_row(r, 0),
            )
            .optional()?;
        let mut entity = existing.clone().unwrap_or(Entity {
            entity_type: update.entity_type.clone(),
            entity_id: update.entity_id.clone(),
            facts: JsonObject::new(),
            status: None,
            last_discussed_at: None,
            notes: None,
        });
        patch_object(&mut entity.facts, &update.facts);
        check_facts(&entity.facts, "facts")?;
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
        save_entity(conn, &org_id, &row.id, &entity)?;
        Ok(true)
    }))
}

/// A message from loosely typed parts (CLI, import), with field-naming errors.
///
/// # Errors
/// [`Error::InvalidField`] for an unknown role or channel, a bad timestamp, or
/// content over [`MAX_TEXT_BYTES`].
pub fn message_from_parts(
    role: &str,
    content: &str,
    channel: &str,
    timestamp: Option<&str>,
) -> Result<Message> {
    let message = Message {
        role: role.parse()?,
        content: content.to_owned(),
        channel: channel.parse()?,
        timestamp: match timestamp {
            Some(t) => Timestamp::parse_field(t, "timestamp")?,
            None => Timestamp::now(),
        },
    };
    check_message(&message)?;
    Ok(message)
}

/// Parses a JSON object argument (facts, metadata) with a field-naming error.
///
/// # Errors
/// [`Error::InvalidField`] when the text is not JSON or not an object.
pub fn json_object(text: &str, field: &'static str) -> Result<JsonObject> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::invalid(field, "must be a JSON object")),
        Err(_) => Err(Error::invalid(field, "is not valid JSON")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn enums_parse_with_field_errors() {
        assert_eq!("assistant".parse::<Role>().unwrap(), Role::Assistant);
        assert_eq!("sms".parse::<Channel>().unwrap(), Channel::Sms);
        assert_eq!("urgent".parse::<Priority>().unwrap(), Priority::Urgent);
        let err = "robot".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid role: must be user, assistant or system"
        );
        assert!("fax".parse::<Channel>().is_err());
        assert!("p0".parse::<Priority>().is_err());
    }

    #[test]
    fn message_parts_are_validated() {
        assert!(message_from_parts("user", "hi", "sms", Some("2025-07-23T09:10:00Z")).is_ok());
        for (role, channel, ts) in [
            ("bot", "sms", None),
            ("user", "pager", None),
            ("user", "sms", Some("tomorrow")),
        ] {
            let err = message_from_parts(role, "hi", channel, ts).unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_REQUEST");
        }
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        assert!(message_from_parts("user", &long, "sms", None).is_err());
    }
}
