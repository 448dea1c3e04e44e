//! Export's fast path: a contact document written from its rows as stored.
//!
//! JSON columns (metadata, facts, messages, open items) hold this library's own
//! canonical serialization — compact, keys sorted — so export passes them through
//! verbatim instead of parsing every message only to serialize it again. The bytes are
//! those of serializing [`crate::ContactDocument`]; a test holds the two paths equal.

use serde::Serialize;
use serde_json::value::RawValue;

use rusqlite::{Connection, Row};

use crate::activity::{CALLS_OF_CONTACT, SMS_OF_CONTACT};
use crate::error::Result;
use crate::lookup::{self, ENTITIES_OF_CONTACT, MEMORIES_OF_CONTACT};
use crate::model::Identifier;
use crate::timestamp::Timestamp;

/// The fields of [`crate::ContactDocument`], in its order, with raw JSON columns.
#[derive(Serialize)]
pub(crate) struct RawDocument {
    id: String,
    org_id: String,
    name: Option<String>,
    metadata: Box<RawValue>,
    created_at: Timestamp,
    updated_at: Timestamp,
    identifiers: Vec<Identifier>,
    memories: Vec<RawMemory>,
    calls: Vec<RawCall>,
    sms_conversations: Vec<RawSms>,
}

#[derive(Serialize)]
struct RawMemory {
    id: String,
    contact_id: String,
    persona_id: Option<String>,
    agent_number: Option<String>,
    summary: String,
    facts: Box<RawValue>,
    recent_messages: Box<RawValue>,
    open_items: Box<RawValue>,
    entities: Vec<RawEntity>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(Serialize)]
struct RawEntity {
    entity_type: String,
    entity_id: String,
    facts: Box<RawValue>,
    status: Option<String>,
    last_discussed_at: Option<Timestamp>,
    notes: Option<String>,
}

#[derive(Serialize)]
struct RawCall {
    id: String,
    contact_id: String,
    direction: String,
    agent_number: Option<String>,
    contact_number: Option<String>,
    started_at: Timestamp,
    duration_seconds: Option<i64>,
    status: Option<String>,
    summary: Option<String>,
    metadata: Box<RawValue>,
}

#[derive(Serialize)]
struct RawSms {
    id: String,
    contact_id: String,
    direction: String,
    agent_number: Option<String>,
    contact_number: Option<String>,
    started_at: Timestamp,
    message_count: i64,
    status: Option<String>,
    summary: Option<String>,
    metadata: Box<RawValue>,
}

/// A stored JSON column, checked to be JSON but not parsed into values.
fn raw(row: &Row<'_>, idx: usize) -> rusqlite::Result<Box<RawValue>> {
    let text: String = row.get(idx)?;
    RawValue::from_string(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The document of the contact on `row` (the columns of a contact row: id, org_id,
/// name, metadata, created_at, updated_at), with everything it owns.
pub(crate) fn document(conn: &Connection, row: &Row<'_>) -> Result<RawDocument> {
    let id: String = row.get(0)?;
    let org_id: String = row.get(1)?;
    let identifiers = lookup::identifiers(conn, &org_id, &id)?;
    let memories = memories(conn, &org_id, &id)?;
    let calls = conn
        .prepare_cached(CALLS_OF_CONTACT)?
        .query_map((&org_id, &id), |r| {
            Ok(RawCall {
                id: r.get(0)?,
                contact_id: r.get(1)?,
                direction: r.get(2)?,
                agent_number: r.get(3)?,
                contact_number: r.get(4)?,
                started_at: r.get(5)?,
                duration_seconds: r.get(6)?,
                status: r.get(7)?,
                summary: r.get(8)?,
                metadata: raw(r, 9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let sms_conversations = conn
        .prepare_cached(SMS_OF_CONTACT)?
        .query_map((&org_id, &id), |r| {
            Ok(RawSms {
                id: r.get(0)?,
                contact_id: r.get(1)?,
                direction: r.get(2)?,
                agent_number: r.get(3)?,
                contact_number: r.get(4)?,
                started_at: r.get(5)?,
                message_count: r.get(6)?,
                status: r.get(7)?,
                summary: r.get(8)?,
                metadata: raw(r, 9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(RawDocument {
        name: row.get(2)?,
        metadata: raw(row, 3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
        id,
        org_id,
        identifiers,
        memories,
        calls,
        sms_conversations,
    })
}

/// Memories with their entities, as [`lookup::memories`] reads them (same statements,
/// same order), with raw JSON columns.
fn memories(conn: &Connection, org_id: &str, contact_id: &str) -> Result<Vec<RawMemory>> {
    let mut memories: Vec<RawMemory> = conn
        .prepare_cached(MEMORIES_OF_CONTACT)?
        .query_map((org_id, contact_id), |r| {
            Ok(RawMemory {
                id: r.get(0)?,
                contact_id: contact_id.to_owned(),
                persona_id: r.get(1)?,
                agent_number: r.get(2)?,
                summary: r.get(3)?,
                facts: raw(r, 4)?,
                recent_messages: raw(r, 5)?,
                open_items: raw(r, 6)?,
                entities: Vec::new(),
                created_at: r.get(7)?,
                updated_at: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if memories.is_empty() {
        return Ok(memories);
    }
    let mut stmt = conn.prepare_cached(ENTITIES_OF_CONTACT)?;
    let mut rows = stmt.query((org_id, contact_id))?;
    while let Some(r) = rows.next()? {
        let memory_id = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        if let Some(m) = memories.iter_mut().find(|m| m.id == memory_id) {
            m.entities.push(RawEntity {
                entity_type: r.get(1)?,
                entity_id: r.get(2)?,
                facts: raw(r, 3)?,
                status: r.get(4)?,
                last_discussed_at: r.get(5)?,
                notes: r.get(6)?,
            });
        }
    }
    Ok(memories)
}
