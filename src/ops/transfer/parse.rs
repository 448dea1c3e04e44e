//! One import line → a validated, normalized [`ContactDocument`], in named steps.
//!
//! The line is first read into loosely typed structs (strings where the model has
//! enums and timestamps), so that every refusal can name its field; then each part is
//! checked and converted in turn. Pure CPU work: it runs on the importer's parsing
//! thread.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::limits::{self, MAX_IDENTIFIERS, MAX_LIST_ITEMS};
use crate::model::{
    new_id, new_prefixed_id, ActivityKind, ActivityRow, ContactDocument, Entity, EntityDocument,
    EntityRef, HistoryEntry, Identifier, IdentifierType, JsonObject, MemoryDocument, Message,
    OpenItem, StoredJson,
};
use crate::normalize;
use crate::ops::activity::ActivityInput;
use crate::ops::fold::add_sorted_capped;
use crate::ops::scope;
use crate::settings::PhoneRegion;
use crate::timestamp::Timestamp;

/// A line that passed validation.
pub(crate) struct Parsed {
    pub document: ContactDocument,
    /// Whether the line named its contact id (a fresh one needs no check).
    pub id_given: bool,
    /// What the line left to the importer.
    pub filled: Filled,
}

/// The values a line left to the importer, which the parser filled in itself: fresh
/// record ids, and timestamps (now, or the contact's). When the store already holds a
/// line's content, these are the values the stored contact got the first time, and the
/// line is compared with them taken from the store.
#[derive(Debug, Default)]
pub(crate) struct Filled {
    /// The contact's `created_at` (now).
    pub created_at: bool,
    /// The contact's `updated_at` (its `created_at`).
    pub updated_at: bool,
    /// Record ids made up by the parser: identifiers, memories, calls and SMS.
    pub ids: HashSet<String>,
    /// Memories (by id as parsed) whose `created_at` is the contact's.
    pub memory_created_at: HashSet<String>,
    /// Memories (by id as parsed) whose `updated_at` is their `created_at`.
    pub memory_updated_at: HashSet<String>,
}

/// What a line's parser needs to know: the handle's org (`None` for the all-orgs
/// handle, where each line names its own), the phone region and the message cap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineContext<'a> {
    pub org: Option<&'a str>,
    pub region: PhoneRegion,
    pub cap: usize,
}

// The document as read ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentIn {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    identifiers: Vec<IdentifierIn>,
    #[serde(default)]
    memories: Vec<MemoryIn>,
    #[serde(default)]
    calls: Vec<ActivityIn>,
    #[serde(default)]
    sms_conversations: Vec<ActivityIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifierIn {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "contact_id")]
    _contact_id: Option<String>,
    identifier_type: String,
    identifier_value: String,
    #[serde(default)]
    is_primary: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryIn {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "contact_id")]
    _contact_id: Option<String>,
    #[serde(default)]
    persona_id: Option<String>,
    #[serde(default)]
    agent_number: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    facts: Option<Value>,
    #[serde(default)]
    recent_messages: Vec<MessageIn>,
    #[serde(default)]
    open_items: Vec<OpenItemIn>,
    #[serde(default)]
    entities: Vec<EntityIn>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    summary_updated_at: Option<String>,
    #[serde(default)]
    memory_history: Vec<HistoryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageIn {
    role: String,
    content: String,
    channel: String,
    timestamp: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenItemIn {
    #[serde(rename = "type")]
    item_type: String,
    description: String,
    created_at: String,
    priority: String,
    #[serde(default)]
    related_to: Option<EntityRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityIn {
    entity_type: String,
    entity_id: String,
    #[serde(default)]
    facts: Option<Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    last_discussed_at: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

/// A call or an SMS conversation as read: the two share every field but the amount,
/// a call's `duration_seconds` or a conversation's `message_count`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityIn {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "contact_id")]
    _contact_id: Option<String>,
    direction: String,
    #[serde(default)]
    agent_number: Option<String>,
    #[serde(default)]
    contact_number: Option<String>,
    started_at: String,
    #[serde(default)]
    duration_seconds: Option<i64>,
    #[serde(default)]
    message_count: Option<i64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

impl ActivityIn {
    /// The record's amount: the kind's own field; the other kind's is not a field of
    /// this document.
    fn amount(&self, kind: ActivityKind) -> Result<Option<i64>> {
        let (own, other) = match kind {
            ActivityKind::Call => (self.duration_seconds, self.message_count),
            ActivityKind::Sms => (Some(self.message_count.unwrap_or(0)), self.duration_seconds),
        };
        if other.is_some() {
            return Err(Error::invalid(
                "document",
                "does not have the contact document's fields and types",
            ));
        }
        Ok(own)
    }
}

// The steps -----------------------------------------------------------------------------

/// Parses and validates one line.
pub(crate) fn parse_line(line: &str, cx: LineContext<'_>) -> Result<Parsed> {
    let doc = read_json(line)?;
    let org_id = org_of(cx.org, doc.org_id.as_deref())?;
    let id_given = doc.id.is_some();
    let id = contact_id(doc.id.as_deref())?;
    let mut filled = Filled {
        created_at: doc.created_at.is_none(),
        updated_at: doc.updated_at.is_none(),
        ..Filled::default()
    };
    let created_at = timestamp(doc.created_at.as_deref(), "created_at", Timestamp::now())?;
    let updated_at = timestamp(doc.updated_at.as_deref(), "updated_at", created_at)?;
    let name = limits::name(doc.name.as_deref())?;
    let metadata = limits::metadata(doc.metadata.as_ref())?;
    limits::entries(doc.identifiers.len(), MAX_IDENTIFIERS, "identifiers")?;
    limits::entries(doc.memories.len(), MAX_LIST_ITEMS, "memories")?;
    let identifiers = identifiers(doc.identifiers, &id, cx.region, &mut filled)?;
    let memories = memories(doc.memories, &id, created_at, cx, &mut filled)?;
    let mut activities = Vec::with_capacity(doc.calls.len() + doc.sms_conversations.len());
    let kinds = std::iter::repeat(ActivityKind::Call).zip(doc.calls);
    let kinds = kinds.chain(std::iter::repeat(ActivityKind::Sms).zip(doc.sms_conversations));
    for (kind, given) in kinds {
        let id_given = given.id.is_some();
        let row = activity(kind, given, &id, cx.region)?;
        if !id_given {
            filled.ids.insert(row.id.clone());
        }
        activities.push(row);
    }
    let (mut calls, mut sms_conversations): (Vec<_>, Vec<_>) = activities
        .into_iter()
        .partition(|a: &ActivityRow| a.kind == ActivityKind::Call);
    unique_record_ids(&memories, calls.iter().chain(&sms_conversations))?;
    for list in [&mut calls, &mut sms_conversations] {
        list.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
    }
    Ok(Parsed {
        document: ContactDocument {
            id,
            org_id,
            name,
            metadata: StoredJson::of(&metadata),
            created_at,
            updated_at,
            identifiers,
            memories,
            calls,
            sms_conversations,
        },
        id_given,
        filled,
    })
}

fn read_json(line: &str) -> Result<DocumentIn> {
    serde_json::from_str(line).map_err(|e| {
        if e.is_data() {
            Error::invalid(
                "document",
                "does not have the contact document's fields and types",
            )
        } else {
            Error::invalid("document", "is not valid JSON")
        }
    })
}

/// The handle's org, or (all orgs) the one the line names.
fn org_of(handle: Option<&str>, line: Option<&str>) -> Result<String> {
    match (handle, line) {
        (Some(org), _) => Ok(org.to_owned()),
        (None, Some(org)) => limits::org_id(org),
        (None, None) => Err(Error::invalid(
            "org_id",
            "is required when importing all orgs",
        )),
    }
}

/// The line's contact id, canonical, or a fresh one.
fn contact_id(id: Option<&str>) -> Result<String> {
    match id {
        Some(id) => Ok(uuid::Uuid::parse_str(id)
            .map_err(|_| Error::invalid("id", "must be a UUID"))?
            .hyphenated()
            .to_string()),
        None => Ok(new_id()),
    }
}

fn timestamp(text: Option<&str>, field: &'static str, default: Timestamp) -> Result<Timestamp> {
    text.map_or(Ok(default), |t| Timestamp::parse_field(t, field))
}

fn object(value: Option<Value>, field: &'static str) -> Result<JsonObject> {
    match value {
        None | Some(Value::Null) => Ok(JsonObject::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(Error::invalid(field, "must be a JSON object")),
    }
}

/// The record id a line gives, checked, or a fresh one (noted in `filled`).
fn record_id(
    id: Option<String>,
    prefix: &str,
    field: &'static str,
    filled: &mut Filled,
) -> Result<String> {
    match id {
        Some(id) => limits::record_id(&id, field),
        None => {
            let id = new_prefixed_id(prefix);
            filled.ids.insert(id.clone());
            Ok(id)
        }
    }
}

/// Identifiers normalized, spellings of one folded into one, one primary per type
/// (the flagged one, else the first), in the order the store lists them.
fn identifiers(
    given: Vec<IdentifierIn>,
    contact_id: &str,
    region: PhoneRegion,
    filled: &mut Filled,
) -> Result<Vec<Identifier>> {
    let mut identifiers: Vec<Identifier> = Vec::with_capacity(given.len());
    let mut position: HashMap<(IdentifierType, String), usize> = HashMap::new();
    for ident in given {
        let kind: IdentifierType = ident.identifier_type.parse()?;
        let value = normalize::identifier(kind, &ident.identifier_value, region, kind.as_str())?;
        let primary = ident.is_primary.unwrap_or(false);
        if let Some(&i) = position.get(&(kind, value.clone())) {
            identifiers[i].is_primary |= primary;
            continue;
        }
        position.insert((kind, value.clone()), identifiers.len());
        identifiers.push(Identifier {
            id: record_id(ident.id, "ident", "identifier id", filled)?,
            contact_id: contact_id.to_owned(),
            identifier_type: kind,
            identifier_value: value,
            is_primary: primary,
        });
    }
    if identifiers.is_empty() {
        return Err(Error::MissingIdentifier);
    }
    for kind in IdentifierType::ALL {
        let of_kind = || identifiers.iter().filter(|i| i.identifier_type == kind);
        let primary = of_kind()
            .position(|i| i.is_primary)
            .or_else(|| of_kind().next().map(|_| 0));
        for (n, ident) in identifiers
            .iter_mut()
            .filter(|i| i.identifier_type == kind)
            .enumerate()
        {
            ident.is_primary = Some(n) == primary;
        }
    }
    Identifier::sort(&mut identifiers);
    Ok(identifiers)
}

fn memories(
    given: Vec<MemoryIn>,
    contact_id: &str,
    contact_created: Timestamp,
    cx: LineContext<'_>,
    filled: &mut Filled,
) -> Result<Vec<MemoryDocument>> {
    let mut memories = Vec::with_capacity(given.len());
    let mut scopes = HashSet::with_capacity(given.len());
    for m in given {
        let memory = memory(m, contact_id, contact_created, cx, filled)?;
        if !scopes.insert(memory.scope().key()) {
            return Err(Error::invalid(
                "memories",
                "two memories have the same scope",
            ));
        }
        memories.push(memory);
    }
    memories.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(memories)
}

fn memory(
    m: MemoryIn,
    contact_id: &str,
    contact_created: Timestamp,
    cx: LineContext<'_>,
    filled: &mut Filled,
) -> Result<MemoryDocument> {
    let scope = scope::optional(
        m.persona_id.as_deref(),
        m.agent_number.as_deref(),
        cx.region,
    )?
    .ok_or(Error::invalid(
        "memories",
        "each memory needs a persona_id or agent_number",
    ))?;
    let summary = m.summary.unwrap_or_default();
    limits::text(&summary, "summary")?;
    let facts = object(m.facts, "facts")?;
    limits::facts(&facts, "facts")?;
    let mut messages = Vec::with_capacity(m.recent_messages.len());
    for msg in m.recent_messages {
        messages.push(Message::from_parts(
            &msg.role,
            &msg.content,
            &msg.channel,
            Some(&msg.timestamp),
        )?);
    }
    let mut recent_messages: Vec<Message> = Vec::new();
    add_sorted_capped(&mut recent_messages, &messages, cx.cap);
    limits::entries(m.open_items.len(), MAX_LIST_ITEMS, "open_items")?;
    limits::entries(m.entities.len(), MAX_LIST_ITEMS, "entities")?;
    let open_items = open_items(m.open_items)?;
    let entities = entities(m.entities)?;
    let created_at = timestamp(m.created_at.as_deref(), "created_at", contact_created)?;
    let summary_updated_at = m
        .summary_updated_at
        .as_deref()
        .map(|t| Timestamp::parse_field(t, "summary_updated_at"))
        .transpose()?;
    let memory_history = history(m.memory_history)?;
    let id = record_id(m.id, "mem", "memory id", filled)?;
    if m.created_at.is_none() {
        filled.memory_created_at.insert(id.clone());
    }
    if m.updated_at.is_none() {
        filled.memory_updated_at.insert(id.clone());
    }
    Ok(MemoryDocument {
        id,
        contact_id: contact_id.to_owned(),
        persona_id: scope.persona_id,
        agent_number: scope.agent_number,
        summary,
        facts: StoredJson::of(&facts),
        recent_messages: StoredJson::of(&recent_messages),
        open_items: StoredJson::of(&open_items),
        entities,
        created_at,
        updated_at: timestamp(m.updated_at.as_deref(), "updated_at", created_at)?,
        summary_updated_at,
        memory_history: StoredJson::of(&memory_history),
    })
}

/// A memory's history: bounded, in time order, the newest
/// [`MAX_MEMORY_HISTORY`](limits::MAX_MEMORY_HISTORY) kept.
fn history(mut given: Vec<HistoryEntry>) -> Result<Vec<HistoryEntry>> {
    limits::entries(given.len(), limits::MAX_IMPORTED_HISTORY, "memory_history")?;
    for entry in &given {
        limits::value_nesting(&entry.value, "memory_history")?;
        if let Some(previous) = &entry.previous {
            limits::value_nesting(previous, "memory_history")?;
        }
    }
    given.sort_by_key(|e| e.timestamp);
    let excess = given.len().saturating_sub(limits::MAX_MEMORY_HISTORY);
    given.drain(..excess);
    Ok(given)
}

/// Open items checked, each exact item once, by `created_at`.
fn open_items(given: Vec<OpenItemIn>) -> Result<Vec<OpenItem>> {
    let mut items = Vec::with_capacity(given.len());
    let mut seen = HashSet::with_capacity(given.len());
    for item in given {
        let item = OpenItem {
            item_type: item.item_type,
            description: item.description,
            created_at: Timestamp::parse_field(&item.created_at, "created_at")?,
            priority: item.priority.parse()?,
            related_to: item.related_to,
        }
        .checked()?;
        if seen.insert(item.clone()) {
            items.push(item);
        }
    }
    items.sort_by_key(|i: &OpenItem| i.created_at);
    Ok(items)
}

/// Entities checked, each (type, id) once, most recently discussed first.
fn entities(given: Vec<EntityIn>) -> Result<Vec<EntityDocument>> {
    let mut entities = Vec::with_capacity(given.len());
    let mut seen = HashSet::with_capacity(given.len());
    for e in given {
        let entity = Entity {
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            facts: object(e.facts, "facts")?,
            status: e.status,
            last_discussed_at: e
                .last_discussed_at
                .as_deref()
                .map(|t| Timestamp::parse_field(t, "last_discussed_at"))
                .transpose()?,
            notes: e.notes,
        }
        .checked()?;
        if !seen.insert((entity.entity_type.clone(), entity.entity_id.clone())) {
            return Err(Error::invalid(
                "entities",
                "two entities have the same type and id",
            ));
        }
        entities.push(EntityDocument {
            facts: StoredJson::of(&entity.facts),
            entity_type: entity.entity_type,
            entity_id: entity.entity_id,
            status: entity.status,
            last_discussed_at: entity.last_discussed_at,
            notes: entity.notes,
        });
    }
    entities.sort_by(|a, b| {
        let newest_first = |e: &EntityDocument| {
            std::cmp::Reverse(
                e.last_discussed_at
                    .map(|t| t.as_millis())
                    .unwrap_or(i64::MIN),
            )
        };
        (newest_first(a), &a.entity_type, &a.entity_id).cmp(&(
            newest_first(b),
            &b.entity_type,
            &b.entity_id,
        ))
    });
    Ok(entities)
}

fn activity(
    kind: ActivityKind,
    a: ActivityIn,
    contact_id: &str,
    region: PhoneRegion,
) -> Result<ActivityRow> {
    let amount = a.amount(kind)?;
    let metadata = object(a.metadata, "metadata")?;
    let direction = a.direction.parse()?;
    let started_at = Timestamp::parse_field(&a.started_at, "started_at")?;
    ActivityInput {
        kind,
        id: a.id.as_deref(),
        direction,
        agent_number: a.agent_number.as_deref(),
        contact_number: a.contact_number.as_deref(),
        started_at,
        amount,
        status: a.status.as_deref(),
        summary: a.summary.as_deref(),
        metadata: &metadata,
    }
    .row(contact_id, region)
}

/// Record ids a document gives must differ from each other (the file is checked at
/// insert time).
fn unique_record_ids<'a>(
    memories: &[MemoryDocument],
    activities: impl Iterator<Item = &'a ActivityRow>,
) -> Result<()> {
    let mut ids = HashSet::new();
    let unique = memories
        .iter()
        .map(|m| &m.id)
        .chain(activities.map(|a| &a.id))
        .all(|id| ids.insert(id));
    if !unique {
        return Err(Error::invalid("document", "uses one record id twice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn cx(org: Option<&str>) -> LineContext<'_> {
        LineContext {
            org,
            region: PhoneRegion::default(),
            cap: 50,
        }
    }

    #[test]
    fn lines_are_normalized_with_one_primary_per_type() {
        let line = r#"{"identifiers":[
            {"identifier_type":"phone_number","identifier_value":"(415) 555-0192"},
            {"identifier_type":"phone_number","identifier_value":"+14155550192","is_primary":true},
            {"identifier_type":"phone_number","identifier_value":"+14155550100","is_primary":true},
            {"identifier_type":"email","identifier_value":"A@Example.com"}]}"#
            .replace('\n', "");
        let p = parse_line(&line, cx(Some("acme"))).unwrap();
        let got: Vec<(IdentifierType, &str, bool)> = p
            .document
            .identifiers
            .iter()
            .map(|i| (i.identifier_type, i.identifier_value.as_str(), i.is_primary))
            .collect();
        assert_eq!(
            got,
            vec![
                (IdentifierType::PhoneNumber, "+14155550192", true),
                (IdentifierType::PhoneNumber, "+14155550100", false),
                (IdentifierType::Email, "a@example.com", true),
            ]
        );
        assert_eq!(p.document.org_id, "acme");
        assert!(!p.id_given);
    }

    #[test]
    fn refusals_name_fields_only() {
        let cases = [
            ("not json", "Invalid document: is not valid JSON"),
            (
                r#"{"identifiers":"x"}"#,
                "Invalid document: does not have the contact document's fields and types",
            ),
            (
                r#"{"identifiers":[]}"#,
                "At least one identifier (phone_number, email, or external_id) is required",
            ),
            (
                r#"{"identifiers":[{"identifier_type":"fax","identifier_value":"+14155550192"}]}"#,
                "Invalid identifier_type: must be phone_number, email or external_id",
            ),
            (
                r#"{"identifiers":[{"identifier_type":"phone_number","identifier_value":"anonymous"}]}"#,
                "Invalid phone_number: is not a phone number",
            ),
            (
                r#"{"id":"nope","identifiers":[{"identifier_type":"email","identifier_value":"a@example.com"}]}"#,
                "Invalid id: must be a UUID",
            ),
            (
                r#"{"created_at":"July","identifiers":[{"identifier_type":"email","identifier_value":"a@example.com"}]}"#,
                "Invalid created_at: is not an RFC 3339 timestamp",
            ),
            (
                r#"{"identifiers":[{"identifier_type":"email","identifier_value":"a@example.com"}],"calls":[{"direction":"inbound","started_at":"2025-07-20T00:00:00Z","message_count":2}]}"#,
                "Invalid document: does not have the contact document's fields and types",
            ),
        ];
        for (line, message) in cases {
            let err = parse_line(line, cx(Some("acme"))).err().unwrap();
            assert_eq!(err.to_string(), message, "{line}");
            assert_eq!(err.code(), ErrorCode::BadRequest);
        }
        let err = parse_line(
            r#"{"identifiers":[{"identifier_type":"email","identifier_value":"a@example.com"}]}"#,
            cx(None),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "Invalid org_id: is required when importing all orgs"
        );
    }
}
