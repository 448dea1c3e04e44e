//! The `memory` and `memory_entity` tables. Rows are read with `*` and mapped in the
//! tables' column order, typed ([`Memory`], [`Entity`]) or as stored for documents.

use rusqlite::Row;

use super::{json_column, stored_json, SqliteTx};
use crate::error::Result;
use crate::model::{to_json, Entity, EntityDocument, HistoryEntry, Memory, MemoryDocument, Scope};
use crate::storage::entities::{ByMemoryId, HasEntities};
use crate::storage::{MemoryRow, MemoryRows};
use crate::timestamp::Timestamp;

const MEMORY_EXISTS: &str =
    "SELECT 1 FROM memory WHERE org_id = ?1 AND contact_id = ?2 AND scope = ?3";
const MEMORY_ROW: &str = "SELECT id, summary, facts, recent_messages, open_items, \
     summary_updated_at, history FROM memory WHERE org_id = ?1 AND contact_id = ?2 AND scope = ?3";
const MEMORY_ROW_BY_ID: &str = "SELECT id, summary, facts, recent_messages, open_items, \
     summary_updated_at, history, contact_id FROM memory WHERE org_id = ?1 AND id = ?2";
const INSERT_MEMORY: &str = "INSERT INTO memory (org_id, id, contact_id, scope, persona_id, \
     agent_number, summary, facts, recent_messages, open_items, created_at, updated_at, \
     summary_updated_at, history) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
const UPDATE_MEMORY_ROW: &str = "UPDATE memory SET summary = ?3, facts = ?4, \
     recent_messages = ?5, open_items = ?6, updated_at = ?7, summary_updated_at = ?8, \
     history = ?9 WHERE org_id = ?1 AND id = ?2";
const SAVE_MEMORY: &str = "UPDATE memory SET agent_number = ?3, summary = ?4, facts = ?5, \
     recent_messages = ?6, open_items = ?7, created_at = ?8, updated_at = ?9, \
     summary_updated_at = ?10, history = ?11 WHERE org_id = ?1 AND id = ?2";
const DELETE_ENTITIES_OF_MEMORY: &str =
    "DELETE FROM memory_entity WHERE org_id = ?1 AND memory_id = ?2";
const MEMORIES_OF_CONTACT: &str =
    "SELECT * FROM memory WHERE org_id = ?1 AND contact_id = ?2 ORDER BY created_at, id";
const ENTITIES_OF_CONTACT: &str = "SELECT e.* \
     FROM memory m JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id \
     WHERE m.org_id = ?1 AND m.contact_id = ?2 \
     ORDER BY e.memory_id, e.last_discussed_at DESC NULLS LAST, e.entity_type, e.entity_id";
/// Export's walk of the memories (of an org, of every org), in contact order through
/// the (contact, scope) index.
pub(super) const MEMORIES_BY_CONTACT_IN_ORG: &str =
    "SELECT * FROM memory WHERE org_id = ?1 ORDER BY org_id, contact_id";
pub(super) const MEMORIES_BY_CONTACT_IN_ALL_ORGS: &str =
    "SELECT * FROM memory ORDER BY org_id, contact_id";
/// Export's walk of the entities, in the same contact order: each memory's entities
/// (by primary key), with the memory's contact last.
pub(super) const ENTITIES_BY_CONTACT_IN_ORG: &str = "SELECT e.*, m.contact_id \
     FROM memory m CROSS JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id \
     WHERE m.org_id = ?1 ORDER BY m.org_id, m.contact_id";
pub(super) const ENTITIES_BY_CONTACT_IN_ALL_ORGS: &str = "SELECT e.*, m.contact_id \
     FROM memory m CROSS JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id \
     ORDER BY m.org_id, m.contact_id";
const MEMORY_BY_ID: &str = "SELECT * FROM memory WHERE org_id = ?1 AND id = ?2";
/// Memories whose contact is gone, and entities whose memory is gone: what `check`
/// reports, and what the upgrade to schema 7 refuses to copy (the rows could not be put
/// back with the foreign keys on).
pub(super) const MEMORIES_WITHOUT_CONTACT: &str = "SELECT m.org_id, m.id FROM memory m \
     LEFT JOIN contact c ON c.org_id = m.org_id AND c.id = m.contact_id WHERE c.id IS NULL";
pub(super) const ENTITIES_WITHOUT_MEMORY: &str =
    "SELECT e.org_id, e.memory_id FROM memory_entity e \
     LEFT JOIN memory m ON m.org_id = e.org_id AND m.id = e.memory_id WHERE m.id IS NULL";
const ENTITIES_OF_MEMORY: &str = "SELECT * FROM memory_entity \
     WHERE org_id = ?1 AND memory_id = ?2 \
     ORDER BY last_discussed_at DESC NULLS LAST, entity_type, entity_id";
const SCOPES_OF_CONTACT: &str =
    "SELECT id, scope FROM memory WHERE org_id = ?1 AND contact_id = ?2";
const MOVE_MEMORY: &str = "UPDATE memory SET contact_id = ?3 WHERE org_id = ?1 AND id = ?2";
const DELETE_MEMORY: &str = "DELETE FROM memory WHERE org_id = ?1 AND id = ?2";
const DELETE_MEMORIES_OF_CONTACT: &str = "DELETE FROM memory WHERE org_id = ?1 AND contact_id = ?2";
const MEMORY_ID_TAKEN: &str = "SELECT 1 FROM memory WHERE org_id = ?1 AND id = ?2";
const ENTITY: &str = "SELECT * FROM memory_entity \
     WHERE org_id = ?1 AND memory_id = ?2 AND entity_type = ?3 AND entity_id = ?4";
const UPSERT_ENTITY: &str = "INSERT INTO memory_entity \
     (org_id, memory_id, entity_type, entity_id, facts, status, last_discussed_at, notes) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     ON CONFLICT (org_id, memory_id, entity_type, entity_id) DO UPDATE SET \
     facts = excluded.facts, status = excluded.status, \
     last_discussed_at = excluded.last_discussed_at, notes = excluded.notes";
const DELETE_ENTITIES_OF_CONTACT: &str =
    "DELETE FROM memory_entity WHERE org_id = ?1 AND memory_id IN \
     (SELECT id FROM memory WHERE org_id = ?1 AND contact_id = ?2)";

/// A memory without entities, from the table's columns: org_id, id, contact_id, scope,
/// persona_id, agent_number, summary, facts, recent_messages, open_items, created_at,
/// updated_at, summary_updated_at, history.
fn memory_from_row(row: &Row<'_>) -> rusqlite::Result<Memory> {
    Ok(Memory {
        id: row.get(1)?,
        contact_id: row.get(2)?,
        persona_id: row.get(4)?,
        agent_number: row.get(5)?,
        summary: row.get(6)?,
        facts: json_column(row, 7)?,
        recent_messages: json_column(row, 8)?,
        open_items: json_column(row, 9)?,
        entities: Vec::new(),
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
        summary_updated_at: row.get(12)?,
        memory_history: json_column(row, 13)?,
    })
}

/// The same columns as [`memory_from_row`], JSON as stored.
pub(super) fn memory_document_from_row(row: &Row<'_>) -> rusqlite::Result<MemoryDocument> {
    Ok(MemoryDocument {
        id: row.get(1)?,
        contact_id: row.get(2)?,
        persona_id: row.get(4)?,
        agent_number: row.get(5)?,
        summary: row.get(6)?,
        facts: stored_json(row, 7)?,
        recent_messages: stored_json(row, 8)?,
        open_items: stored_json(row, 9)?,
        entities: Vec::new(),
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
        summary_updated_at: row.get(12)?,
        memory_history: stored_json(row, 13)?,
    })
}

/// An entity from the table's columns: org_id, memory_id, entity_type, entity_id,
/// facts, status, last_discussed_at, notes.
fn entity_from_row(row: &Row<'_>) -> rusqlite::Result<Entity> {
    Ok(Entity {
        entity_type: row.get(2)?,
        entity_id: row.get(3)?,
        facts: json_column(row, 4)?,
        status: row.get(5)?,
        last_discussed_at: row.get(6)?,
        notes: row.get(7)?,
    })
}

pub(super) fn entity_document_from_row(row: &Row<'_>) -> rusqlite::Result<EntityDocument> {
    Ok(EntityDocument {
        entity_type: row.get(2)?,
        entity_id: row.get(3)?,
        facts: stored_json(row, 4)?,
        status: row.get(5)?,
        last_discussed_at: row.get(6)?,
        notes: row.get(7)?,
    })
}

/// A memory's written columns from [`MEMORY_ROW`]'s first seven.
fn memory_row_from_row(row: &Row<'_>) -> rusqlite::Result<MemoryRow> {
    Ok(MemoryRow {
        id: row.get(0)?,
        summary: row.get(1)?,
        facts: json_column(row, 2)?,
        recent_messages: json_column(row, 3)?,
        open_items: json_column(row, 4)?,
        summary_updated_at: row.get(5)?,
        history: json_column(row, 6)?,
    })
}

impl SqliteTx<'_> {
    /// The contact's memories with their entities, mapped by `memory` and `entity`:
    /// two statements however many memories there are.
    fn memories_with_entities<M: HasEntities>(
        &self,
        org: &str,
        contact_id: &str,
        memory: fn(&Row<'_>) -> rusqlite::Result<M>,
        entity: fn(&Row<'_>) -> rusqlite::Result<M::Entity>,
    ) -> Result<Vec<M>> {
        let mut memories = self.query_all(MEMORIES_OF_CONTACT, (org, contact_id), memory)?;
        if memories.is_empty() {
            return Ok(memories);
        }
        let by_id = ByMemoryId::of(&memories);
        let mut stmt = self.conn.prepare_cached(ENTITIES_OF_CONTACT)?;
        let mut rows = stmt.query((org, contact_id))?;
        while let Some(row) = rows.next()? {
            let memory_id = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            by_id.attach(&mut memories, memory_id, entity(row)?);
        }
        Ok(memories)
    }

    /// The contact's memories as stored, for its document.
    pub(super) fn memory_documents_of(
        &self,
        org: &str,
        contact_id: &str,
    ) -> Result<Vec<MemoryDocument>> {
        self.memories_with_entities(
            org,
            contact_id,
            memory_document_from_row,
            entity_document_from_row,
        )
    }

    /// Inserts a memory of a document with its entities.
    pub(super) fn insert_memory_document(&self, org: &str, m: &MemoryDocument) -> Result<()> {
        self.execute(
            INSERT_MEMORY,
            rusqlite::params![
                org,
                m.id,
                m.contact_id,
                m.scope().key(),
                m.persona_id,
                m.agent_number,
                m.summary,
                m.facts.as_str(),
                m.recent_messages.as_str(),
                m.open_items.as_str(),
                m.created_at,
                m.updated_at,
                m.summary_updated_at,
                m.memory_history.as_str(),
            ],
        )?;
        for e in &m.entities {
            self.execute(
                UPSERT_ENTITY,
                rusqlite::params![
                    org,
                    m.id,
                    e.entity_type,
                    e.entity_id,
                    e.facts.as_str(),
                    e.status,
                    e.last_discussed_at,
                    e.notes,
                ],
            )?;
        }
        Ok(())
    }

    /// Deletes every memory of a contact and their entities; returns (memories,
    /// entities).
    pub(super) fn delete_memories_of(&self, org: &str, contact_id: &str) -> Result<(u64, u64)> {
        let entities = self.execute(DELETE_ENTITIES_OF_CONTACT, (org, contact_id))?;
        let memories = self.execute(DELETE_MEMORIES_OF_CONTACT, (org, contact_id))?;
        Ok((memories, entities))
    }
}

impl MemoryRows for SqliteTx<'_> {
    fn memory_exists(&self, org: &str, contact_id: &str, scope: &Scope) -> Result<bool> {
        self.exists(MEMORY_EXISTS, (org, contact_id, scope.key()))
    }

    fn memory_row(&self, org: &str, contact_id: &str, scope: &Scope) -> Result<Option<MemoryRow>> {
        self.query_one(
            MEMORY_ROW,
            (org, contact_id, scope.key()),
            memory_row_from_row,
        )
    }

    fn memory_row_by_id(&self, org: &str, memory_id: &str) -> Result<Option<(MemoryRow, String)>> {
        self.query_one(MEMORY_ROW_BY_ID, (org, memory_id), |row| {
            Ok((memory_row_from_row(row)?, row.get(7)?))
        })
    }

    fn insert_empty_memory(
        &self,
        org: &str,
        id: &str,
        contact_id: &str,
        scope: &Scope,
        now: Timestamp,
        history: &[HistoryEntry],
    ) -> Result<()> {
        self.execute(
            INSERT_MEMORY,
            rusqlite::params![
                org,
                id,
                contact_id,
                scope.key(),
                scope.persona_id,
                scope.agent_number,
                "",
                "{}",
                "[]",
                "[]",
                now,
                now,
                None::<Timestamp>,
                to_json(history),
            ],
        )?;
        Ok(())
    }

    fn update_memory(&self, org: &str, row: &MemoryRow, now: Timestamp) -> Result<()> {
        self.execute(
            UPDATE_MEMORY_ROW,
            (
                org,
                &row.id,
                &row.summary,
                to_json(&row.facts),
                to_json(&row.recent_messages),
                to_json(&row.open_items),
                now,
                row.summary_updated_at,
                to_json(&row.history),
            ),
        )?;
        Ok(())
    }

    fn save_memory(&self, org: &str, m: &Memory) -> Result<()> {
        self.execute(
            SAVE_MEMORY,
            rusqlite::params![
                org,
                m.id,
                m.agent_number,
                m.summary,
                to_json(&m.facts),
                to_json(&m.recent_messages),
                to_json(&m.open_items),
                m.created_at,
                m.updated_at,
                m.summary_updated_at,
                to_json(&m.memory_history),
            ],
        )?;
        Ok(())
    }

    fn insert_memory(&self, org: &str, m: &Memory) -> Result<()> {
        self.execute(
            INSERT_MEMORY,
            rusqlite::params![
                org,
                m.id,
                m.contact_id,
                m.scope_key(),
                m.persona_id,
                m.agent_number,
                m.summary,
                to_json(&m.facts),
                to_json(&m.recent_messages),
                to_json(&m.open_items),
                m.created_at,
                m.updated_at,
                m.summary_updated_at,
                to_json(&m.memory_history),
            ],
        )?;
        for e in &m.entities {
            self.save_entity(org, &m.id, e)?;
        }
        Ok(())
    }

    fn delete_entities_of_memory(&self, org: &str, memory_id: &str) -> Result<u64> {
        self.execute(DELETE_ENTITIES_OF_MEMORY, (org, memory_id))
    }

    fn memories_of(&self, org: &str, contact_id: &str) -> Result<Vec<Memory>> {
        self.memories_with_entities(org, contact_id, memory_from_row, entity_from_row)
    }

    fn memory(&self, org: &str, memory_id: &str) -> Result<Option<Memory>> {
        let Some(mut memory) = self.query_one(MEMORY_BY_ID, (org, memory_id), memory_from_row)?
        else {
            return Ok(None);
        };
        memory.entities = self.query_all(ENTITIES_OF_MEMORY, (org, memory_id), entity_from_row)?;
        Ok(Some(memory))
    }

    fn memory_scopes_of(&self, org: &str, contact_id: &str) -> Result<Vec<(String, String)>> {
        self.query_all(SCOPES_OF_CONTACT, (org, contact_id), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
    }

    fn move_memory(&self, org: &str, memory_id: &str, to_contact: &str) -> Result<()> {
        self.execute(MOVE_MEMORY, (org, memory_id, to_contact))?;
        Ok(())
    }

    fn delete_memory(&self, org: &str, memory_id: &str) -> Result<()> {
        self.execute(DELETE_MEMORY, (org, memory_id))?;
        Ok(())
    }

    fn memory_id_taken(&self, org: &str, memory_id: &str) -> Result<bool> {
        self.exists(MEMORY_ID_TAKEN, (org, memory_id))
    }

    fn entity(
        &self,
        org: &str,
        memory_id: &str,
        entity_type: &str,
        entity_id: &str,
    ) -> Result<Option<Entity>> {
        self.query_one(
            ENTITY,
            (org, memory_id, entity_type, entity_id),
            entity_from_row,
        )
    }

    fn save_entity(&self, org: &str, memory_id: &str, e: &Entity) -> Result<()> {
        self.execute(
            UPSERT_ENTITY,
            rusqlite::params![
                org,
                memory_id,
                e.entity_type,
                e.entity_id,
                to_json(&e.facts),
                e.status,
                e.last_discussed_at,
                e.notes,
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use rusqlite::Connection;

    use super::*;
    use crate::storage::ContactRows;

    fn statements_for_memories(memories: usize) -> usize {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn, crate::settings::PhoneRegion::default()).unwrap();
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
        let tx = SqliteTx::new(&conn, true);
        assert!(tx.contact("o", "c").unwrap().is_some());
        let found = tx.memories_of("o", "c").unwrap();
        assert_eq!(found.len(), memories);
        assert!(found.iter().all(|m| m.entities.len() == 3));
        count.load(Ordering::SeqCst)
    }

    #[test]
    fn hydration_costs_a_fixed_number_of_statements() {
        let one = statements_for_memories(1);
        assert_eq!(one, 3, "contact, memories, entities");
        assert_eq!(statements_for_memories(20), one);
    }
}
