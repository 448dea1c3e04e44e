//! The `memory` and `memory_entity` tables. Rows are read with `*` and mapped in the
//! tables' column order, typed ([`Memory`], [`Entity`]) or as stored for documents.

use postgres::Row;

use super::{json_column, stored_json, Json, PgTx};
use crate::error::Result;
use crate::model::{to_json, Entity, EntityDocument, HistoryEntry, Memory, MemoryDocument, Scope};
use crate::storage::entities::{ByMemoryId, HasEntities};
use crate::storage::{MemoryRow, MemoryRows};
use crate::timestamp::Timestamp;

const MEMORY_EXISTS: &str =
    "SELECT 1 FROM memory WHERE org_id = $1 AND contact_id = $2 AND scope = $3";
const MEMORY_ROW: &str = "SELECT id, summary, facts, recent_messages, open_items, \
     summary_updated_at, history FROM memory WHERE org_id = $1 AND contact_id = $2 AND scope = $3";
const MEMORY_ROW_BY_ID: &str = "SELECT id, summary, facts, recent_messages, open_items, \
     summary_updated_at, history, contact_id FROM memory WHERE org_id = $1 AND id = $2";
const INSERT_MEMORY: &str = "INSERT INTO memory (org_id, id, contact_id, scope, persona_id, \
     agent_number, summary, facts, recent_messages, open_items, created_at, updated_at, \
     summary_updated_at, history) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const UPDATE_MEMORY_ROW: &str = "UPDATE memory SET summary = $3, facts = $4, \
     recent_messages = $5, open_items = $6, updated_at = $7, summary_updated_at = $8, \
     history = $9 WHERE org_id = $1 AND id = $2";
const SAVE_MEMORY: &str = "UPDATE memory SET agent_number = $3, summary = $4, facts = $5, \
     recent_messages = $6, open_items = $7, created_at = $8, updated_at = $9, \
     summary_updated_at = $10, history = $11 WHERE org_id = $1 AND id = $2";
const DELETE_ENTITIES_OF_MEMORY: &str =
    "DELETE FROM memory_entity WHERE org_id = $1 AND memory_id = $2";
const MEMORIES_OF_CONTACT: &str =
    "SELECT * FROM memory WHERE org_id = $1 AND contact_id = $2 ORDER BY created_at, id";
const ENTITIES_OF_CONTACT: &str = "SELECT e.* \
     FROM memory m JOIN memory_entity e ON e.org_id = m.org_id AND e.memory_id = m.id \
     WHERE m.org_id = $1 AND m.contact_id = $2 \
     ORDER BY e.memory_id, e.last_discussed_at DESC NULLS LAST, e.entity_type, e.entity_id";
const MEMORY_BY_ID: &str = "SELECT * FROM memory WHERE org_id = $1 AND id = $2";
const ENTITIES_OF_MEMORY: &str = "SELECT * FROM memory_entity \
     WHERE org_id = $1 AND memory_id = $2 \
     ORDER BY last_discussed_at DESC NULLS LAST, entity_type, entity_id";
const SCOPES_OF_CONTACT: &str =
    "SELECT id, scope FROM memory WHERE org_id = $1 AND contact_id = $2";
const MOVE_MEMORY: &str = "UPDATE memory SET contact_id = $3 WHERE org_id = $1 AND id = $2";
const DELETE_MEMORY: &str = "DELETE FROM memory WHERE org_id = $1 AND id = $2";
const DELETE_MEMORIES_OF_CONTACT: &str = "DELETE FROM memory WHERE org_id = $1 AND contact_id = $2";
const MEMORY_ID_TAKEN: &str = "SELECT 1 FROM memory WHERE org_id = $1 AND id = $2";
const ENTITY: &str = "SELECT * FROM memory_entity \
     WHERE org_id = $1 AND memory_id = $2 AND entity_type = $3 AND entity_id = $4";
const UPSERT_ENTITY: &str = "INSERT INTO memory_entity \
     (org_id, memory_id, entity_type, entity_id, facts, status, last_discussed_at, notes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (org_id, memory_id, entity_type, entity_id) DO UPDATE SET \
     facts = excluded.facts, status = excluded.status, \
     last_discussed_at = excluded.last_discussed_at, notes = excluded.notes";
const DELETE_ENTITIES_OF_CONTACT: &str =
    "DELETE FROM memory_entity WHERE org_id = $1 AND memory_id IN \
     (SELECT id FROM memory WHERE org_id = $1 AND contact_id = $2)";

/// A memory without entities, from the table's columns: org_id, id, contact_id, scope,
/// persona_id, agent_number, summary, facts, recent_messages, open_items, created_at,
/// updated_at, summary_updated_at, history.
fn memory_from_row(row: &Row) -> Result<Memory> {
    Ok(Memory {
        id: row.try_get(1)?,
        contact_id: row.try_get(2)?,
        persona_id: row.try_get(4)?,
        agent_number: row.try_get(5)?,
        summary: row.try_get(6)?,
        facts: json_column(row, 7)?,
        recent_messages: json_column(row, 8)?,
        open_items: json_column(row, 9)?,
        entities: Vec::new(),
        created_at: row.try_get(10)?,
        updated_at: row.try_get(11)?,
        summary_updated_at: row.try_get(12)?,
        memory_history: json_column(row, 13)?,
    })
}

/// The same columns as [`memory_from_row`], JSON as stored.
fn memory_document_from_row(row: &Row) -> Result<MemoryDocument> {
    Ok(MemoryDocument {
        id: row.try_get(1)?,
        contact_id: row.try_get(2)?,
        persona_id: row.try_get(4)?,
        agent_number: row.try_get(5)?,
        summary: row.try_get(6)?,
        facts: stored_json(row, 7)?,
        recent_messages: stored_json(row, 8)?,
        open_items: stored_json(row, 9)?,
        entities: Vec::new(),
        created_at: row.try_get(10)?,
        updated_at: row.try_get(11)?,
        summary_updated_at: row.try_get(12)?,
        memory_history: stored_json(row, 13)?,
    })
}

/// An entity from the table's columns: org_id, memory_id, entity_type, entity_id,
/// facts, status, last_discussed_at, notes.
fn entity_from_row(row: &Row) -> Result<Entity> {
    Ok(Entity {
        entity_type: row.try_get(2)?,
        entity_id: row.try_get(3)?,
        facts: json_column(row, 4)?,
        status: row.try_get(5)?,
        last_discussed_at: row.try_get(6)?,
        notes: row.try_get(7)?,
    })
}

fn entity_document_from_row(row: &Row) -> Result<EntityDocument> {
    Ok(EntityDocument {
        entity_type: row.try_get(2)?,
        entity_id: row.try_get(3)?,
        facts: stored_json(row, 4)?,
        status: row.try_get(5)?,
        last_discussed_at: row.try_get(6)?,
        notes: row.try_get(7)?,
    })
}

/// A memory's written columns from [`MEMORY_ROW`]'s first seven.
fn memory_row_from_row(row: &Row) -> Result<MemoryRow> {
    Ok(MemoryRow {
        id: row.try_get(0)?,
        summary: row.try_get(1)?,
        facts: json_column(row, 2)?,
        recent_messages: json_column(row, 3)?,
        open_items: json_column(row, 4)?,
        summary_updated_at: row.try_get(5)?,
        history: json_column(row, 6)?,
    })
}

impl PgTx<'_> {
    /// The contact's memories with their entities, mapped by `memory` and `entity`:
    /// two statements however many memories there are.
    fn memories_with_entities<M: HasEntities>(
        &self,
        org: &str,
        contact_id: &str,
        memory: fn(&Row) -> Result<M>,
        entity: fn(&Row) -> Result<M::Entity>,
    ) -> Result<Vec<M>> {
        let mut memories = self.query_all(MEMORIES_OF_CONTACT, &[&org, &contact_id], memory)?;
        if memories.is_empty() {
            return Ok(memories);
        }
        let by_id = ByMemoryId::of(&memories);
        for row in self.rows(ENTITIES_OF_CONTACT, &[&org, &contact_id])? {
            let memory_id: &str = row.try_get(1)?;
            by_id.attach(&mut memories, memory_id, entity(&row)?);
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
            &[
                &org,
                &m.id,
                &m.contact_id,
                &m.scope().key(),
                &m.persona_id,
                &m.agent_number,
                &m.summary,
                &Json(m.facts.as_str()),
                &Json(m.recent_messages.as_str()),
                &Json(m.open_items.as_str()),
                &m.created_at,
                &m.updated_at,
                &m.summary_updated_at,
                &Json(m.memory_history.as_str()),
            ],
        )?;
        for e in &m.entities {
            self.execute(
                UPSERT_ENTITY,
                &[
                    &org,
                    &m.id,
                    &e.entity_type,
                    &e.entity_id,
                    &Json(e.facts.as_str()),
                    &e.status,
                    &e.last_discussed_at,
                    &e.notes,
                ],
            )?;
        }
        Ok(())
    }

    /// Deletes every memory of a contact and their entities; returns (memories,
    /// entities).
    pub(super) fn delete_memories_of(&self, org: &str, contact_id: &str) -> Result<(u64, u64)> {
        let entities = self.execute(DELETE_ENTITIES_OF_CONTACT, &[&org, &contact_id])?;
        let memories = self.execute(DELETE_MEMORIES_OF_CONTACT, &[&org, &contact_id])?;
        Ok((memories, entities))
    }

    /// Inserts a whole memory row (typed).
    fn insert_memory_row(&self, org: &str, m: &Memory) -> Result<()> {
        let facts = to_json(&m.facts);
        let messages = to_json(&m.recent_messages);
        let items = to_json(&m.open_items);
        let history = to_json(&m.memory_history);
        self.execute(
            INSERT_MEMORY,
            &[
                &org,
                &m.id,
                &m.contact_id,
                &m.scope_key(),
                &m.persona_id,
                &m.agent_number,
                &m.summary,
                &Json(&facts),
                &Json(&messages),
                &Json(&items),
                &m.created_at,
                &m.updated_at,
                &m.summary_updated_at,
                &Json(&history),
            ],
        )?;
        Ok(())
    }
}

impl MemoryRows for PgTx<'_> {
    fn memory_exists(&self, org: &str, contact_id: &str, scope: &Scope) -> Result<bool> {
        self.exists(MEMORY_EXISTS, &[&org, &contact_id, &scope.key()])
    }

    fn memory_row(&self, org: &str, contact_id: &str, scope: &Scope) -> Result<Option<MemoryRow>> {
        self.query_one(
            MEMORY_ROW,
            &[&org, &contact_id, &scope.key()],
            memory_row_from_row,
        )
    }

    fn memory_row_by_id(&self, org: &str, memory_id: &str) -> Result<Option<(MemoryRow, String)>> {
        self.query_one(MEMORY_ROW_BY_ID, &[&org, &memory_id], |row| {
            Ok((memory_row_from_row(row)?, row.try_get(7)?))
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
        let history = to_json(history);
        self.execute(
            INSERT_MEMORY,
            &[
                &org,
                &id,
                &contact_id,
                &scope.key(),
                &scope.persona_id,
                &scope.agent_number,
                &"",
                &Json("{}"),
                &Json("[]"),
                &Json("[]"),
                &now,
                &now,
                &None::<Timestamp>,
                &Json(&history),
            ],
        )?;
        Ok(())
    }

    fn update_memory(&self, org: &str, row: &MemoryRow, now: Timestamp) -> Result<()> {
        let facts = to_json(&row.facts);
        let messages = to_json(&row.recent_messages);
        let items = to_json(&row.open_items);
        let history = to_json(&row.history);
        self.execute(
            UPDATE_MEMORY_ROW,
            &[
                &org,
                &row.id,
                &row.summary,
                &Json(&facts),
                &Json(&messages),
                &Json(&items),
                &now,
                &row.summary_updated_at,
                &Json(&history),
            ],
        )?;
        Ok(())
    }

    fn save_memory(&self, org: &str, m: &Memory) -> Result<()> {
        let facts = to_json(&m.facts);
        let messages = to_json(&m.recent_messages);
        let items = to_json(&m.open_items);
        let history = to_json(&m.memory_history);
        self.execute(
            SAVE_MEMORY,
            &[
                &org,
                &m.id,
                &m.agent_number,
                &m.summary,
                &Json(&facts),
                &Json(&messages),
                &Json(&items),
                &m.created_at,
                &m.updated_at,
                &m.summary_updated_at,
                &Json(&history),
            ],
        )?;
        Ok(())
    }

    fn insert_memory(&self, org: &str, m: &Memory) -> Result<()> {
        self.insert_memory_row(org, m)?;
        for e in &m.entities {
            self.save_entity(org, &m.id, e)?;
        }
        Ok(())
    }

    fn delete_entities_of_memory(&self, org: &str, memory_id: &str) -> Result<u64> {
        self.execute(DELETE_ENTITIES_OF_MEMORY, &[&org, &memory_id])
    }

    fn memories_of(&self, org: &str, contact_id: &str) -> Result<Vec<Memory>> {
        self.memories_with_entities(org, contact_id, memory_from_row, entity_from_row)
    }

    fn memory(&self, org: &str, memory_id: &str) -> Result<Option<Memory>> {
        let Some(mut memory) =
            self.query_one(MEMORY_BY_ID, &[&org, &memory_id], memory_from_row)?
        else {
            return Ok(None);
        };
        memory.entities =
            self.query_all(ENTITIES_OF_MEMORY, &[&org, &memory_id], entity_from_row)?;
        Ok(Some(memory))
    }

    fn memory_scopes_of(&self, org: &str, contact_id: &str) -> Result<Vec<(String, String)>> {
        self.query_all(SCOPES_OF_CONTACT, &[&org, &contact_id], |r| {
            Ok((r.try_get(0)?, r.try_get(1)?))
        })
    }

    fn move_memory(&self, org: &str, memory_id: &str, to_contact: &str) -> Result<()> {
        self.execute(MOVE_MEMORY, &[&org, &memory_id, &to_contact])?;
        Ok(())
    }

    fn delete_memory(&self, org: &str, memory_id: &str) -> Result<()> {
        self.execute(DELETE_MEMORY, &[&org, &memory_id])?;
        Ok(())
    }

    fn memory_id_taken(&self, org: &str, memory_id: &str) -> Result<bool> {
        self.exists(MEMORY_ID_TAKEN, &[&org, &memory_id])
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
            &[&org, &memory_id, &entity_type, &entity_id],
            entity_from_row,
        )
    }

    fn save_entity(&self, org: &str, memory_id: &str, e: &Entity) -> Result<()> {
        let facts = to_json(&e.facts);
        self.execute(
            UPSERT_ENTITY,
            &[
                &org,
                &memory_id,
                &e.entity_type,
                &e.entity_id,
                &Json(&facts),
                &e.status,
                &e.last_discussed_at,
                &e.notes,
            ],
        )?;
        Ok(())
    }
}
