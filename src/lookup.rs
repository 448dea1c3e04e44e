//! Reading contacts: identifier lookups, contact rows, and hydration of a contact with
//! its identifiers, memories and entities in a fixed number of statements.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row};
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::model::{Contact, ContactDetails, Entity, Identifier, Memory};
use crate::normalize::IdentifierType;

/// Normalized identifiers of a request, strongest first.
pub(crate) type Wanted = Vec<(IdentifierType, String)>;

const OWNER_OF_IDENTIFIER: &str = "SELECT contact_id FROM identifier \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";

/// The contact that owns one identifier, if any.
pub(crate) fn owner(
    conn: &Connection,
    org_id: &str,
    kind: IdentifierType,
    value: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(OWNER_OF_IDENTIFIER)?
        .query_row((org_id, kind.code(), value), |r| r.get(0))
        .optional()?)
}

/// For each wanted identifier that some contact owns, its type and owner, in the order
/// of `wanted` (strongest first).
pub(crate) fn owners(
    conn: &Connection,
    org_id: &str,
    wanted: &Wanted,
) -> Result<Vec<(IdentifierType, String)>> {
    let mut stmt = conn.prepare_cached(OWNER_OF_IDENTIFIER)?;
    let mut found = Vec::with_capacity(wanted.len());
    for (kind, value) in wanted {
        let owner: Option<String> = stmt
            .query_row((org_id, kind.code(), value), |r| r.get(0))
            .optional()?;
        if let Some(owner) = owner {
            found.push((*kind, owner));
        }
    }
    Ok(found)
}

const CONTACT_OF_IDENTIFIER: &str =
    "SELECT c.id, c.org_id, c.name, c.metadata, c.created_at, c.updated_at \
     FROM identifier i JOIN contact c ON c.org_id = i.org_id AND c.id = i.contact_id \
     WHERE i.org_id = ?1 AND i.identifier_type = ?2 AND i.identifier_value = ?3";

/// Who owns a request's identifiers.
pub(crate) struct Owners {
    /// Each owned identifier's type and owner, strongest first.
    pub by_type: Vec<(IdentifierType, String)>,
    /// The owner of the strongest owned identifier.
    pub contact: Option<Contact>,
}

/// Like [`owners`], and also the contact row of the first (strongest) identifier found,
/// read in the same statement: a known caller costs one query.
pub(crate) fn owners_and_contact(
    conn: &Connection,
    org_id: &str,
    wanted: &Wanted,
) -> Result<Owners> {
    let mut found = Vec::with_capacity(wanted.len());
    let mut first: Option<Contact> = None;
    for (kind, value) in wanted {
        if first.is_none() {
            let contact = conn
                .prepare_cached(CONTACT_OF_IDENTIFIER)?
                .query_row((org_id, kind.code(), value), contact_from_row)
                .optional()?;
            if let Some(contact) = contact {
                found.push((*kind, contact.id.clone()));
                first = Some(contact);
            }
        } else {
            let owner: Option<String> = conn
                .prepare_cached(OWNER_OF_IDENTIFIER)?
                .query_row((org_id, kind.code(), value), |r| r.get(0))
                .optional()?;
            if let Some(owner) = owner {
                found.push((*kind, owner));
            }
        }
    }
    Ok(Owners {
        by_type: found,
        contact: first,
    })
}

const CONTACT_BY_ID: &str = "SELECT id, org_id, name, metadata, created_at, updated_at \
     FROM contact WHERE org_id = ?1 AND id = ?2";

/// The contact row, if this org has it.
pub(crate) fn contact(conn: &Connection, org_id: &str, id: &str) -> Result<Option<Contact>> {
    let mut stmt = conn.prepare_cached(CONTACT_BY_ID)?;
    Ok(stmt.query_row((org_id, id), contact_from_row).optional()?)
}

const REDIRECT_OF: &str =
    "SELECT surviving_id FROM merge_redirect WHERE org_id = ?1 AND merged_id = ?2";

/// The contact with this id, or the one it was merged into. Redirects are kept flat
/// (see `merge_redirect` in schema.sql), so this is at most two lookups.
pub(crate) fn contact_following_merges(
    conn: &Connection,
    org_id: &str,
    id: &str,
) -> Result<Option<Contact>> {
    if let Some(found) = contact(conn, org_id, id)? {
        return Ok(Some(found));
    }
    let surviving: Option<String> = conn
        .prepare_cached(REDIRECT_OF)?
        .query_row((org_id, id), |r| r.get(0))
        .optional()?;
    match surviving {
        Some(surviving) => contact(conn, org_id, &surviving),
        None => Ok(None),
    }
}

/// The contact an id reaches — itself, or the contact it was merged into — or
/// [`Error::NotFound`]. Every operation on one contact starts here.
pub(crate) fn reached_contact(conn: &Connection, org_id: &str, id: &str) -> Result<Contact> {
    contact_following_merges(conn, org_id, id)?.ok_or(crate::error::Error::NotFound)
}

pub(crate) fn contact_from_row(row: &Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        id: row.get(0)?,
        org_id: row.get(1)?,
        name: row.get(2)?,
        metadata: json_column(row, 3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
    })
}

/// Parses a JSON TEXT column written by the library.
pub(crate) fn json_column<T: DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text = row.get_ref(idx)?.as_str()?;
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

const IDENTIFIERS_OF_CONTACT: &str =
    "SELECT id, identifier_type, identifier_value, is_primary FROM identifier \
     WHERE org_id = ?1 AND contact_id = ?2 \
     ORDER BY identifier_type, is_primary DESC, identifier_value";

/// The contact's identifiers: by type (phone, email, external id), primary first.
pub(crate) fn identifiers(
    conn: &Connection,
    org_id: &str,
    contact_id: &str,
) -> Result<Vec<Identifier>> {
    let mut stmt = conn.prepare_cached(IDENTIFIERS_OF_CONTACT)?;
    let rows = stmt.query_map((org_id, contact_id), |row| {
        identifier_from_row(row, 0, contact_id.to_owned())
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// An identifier from columns `first..first + 4` (id, type, value, is_primary).
pub(crate) fn identifier_from_row(
    row: &Row<'_>,
    first: usize,
    contact_id: String,
) -> rusqlite::Result<Identifier> {
    let code: i64 = row.get(first + 1)?;
    Ok(Identifier {
        id: row.get(first)?,
        contact_id,
        identifier_type: IdentifierType::from_code(code)
            .ok_or(rusqlite::Error::IntegralValueOutOfRange(first + 1, code))?,
        identifier_value: row.get(first + 2)?,
        is_primary: row.get(first + 3)?,
    })
}

/// The order identifiers are listed in: by type, primary first, then by value.
pub(crate) fn sort_identifiers(identifiers: &mut [Identifier]) {
    identifiers.sort_by(|a, b| {
        (a.identifier_type, !a.is_primary, &a.identifier_value).cmp(&(
            b.identifier_type,
            !b.is_primary,
            &b.identifier_value,
        ))
    });
}

pub(crate) const MEMORIES_OF_CONTACT: &str =
    "SELECT id, persona_id, agent_number, summary, facts, recent_messages, open_items, \
            created_at, updated_at \
     FROM memory WHERE org_id = ?1 AND contact_id = ?2 ORDER BY created_at, id";

pub(crate) const ENTITIES_OF_CONTACT: &str =
    "SELECT e.memory_id, e.entity_type, e.entity_id, e.facts, e.status, \
            e.last_discussed_at, e.notes \
     FROM memory m JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id \
     WHERE m.org_id = ?1 AND m.contact_id = ?2 \
     ORDER BY e.memory_id, e.last_discussed_at DESC NULLS LAST, e.entity_type, e.entity_id";

/// The contact's memories with their entities: two statements however many memories
/// there are. Memories by creation; entities most recently discussed first.
pub(crate) fn memories(conn: &Connection, org_id: &str, contact_id: &str) -> Result<Vec<Memory>> {
    let mut stmt = conn.prepare_cached(MEMORIES_OF_CONTACT)?;
    let mut memories: Vec<Memory> = stmt
        .query_map((org_id, contact_id), |row| {
            memory_from_row(row, contact_id.to_owned())
        })?
        .collect::<rusqlite::Result<_>>()?;
    if memories.is_empty() {
        return Ok(memories);
    }
    let position: HashMap<String, usize> = memories
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.clone(), i))
        .collect();
    let mut stmt = conn.prepare_cached(ENTITIES_OF_CONTACT)?;
    let mut rows = stmt.query((org_id, contact_id))?;
    while let Some(row) = rows.next()? {
        let memory_id = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        if let Some(&i) = position.get(memory_id) {
            memories[i].entities.push(entity_from_row(row, 1)?);
        }
    }
    Ok(memories)
}

/// A memory (without entities) from the columns of [`MEMORIES_OF_CONTACT`].
fn memory_from_row(row: &Row<'_>, contact_id: String) -> rusqlite::Result<Memory> {
    Ok(Memory {
        id: row.get(0)?,
        contact_id,
        persona_id: row.get(1)?,
        agent_number: row.get(2)?,
        summary: row.get(3)?,
        facts: json_column(row, 4)?,
        recent_messages: json_column(row, 5)?,
        open_items: json_column(row, 6)?,
        entities: Vec::new(),
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

const MEMORY_BY_ID: &str =
    "SELECT id, persona_id, agent_number, summary, facts, recent_messages, open_items, \
            created_at, updated_at, contact_id \
     FROM memory WHERE org_id = ?1 AND id = ?2";

const ENTITIES_OF_MEMORY: &str =
    "SELECT entity_type, entity_id, facts, status, last_discussed_at, notes \
     FROM memory_entity WHERE org_id = ?1 AND memory_id = ?2 \
     ORDER BY last_discussed_at DESC NULLS LAST, entity_type, entity_id";

/// One memory with its entities.
pub(crate) fn memory(conn: &Connection, org_id: &str, memory_id: &str) -> Result<Option<Memory>> {
    let found = conn
        .prepare_cached(MEMORY_BY_ID)?
        .query_row((org_id, memory_id), |row| {
            let contact_id: String = row.get(9)?;
            memory_from_row(row, contact_id)
        })
        .optional()?;
    let Some(mut memory) = found else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(ENTITIES_OF_MEMORY)?;
    let entities = stmt.query_map((org_id, memory_id), |row| entity_from_row(row, 0))?;
    memory.entities = entities.collect::<rusqlite::Result<_>>()?;
    Ok(Some(memory))
}

/// An entity from columns `first..first + 6`.
pub(crate) fn entity_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Entity> {
    Ok(Entity {
        entity_type: row.get(first)?,
        entity_id: row.get(first + 1)?,
        facts: json_column(row, first + 2)?,
        status: row.get(first + 3)?,
        last_discussed_at: row.get(first + 4)?,
        notes: row.get(first + 5)?,
    })
}

/// The contact with its identifiers and memories.
pub(crate) fn details(conn: &Connection, contact: Contact) -> Result<ContactDetails> {
    let identifiers = identifiers(conn, &contact.org_id, &contact.id)?;
    let memories = memories(conn, &contact.org_id, &contact.id)?;
    Ok(ContactDetails {
        contact,
        identifiers,
        memories,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn statements_for_details(memories: usize) -> usize {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&conn).unwrap();
        conn.execute(
            "INSERT INTO contact (org_id, id, name, metadata, created_at, updated_at) \
             VALUES ('o', 'c', NULL, '{}', 0, 0)",
            [],
        )
        .unwrap();
        for m in 0..memories {
            conn.execute(
                "INSERT INTO memory (org_id, id, contact_id, scope, created_at, updated_at) \
                 VALUES ('o', ?1, 'c', ?1, ?2, ?2)",
                (format!("mem-{m}"), m as i64),
            )
            .unwrap();
            for e in 0..3 {
                conn.execute(
                    "INSERT INTO memory_entity (org_id, memory_id, entity_type, entity_id) \
                     VALUES ('o', ?1, 'order', ?2)",
                    (format!("mem-{m}"), format!("order-{e}")),
                )
                .unwrap();
            }
        }
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(move |_: rusqlite::trace::TraceEvent<'_>| {
                seen.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
        let contact = contact(&conn, "o", "c").unwrap().unwrap();
        let details = details(&conn, contact).unwrap();
        assert_eq!(details.memories.len(), memories);
        assert!(details.memories.iter().all(|m| m.entities.len() == 3));
        count.load(Ordering::SeqCst)
    }

    #[test]
    fn hydration_costs_a_fixed_number_of_statements() {
        let one = statements_for_details(1);
        assert_eq!(one, 4, "contact, identifiers, memories, entities");
        assert_eq!(statements_for_details(20), one);
    }
}
