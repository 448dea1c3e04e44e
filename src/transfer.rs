//! JSON Lines import and export (contract §6): one contact document a line — the get
//! shape plus `calls` and `sms_conversations`.
//!
//! Export is deterministic (contacts by org and id; everything inside in the orders
//! documented on the model types), so export → import into an empty file → export gives
//! the same bytes.
//!
//! Import is a two-stage pipeline: a second thread reads, parses, validates and
//! normalizes lines (pure CPU work), while the calling thread, which owns the
//! connection, inserts them. Each line is atomic: it is checked for collisions under the
//! write lock before any of it is written (a merge-mode line runs in a savepoint).
//! Lines are committed in large batches, at least every 250 ms, and whenever the writer
//! waits for input. Memory stays bounded: a few batches in flight, and at most
//! [`MAX_REPORTED_ERRORS`] line errors kept.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read, Write};
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::activity::{self, ActivityFields, Call, SmsConversation};
use crate::error::{Error, ErrorCode, Result};
use crate::lookup;
use crate::memory::{self, check_entity, check_open_item, check_text};
use crate::merge;
use crate::model::{Contact, EntityRef, Identifier, JsonObject, Memory, Message, OpenItem};
use crate::normalize::{self, IdentifierType, PhoneRegion};
use crate::resolve::{new_id, to_json, valid_metadata, valid_name, ScopeInput};
use crate::store::{ContactStore, MAX_ORG_ID_CHARS};
use crate::timestamp::Timestamp;

/// At most this many line errors are kept in an import summary (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 1_000;
/// Longest import line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;
/// Most identifiers one document may carry.
pub const MAX_IDENTIFIERS: usize = 100;
/// Most memories, open items per memory or entities per memory one document may carry.
pub const MAX_LIST_ITEMS: usize = 1_000;
/// Bytes of input per batch handed to the writer: with a few batches in flight and one
/// line of at most [`MAX_LINE_BYTES`], an import holds a few tens of MiB at most.
const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// Oldest a partial batch gets before it is handed to the writer.
const BATCH_AGE: Duration = Duration::from_millis(100);
/// Lines per committed transaction.
const LINES_PER_COMMIT: usize = 20_000;
/// Longest an import keeps the write lock at a time: other processes wait at most this
/// long for it, however slow the lines.
const MAX_TRANSACTION_TIME: Duration = Duration::from_millis(250);
/// Lines per message between the parsing thread and the writer.
const LINES_PER_BATCH: usize = 512;

/// One contact with everything it owns, as exported and imported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactDocument {
    /// The contact's own fields.
    #[serde(flatten)]
    pub contact: Contact,
    /// Its identifiers.
    pub identifiers: Vec<Identifier>,
    /// Its memories with their entities.
    pub memories: Vec<Memory>,
    /// Its calls, newest first.
    pub calls: Vec<Call>,
    /// Its SMS conversations, newest first.
    pub sms_conversations: Vec<SmsConversation>,
}

/// What import does with a line whose identifier belongs to an existing contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnConflict {
    /// Reject the line (the default).
    #[default]
    Reject,
    /// Merge the line into the contact that owns its strongest known identifier (or has
    /// its id): the document is imported as a new contact and merged into that one
    /// with the merge rules. A line whose identifiers belong to several contacts is
    /// still rejected.
    Merge,
}

/// Options of an import.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// What to do with a line whose identifier belongs to an existing contact.
    pub on_conflict: OnConflict,
}

impl ImportOptions {
    /// Sets the conflict policy.
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_conflict = on_conflict;
        self
    }
}

/// How an import went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Lines read (blank lines included).
    pub lines: u64,
    /// Contacts created.
    pub imported: u64,
    /// Lines merged into existing contacts (`--on-conflict merge`).
    pub merged: u64,
    /// Lines rejected (each left nothing behind).
    pub rejected: u64,
    /// The first [`MAX_REPORTED_ERRORS`] rejected lines with their errors.
    pub errors: Vec<LineError>,
}

/// A rejected import line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// The error code (`BAD_REQUEST`, …).
    pub error: String,
    /// What was wrong, without the values.
    pub message: String,
}

/// Progress of a running import, reported after each batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportProgress {
    /// Lines processed so far.
    pub lines: u64,
    /// Bytes of input consumed so far.
    pub bytes: u64,
}

/// How an export went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    /// Contacts written.
    pub exported: u64,
}

/// Which orgs an import or export covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OrgScope<'a> {
    One(&'a str),
    All,
}

// ---------------------------------------------------------------------------------
// Export

const CONTACTS_OF_ORG: &str = "SELECT id, org_id, name, metadata, created_at, updated_at \
     FROM contact WHERE org_id = ?1 ORDER BY org_id, id";
const CONTACTS_OF_ALL_ORGS: &str = "SELECT id, org_id, name, metadata, created_at, updated_at \
     FROM contact ORDER BY org_id, id";

pub(crate) fn export(
    store: &ContactStore,
    scope: OrgScope<'_>,
    out: &mut dyn Write,
) -> Result<ExportSummary> {
    store.read(|conn| {
        let mut exported = 0;
        let mut stmt = match scope {
            OrgScope::One(_) => conn.prepare(CONTACTS_OF_ORG)?,
            OrgScope::All => conn.prepare(CONTACTS_OF_ALL_ORGS)?,
        };
        let mut rows = match scope {
            OrgScope::One(org) => stmt.query([org])?,
            OrgScope::All => stmt.query([])?,
        };
        let mut line = Vec::with_capacity(4096);
        while let Some(row) = rows.next()? {
            let document = crate::export::document(conn, row)?;
            line.clear();
            serde_json::to_writer(&mut line, &document)
                .map_err(|_| Error::Io(std::io::ErrorKind::InvalidData))?;
            line.push(b'\n');
            out.write_all(&line)?;
            exported += 1;
        }
        out.flush()?;
        Ok(ExportSummary { exported })
    })
}

/// The full document of a contact, built from typed values: the reference that export's
/// raw path (`crate::export`) must match byte for byte.
#[cfg(test)]
pub(crate) fn document(conn: &Connection, contact: Contact) -> Result<ContactDocument> {
    let org = contact.org_id.clone();
    let id = contact.id.clone();
    let details = lookup::details(conn, contact)?;
    Ok(ContactDocument {
        contact: details.contact,
        identifiers: details.identifiers,
        memories: details.memories,
        calls: activity::calls(conn, &org, &id)?,
        sms_conversations: activity::sms_conversations(conn, &org, &id)?,
    })
}

// ---------------------------------------------------------------------------------
// Import: the document as read, loosely typed so that errors can name fields.

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
    calls: Vec<CallIn>,
    #[serde(default)]
    sms_conversations: Vec<SmsIn>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallIn {
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
    status: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsIn {
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
    message_count: Option<i64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

/// A line that passed validation: rows ready to insert.
pub(crate) struct Prepared {
    /// Whether the document named its id (a fresh one needs no check).
    pub id_given: bool,
    pub contact: Contact,
    pub identifiers: Vec<(IdentifierType, String, bool, String)>,
    pub memories: Vec<(String, Memory)>,
    pub calls: Vec<Call>,
    pub sms: Vec<SmsConversation>,
}

impl Prepared {
    /// Moves the line to another contact id (its records follow).
    fn reassign_contact_id(&mut self, id: String) {
        for (_, m) in &mut self.memories {
            m.contact_id.clone_from(&id);
        }
        for c in &mut self.calls {
            c.contact_id.clone_from(&id);
        }
        for s in &mut self.sms {
            s.contact_id.clone_from(&id);
        }
        self.contact.id = id;
    }

    /// New ids for the contact and everything it owns, so that it can be inserted
    /// beside the data it came from and merged into it.
    fn with_fresh_ids(mut self) -> Self {
        let id = new_id();
        self.reassign_contact_id(id.clone());
        for ident in &mut self.identifiers {
            ident.3 = format!("ident-{}", new_id());
        }
        for (_, m) in &mut self.memories {
            m.id = format!("mem-{}", new_id());
        }
        for c in &mut self.calls {
            c.id = format!("call-{}", new_id());
        }
        for s in &mut self.sms {
            s.id = format!("sms-{}", new_id());
        }
        self
    }
}

/// For `--on-conflict merge`: the existing contact the line must merge into, if any.
fn merge_target(conn: &Connection, p: &Prepared) -> Result<Option<String>> {
    let org = p.contact.org_id.as_str();
    let mut wanted: Vec<(IdentifierType, String)> = p
        .identifiers
        .iter()
        .map(|(k, v, ..)| (*k, v.clone()))
        .collect();
    wanted.sort_by_key(|(k, _)| std::cmp::Reverse(k.strength()));
    let mut owners: Vec<String> = lookup::owners(conn, org, &wanted)?
        .into_iter()
        .map(|(_, owner)| owner)
        .collect();
    if lookup::contact(conn, org, &p.contact.id)?.is_some() {
        owners.push(p.contact.id.clone());
    }
    owners.dedup();
    match owners.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(Error::invalid(
            "identifiers",
            "belong to several existing contacts",
        )),
    }
}

const DROP_REDIRECT: &str = "DELETE FROM merge_redirect WHERE org_id = ?1 AND merged_id = ?2";
const RENAME_JOURNALED_DUPLICATE: &str =
    "UPDATE merge_journal SET duplicate_id = ?3 WHERE org_id = ?1 AND duplicate_id = ?2";
const INSERT_IMPORT_REDIRECT: &str = "INSERT OR IGNORE INTO merge_redirect \
     (org_id, merged_id, surviving_id, merged_at) VALUES (?1, ?2, ?3, ?4)";

/// Imports a line under new ids without the identifiers `target` already has, and
/// merges it into `target` with the merge rules. The temporary contact leaves no trace:
/// the journal names the document's id, which (when it was not in use) redirects to
/// `target` like a merged-away id.
fn insert_merging(conn: &Connection, p: Prepared, target: &str, cap: usize) -> Result<()> {
    let org = p.contact.org_id.clone();
    let document_id = p.contact.id.clone();
    let mut p = p.with_fresh_ids();
    let mut kept = Vec::with_capacity(p.identifiers.len());
    for ident in p.identifiers.drain(..) {
        if lookup::owner(conn, &org, ident.0, &ident.1)?.is_none() {
            kept.push(ident);
        }
    }
    p.identifiers = kept;
    insert(conn, &p)?;
    let merged = merge::merge_in(conn, merge::Within::Org(&org), target, &p.contact.id, cap)?;
    conn.prepare_cached(DROP_REDIRECT)?
        .execute((&org, &p.contact.id))?;
    conn.prepare_cached(RENAME_JOURNALED_DUPLICATE)?.execute((
        &org,
        &p.contact.id,
        &document_id,
    ))?;
    let free = conn
        .prepare_cached(CONTACT_ID_TAKEN)?
        .query_row([&document_id], |r| r.get::<_, String>(0))
        .optional()?
        .is_none();
    if free {
        conn.prepare_cached(INSERT_IMPORT_REDIRECT)?.execute((
            &org,
            &document_id,
            target,
            merged.contact.updated_at,
        ))?;
    }
    Ok(())
}

fn check_count(n: usize, max: usize, field: &'static str) -> Result<()> {
    if n > max {
        return Err(Error::invalid(field, "has too many entries"));
    }
    Ok(())
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

fn record_id(id: Option<String>, prefix: &str, field: &'static str) -> Result<String> {
    match id {
        Some(id) => normalize::key(&id, 128, field),
        None => Ok(format!("{prefix}-{}", new_id())),
    }
}

/// Parses and validates one line into rows. `org` is the handle's org, or `None` for
/// the all-orgs handle (the document's `org_id` is then required).
pub(crate) fn prepare(
    line: &str,
    org: Option<&str>,
    region: PhoneRegion,
    cap: usize,
) -> Result<Prepared> {
    let doc: DocumentIn = serde_json::from_str(line).map_err(|e| {
        if e.is_data() {
            Error::invalid(
                "document",
                "does not have the contact document's fields and types",
            )
        } else {
            Error::invalid("document", "is not valid JSON")
        }
    })?;
    let now = Timestamp::now();
    let org_id = match (org, doc.org_id) {
        (Some(org), _) => org.to_owned(),
        (None, Some(org)) => normalize::key(&org, MAX_ORG_ID_CHARS, "org_id")?,
        (None, None) => {
            return Err(Error::invalid(
                "org_id",
                "is required when importing all orgs",
            ))
        }
    };
    let id_given = doc.id.is_some();
    let id = match doc.id {
        Some(id) => uuid::Uuid::parse_str(&id)
            .map_err(|_| Error::invalid("id", "must be a UUID"))?
            .hyphenated()
            .to_string(),
        None => new_id(),
    };
    let created_at = timestamp(doc.created_at.as_deref(), "created_at", now)?;
    let updated_at = timestamp(doc.updated_at.as_deref(), "updated_at", created_at)?;
    let contact = Contact {
        id,
        org_id,
        name: valid_name(doc.name.as_deref())?,
        metadata: valid_metadata(doc.metadata.as_ref())?,
        created_at,
        updated_at,
    };

    // Identifiers: normalized, duplicates folded, one primary per type (the flagged
    // one, else the first).
    check_count(doc.identifiers.len(), MAX_IDENTIFIERS, "identifiers")?;
    check_count(doc.memories.len(), MAX_LIST_ITEMS, "memories")?;
    let mut identifiers: Vec<(IdentifierType, String, bool, String)> = Vec::new();
    let mut position: HashMap<(IdentifierType, String), usize> = HashMap::new();
    for ident in doc.identifiers {
        let kind: IdentifierType = ident.identifier_type.parse()?;
        let value = normalize::identifier(kind, &ident.identifier_value, region, kind.as_str())?;
        let primary = ident.is_primary.unwrap_or(false);
        if let Some(&i) = position.get(&(kind, value.clone())) {
            identifiers[i].2 |= primary;
            continue;
        }
        let ident_id = record_id(ident.id, "ident", "identifier id")?;
        position.insert((kind, value.clone()), identifiers.len());
        identifiers.push((kind, value, primary, ident_id));
    }
    if identifiers.is_empty() {
        return Err(Error::MissingIdentifier);
    }
    for kind in IdentifierType::ALL {
        let of_kind = || identifiers.iter().filter(|i| i.0 == kind);
        let primary = of_kind()
            .position(|i| i.2)
            .or_else(|| of_kind().next().map(|_| 0));
        for (n, ident) in identifiers.iter_mut().filter(|i| i.0 == kind).enumerate() {
            ident.2 = Some(n) == primary;
        }
    }

    let mut memories = Vec::with_capacity(doc.memories.len());
    let mut scopes = HashSet::with_capacity(doc.memories.len());
    for m in doc.memories {
        let scope =
            ScopeInput::new(m.persona_id.as_deref(), m.agent_number.as_deref(), region)?.ok_or(
                Error::invalid("memories", "each memory needs a persona_id or agent_number"),
            )?;
        let key = scope.scope.key();
        if !scopes.insert(key.clone()) {
            return Err(Error::invalid(
                "memories",
                "two memories have the same scope",
            ));
        }
        let summary = m.summary.unwrap_or_default();
        check_text(&summary, "summary")?;
        let facts = object(m.facts, "facts")?;
        memory::check_facts(&facts, "facts")?;
        let mut messages = Vec::with_capacity(m.recent_messages.len());
        for msg in m.recent_messages {
            messages.push(memory::message_from_parts(
                &msg.role,
                &msg.content,
                &msg.channel,
                Some(&msg.timestamp),
            )?);
        }
        let mut recent_messages: Vec<Message> = Vec::new();
        memory::add_sorted_capped(&mut recent_messages, &messages, cap);
        check_count(m.open_items.len(), MAX_LIST_ITEMS, "open_items")?;
        check_count(m.entities.len(), MAX_LIST_ITEMS, "entities")?;
        let mut open_items = Vec::with_capacity(m.open_items.len());
        let mut seen_items = HashSet::with_capacity(m.open_items.len());
        for item in m.open_items {
            let item = check_open_item(&OpenItem {
                item_type: item.item_type,
                description: item.description,
                created_at: Timestamp::parse_field(&item.created_at, "created_at")?,
                priority: item.priority.parse()?,
                related_to: item.related_to,
            })?;
            if seen_items.insert(item.clone()) {
                open_items.push(item);
            }
        }
        open_items.sort_by_key(|i: &OpenItem| i.created_at);
        let mut entities = Vec::with_capacity(m.entities.len());
        let mut seen_entities = HashSet::with_capacity(m.entities.len());
        for e in m.entities {
            let entity = check_entity(&crate::model::Entity {
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
            })?;
            if !seen_entities.insert((entity.entity_type.clone(), entity.entity_id.clone())) {
                return Err(Error::invalid(
                    "entities",
                    "two entities have the same type and id",
                ));
            }
            entities.push(entity);
        }
        let memory_created = timestamp(m.created_at.as_deref(), "created_at", contact.created_at)?;
        memories.push((
            key,
            Memory {
                id: record_id(m.id, "mem", "memory id")?,
                contact_id: contact.id.clone(),
                persona_id: scope.persona_id,
                agent_number: scope.agent_number,
                summary,
                facts,
                recent_messages,
                open_items,
                entities,
                created_at: memory_created,
                updated_at: timestamp(m.updated_at.as_deref(), "updated_at", memory_created)?,
            },
        ));
    }

    let mut calls = Vec::with_capacity(doc.calls.len());
    for c in doc.calls {
        let f = ActivityFields::new(
            c.agent_number.as_deref(),
            c.contact_number.as_deref(),
            c.status.as_deref(),
            c.summary.as_deref(),
            &object(c.metadata, "metadata")?,
            region,
        )?;
        calls.push(Call {
            id: record_id(c.id, "call", "call id")?,
            contact_id: contact.id.clone(),
            direction: c.direction.parse()?,
            agent_number: f.agent_number,
            contact_number: f.contact_number,
            started_at: Timestamp::parse_field(&c.started_at, "started_at")?,
            duration_seconds: c
                .duration_seconds
                .map(|d| activity::check_count(d, "duration_seconds"))
                .transpose()?,
            status: f.status,
            summary: f.summary,
            metadata: f.metadata,
        });
    }
    let mut sms = Vec::with_capacity(doc.sms_conversations.len());
    for s in doc.sms_conversations {
        let f = ActivityFields::new(
            s.agent_number.as_deref(),
            s.contact_number.as_deref(),
            s.status.as_deref(),
            s.summary.as_deref(),
            &object(s.metadata, "metadata")?,
            region,
        )?;
        sms.push(SmsConversation {
            id: record_id(s.id, "sms", "sms conversation id")?,
            contact_id: contact.id.clone(),
            direction: s.direction.parse()?,
            agent_number: f.agent_number,
            contact_number: f.contact_number,
            started_at: Timestamp::parse_field(&s.started_at, "started_at")?,
            message_count: activity::check_count(s.message_count.unwrap_or(0), "message_count")?,
            status: f.status,
            summary: f.summary,
            metadata: f.metadata,
        });
    }
    // Record ids a document gives must differ from each other (the file is checked at
    // insert time).
    let mut ids = HashSet::new();
    let unique = memories
        .iter()
        .map(|(_, m)| &m.id)
        .chain(calls.iter().map(|c| &c.id))
        .chain(sms.iter().map(|s| &s.id))
        .all(|id| ids.insert(id));
    if !unique {
        return Err(Error::invalid("document", "uses one record id twice"));
    }
    Ok(Prepared {
        id_given,
        contact,
        identifiers,
        memories,
        calls,
        sms,
    })
}

const INSERT_FULL_CONTACT: &str = "INSERT INTO contact \
     (org_id, id, name, metadata, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const INSERT_FULL_MEMORY: &str = "INSERT INTO memory (org_id, id, contact_id, scope, persona_id, \
     agent_number, summary, facts, recent_messages, open_items, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
const INSERT_IDENTIFIER_WITH_ID: &str = "INSERT INTO identifier \
     (org_id, identifier_type, identifier_value, contact_id, id, is_primary) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// Contact ids are unique across the file (the `contact_by_id` index), so whether an
/// imported id is free must be asked of every org. The answer is never shown to the
/// caller: an id another org uses is replaced by a fresh one.
const CONTACT_ID_TAKEN: &str = "SELECT org_id FROM contact WHERE id = ?1";
const MERGED_AWAY: &str = "SELECT 1 FROM merge_redirect WHERE org_id = ?1 AND merged_id = ?2";

/// Keeps a line's contact id when it is free; refuses one this org uses (the contact
/// exists, or was merged away and redirects); replaces one another org uses.
fn settle_id(conn: &Connection, p: &mut Prepared) -> Result<()> {
    if !p.id_given {
        return Ok(()); // a fresh UUID v7
    }
    let org = p.contact.org_id.clone();
    let taken_by: Option<String> = conn
        .prepare_cached(CONTACT_ID_TAKEN)?
        .query_row([&p.contact.id], |r| r.get(0))
        .optional()?;
    match taken_by {
        Some(o) if o == org => Err(Error::invalid(
            "id",
            "belongs to a contact that already exists",
        )),
        Some(_) => {
            p.reassign_contact_id(new_id());
            Ok(())
        }
        None if conn
            .prepare_cached(MERGED_AWAY)?
            .exists((&org, &p.contact.id))? =>
        {
            Err(Error::invalid(
                "id",
                "belongs to a contact that was merged away",
            ))
        }
        None => Ok(()),
    }
}

/// Inserts a prepared line. A constraint failure means the line collides with data
/// already in the file; it is reported as a BAD_REQUEST naming what collided.
pub(crate) fn insert(conn: &Connection, p: &Prepared) -> Result<()> {
    let org = p.contact.org_id.as_str();
    conn.prepare_cached(INSERT_FULL_CONTACT)?.execute((
        org,
        &p.contact.id,
        &p.contact.name,
        to_json(&p.contact.metadata),
        p.contact.created_at,
        p.contact.updated_at,
    ))?;
    for (kind, value, primary, id) in &p.identifiers {
        conn.prepare_cached(INSERT_IDENTIFIER_WITH_ID)?.execute((
            org,
            kind.code(),
            value,
            &p.contact.id,
            id,
            primary,
        ))?;
    }
    for (scope, m) in &p.memories {
        conn.prepare_cached(INSERT_FULL_MEMORY)?
            .execute(rusqlite::params![
                org,
                m.id,
                p.contact.id,
                scope,
                m.persona_id,
                m.agent_number,
                m.summary,
                to_json(&m.facts),
                to_json(&m.recent_messages),
                to_json(&m.open_items),
                m.created_at,
                m.updated_at,
            ])?;
        for e in &m.entities {
            memory::save_entity(conn, org, &m.id, e)?;
        }
    }
    for c in &p.calls {
        activity::insert_call(conn, org, c)?;
    }
    for s in &p.sms {
        activity::insert_sms(conn, org, s)?;
    }
    Ok(())
}

const MEMORY_ID_TAKEN: &str = "SELECT 1 FROM memory WHERE org_id = ?1 AND id = ?2";
const CALL_ID_TAKEN: &str = "SELECT 1 FROM call WHERE org_id = ?1 AND id = ?2";
const SMS_ID_TAKEN: &str = "SELECT 1 FROM sms_conversation WHERE org_id = ?1 AND id = ?2";

/// Refuses a line that would collide with data already in the file (earlier lines of
/// the same import included): an identifier another contact owns, or a record id in
/// use. Run under the write lock, so that [`insert`] cannot then fail on a constraint.
fn check_collisions(conn: &Connection, p: &Prepared) -> Result<()> {
    let org = p.contact.org_id.as_str();
    for (kind, value, ..) in &p.identifiers {
        if lookup::owner(conn, org, *kind, value)?.is_some() {
            return Err(Error::invalid(
                kind.as_str(),
                "already belongs to another contact",
            ));
        }
    }
    let taken =
        |sql: &str, id: &str| -> Result<bool> { Ok(conn.prepare_cached(sql)?.exists((org, id))?) };
    let in_use = |field| Error::invalid(field, "belongs to a record that already exists");
    for (_, m) in &p.memories {
        if taken(MEMORY_ID_TAKEN, &m.id)? {
            return Err(in_use("memory id"));
        }
    }
    for c in &p.calls {
        if taken(CALL_ID_TAKEN, &c.id)? {
            return Err(in_use("call id"));
        }
    }
    for s in &p.sms {
        if taken(SMS_ID_TAKEN, &s.id)? {
            return Err(in_use("sms conversation id"));
        }
    }
    Ok(())
}

/// Imports one line inside the open transaction; `Ok(true)` when it was merged into an
/// existing contact. A BAD_REQUEST leaves nothing of the line behind; any other error
/// ends the import.
///
/// A plain line is checked first and then inserted without a savepoint: a savepoint
/// makes SQLite copy every page the line touches into a statement journal, which cost
/// a third of an import's time. A merge has more ways to fail, so it runs in one.
fn import_line(
    conn: &Connection,
    mut p: Prepared,
    on_conflict: OnConflict,
    cap: usize,
) -> Result<bool> {
    if on_conflict == OnConflict::Merge {
        if let Some(target) = merge_target(conn, &p)? {
            conn.prepare_cached("SAVEPOINT import_line")?.execute([])?;
            return match insert_merging(conn, p, &target, cap) {
                Ok(()) => {
                    conn.prepare_cached("RELEASE import_line")?.execute([])?;
                    Ok(true)
                }
                // After a storage failure SQLite may have rolled back the whole
                // transaction (SQLITE_FULL): the savepoint is gone, and the error
                // ends the import anyway.
                Err(e) if e.code() != ErrorCode::BadRequest => Err(e),
                Err(e) => {
                    conn.prepare_cached("ROLLBACK TO import_line")?
                        .execute([])?;
                    conn.prepare_cached("RELEASE import_line")?.execute([])?;
                    Err(e)
                }
            };
        }
    }
    settle_id(conn, &mut p)?;
    check_collisions(conn, &p)?;
    // Checked above under the write lock: a constraint failure now would not be the
    // line's fault, and ends the import like any storage failure.
    insert(conn, &p)?;
    Ok(false)
}

/// A batch of parsed lines from the reading thread: line number and, for non-blank
/// lines, the prepared rows or why the line was rejected.
struct Batch {
    lines: Vec<(u64, Option<Result<Prepared>>)>,
    bytes: u64,
}

pub(crate) fn import(
    store: &ContactStore,
    scope: OrgScope<'_>,
    input: &mut (dyn BufRead + Send),
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportSummary> {
    let region = store.settings().region;
    let cap = store.settings().recent_messages_cap;
    let org = match scope {
        OrgScope::One(org) => Some(org.to_owned()),
        OrgScope::All => None,
    };
    std::thread::scope(|threads| {
        let (sender, receiver) = mpsc::sync_channel::<Result<Batch>>(4);
        threads.spawn(move || read_lines(input, org.as_deref(), region, cap, &sender));
        write_batches(store, receiver, options.on_conflict, cap, progress)
    })
}

/// The reading thread: lines → prepared rows, in batches.
fn read_lines(
    input: &mut (dyn BufRead + Send),
    org: Option<&str>,
    region: PhoneRegion,
    cap: usize,
    sender: &mpsc::SyncSender<Result<Batch>>,
) {
    let mut number = 0u64;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let mut batch = Batch {
            lines: Vec::with_capacity(LINES_PER_BATCH),
            bytes: 0,
        };
        let started = Instant::now();
        // A batch goes to the writer when full, at the end of input, or — for input that
        // trickles in through a pipe — once it is a tenth of a second old.
        let mut end = false;
        while batch.lines.len() < LINES_PER_BATCH
            && batch.bytes < BATCH_BYTES
            && started.elapsed() < BATCH_AGE
        {
            buf.clear();
            let read = match Read::take(&mut *input, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(n) => n,
                Err(e) => {
                    let _ = sender.send(Err(e.into()));
                    return;
                }
            };
            if read == 0 {
                end = true;
                break;
            }
            number += 1;
            batch.bytes += read as u64;
            let parsed = if buf.len() > MAX_LINE_BYTES && !buf.ends_with(b"\n") {
                // Skip the rest of an over-long line.
                loop {
                    buf.clear();
                    match Read::take(&mut *input, 1 << 20).read_until(b'\n', &mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            batch.bytes += n as u64;
                            if buf.ends_with(b"\n") {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                Some(Err(Error::invalid("document", "line is too long")))
            } else {
                match std::str::from_utf8(&buf) {
                    Err(_) => Some(Err(Error::invalid("document", "is not UTF-8"))),
                    Ok(text) if text.trim().is_empty() => None,
                    Ok(text) => Some(prepare(text, org, region, cap)),
                }
            };
            batch.lines.push((number, parsed));
        }
        if sender.send(Ok(batch)).is_err() || end {
            return;
        }
    }
}

/// The writing side: imports each line ([`import_line`]) and commits every
/// [`LINES_PER_COMMIT`] lines, every [`MAX_TRANSACTION_TIME`], and before waiting for
/// the reader.
fn write_batches(
    store: &ContactStore,
    receiver: mpsc::Receiver<Result<Batch>>,
    on_conflict: OnConflict,
    cap: usize,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportSummary> {
    let conn = store.connection();
    let mut summary = ImportSummary::default();
    let mut seen = ImportProgress::default();
    let mut tx: Option<Transaction<'_>> = None;
    let mut in_tx = 0usize;
    let mut opened = Instant::now();
    loop {
        let batch = match receiver.try_recv() {
            Ok(batch) => batch,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                // The reader is behind (a slow pipe, a slow parse): commit before
                // waiting, so other processes are not kept out of the file meanwhile.
                if let Some(t) = tx.take() {
                    t.commit()?;
                    in_tx = 0;
                }
                match receiver.recv() {
                    Ok(batch) => batch,
                    Err(_) => break,
                }
            }
        };
        let batch = batch?;
        for (number, parsed) in batch.lines {
            summary.lines = number;
            let prepared = match parsed {
                None => continue,
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    reject(&mut summary, number, &e);
                    continue;
                }
            };
            if tx.is_none() {
                tx = Some(Transaction::new_unchecked(
                    conn,
                    TransactionBehavior::Immediate,
                )?);
                opened = Instant::now();
            }
            let Some(t) = tx.as_ref() else { continue };
            match import_line(t, prepared, on_conflict, cap) {
                Ok(true) => summary.merged += 1,
                Ok(false) => summary.imported += 1,
                // A storage failure ends the import, rolling back the open batch.
                Err(e) if e.code() != ErrorCode::BadRequest => return Err(e),
                Err(e) => reject(&mut summary, number, &e),
            }
            in_tx += 1;
            if in_tx >= LINES_PER_COMMIT || opened.elapsed() >= MAX_TRANSACTION_TIME {
                if let Some(t) = tx.take() {
                    t.commit()?;
                }
                in_tx = 0;
            }
        }
        seen.lines = summary.lines;
        seen.bytes += batch.bytes;
        progress(seen);
    }
    if let Some(t) = tx.take() {
        t.commit()?;
    }
    Ok(summary)
}

fn reject(summary: &mut ImportSummary, line: u64, error: &Error) {
    summary.rejected += 1;
    if summary.errors.len() < MAX_REPORTED_ERRORS {
        summary.errors.push(LineError {
            line,
            error: error.code().as_str().to_owned(),
            message: error.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Export writes stored JSON through verbatim; the bytes must be those of the typed
    /// documents.
    #[test]
    fn raw_export_matches_typed_documents() {
        let store = ContactStore::open_in_memory().unwrap();
        let lines = [
            r#"{"name":"Sarah","metadata":{"b":[1,2.5,null],"a":{"z":"é\n\"q\""}},"identifiers":[{"identifier_type":"phone_number","identifier_value":"(415) 555-0192"},{"identifier_type":"email","identifier_value":"S@Example.com"}],"memories":[{"persona_id":"p","summary":"s","facts":{"k":1},"recent_messages":[{"role":"user","content":"hi \u2603","channel":"sms","timestamp":"2025-07-23T09:10:00+02:00"},{"role":"assistant","content":"yo","channel":"voice","timestamp":"2025-07-22T09:10:00.5Z"}],"open_items":[{"type":"follow_up","description":"d","created_at":"2025-07-23T09:10:00Z","priority":"high","related_to":{"entity_type":"order","entity_id":"o-1"}}],"entities":[{"entity_type":"order","entity_id":"o-1","facts":{"n":1},"status":"open","last_discussed_at":"2025-07-23T09:10:00Z","notes":"n"},{"entity_type":"b","entity_id":"b-1"}]},{"agent_number":"+14155550100"}],"calls":[{"direction":"inbound","started_at":"2025-07-20T00:00:00Z","duration_seconds":5,"metadata":{"x":true}}],"sms_conversations":[{"direction":"outbound","started_at":"2025-07-20T00:00:00Z","message_count":2}]}"#,
            r#"{"identifiers":[{"identifier_type":"external_id","identifier_value":"crm-1"}]}"#,
        ]
        .join("\n");
        let summary = store
            .org("acme")
            .unwrap()
            .import(
                &mut lines.as_bytes(),
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(summary.imported, 2, "{summary:?}");
        let conn = store.connection();
        let mut stmt = conn.prepare(CONTACTS_OF_ALL_ORGS).unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut compared = 0;
        while let Some(row) = rows.next().unwrap() {
            let raw = serde_json::to_string(&crate::export::document(conn, row).unwrap()).unwrap();
            let contact = lookup::contact_from_row(row).unwrap();
            let typed = serde_json::to_string(&document(conn, contact).unwrap()).unwrap();
            assert_eq!(raw, typed);
            compared += 1;
        }
        assert_eq!(compared, 2);
    }

    #[test]
    fn prepare_normalizes_and_picks_one_primary_per_type() {
        let line = r#"{"identifiers":[
            {"identifier_type":"phone_number","identifier_value":"(415) 555-0192"},
            {"identifier_type":"phone_number","identifier_value":"+14155550192","is_primary":true},
            {"identifier_type":"phone_number","identifier_value":"+14155550100","is_primary":true},
            {"identifier_type":"email","identifier_value":"A@Example.com"}]}"#
            .replace('\n', "");
        let p = prepare(&line, Some("acme"), PhoneRegion::default(), 50).unwrap();
        let got: Vec<(IdentifierType, &str, bool)> = p
            .identifiers
            .iter()
            .map(|(k, v, primary, _)| (*k, v.as_str(), *primary))
            .collect();
        assert_eq!(
            got,
            vec![
                (IdentifierType::PhoneNumber, "+14155550192", true),
                (IdentifierType::PhoneNumber, "+14155550100", false),
                (IdentifierType::Email, "a@example.com", true),
            ]
        );
        assert_eq!(p.contact.org_id, "acme");
    }

    #[test]
    fn prepare_rejects_with_field_names_only() {
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
        ];
        for (line, message) in cases {
            let err = prepare(line, Some("acme"), PhoneRegion::default(), 50)
                .err()
                .unwrap();
            assert_eq!(err.to_string(), message, "{line}");
            assert_eq!(err.code(), ErrorCode::BadRequest);
        }
        let err = prepare(
            r#"{"identifiers":[{"identifier_type":"email","identifier_value":"a@example.com"}]}"#,
            None,
            PhoneRegion::default(),
            50,
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "Invalid org_id: is required when importing all orgs"
        );
    }
}
