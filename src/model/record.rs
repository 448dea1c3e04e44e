//! The hosted API's own memory shapes (contract §8): the standalone memory record, the
//! get-or-create answer, and the context an agent starts a conversation with.

use serde::{Deserialize, Serialize};

use super::json::JsonObject;
use super::memory::{Entity, HistoryEntry, Memory, Message, OpenItem};
use crate::timestamp::Timestamp;

/// One memory as the hosted memory calls return it (`GET /v1/memory/contact/{id}`):
/// the memory with its `org_id`, and `summary` null while there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct MemoryRecord {
    /// `mem-<uuid>`.
    pub id: String,
    /// The org it belongs to.
    pub org_id: String,
    /// The contact it belongs to.
    pub contact_id: String,
    /// The persona it is scoped to, if any.
    pub persona_id: Option<String>,
    /// The agent number it is scoped to or was first seen with.
    pub agent_number: Option<String>,
    /// The rolling summary; null while empty.
    pub summary: Option<String>,
    /// Key/value facts.
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub facts: JsonObject,
    /// The recent-message window, oldest first.
    pub recent_messages: Vec<Message>,
    /// Things still to do.
    pub open_items: Vec<OpenItem>,
    /// Entity-scoped facts (not in the hosted record; extra).
    pub entities: Vec<Entity>,
    /// What changed, oldest first.
    pub memory_history: Vec<HistoryEntry>,
    /// When the summary last changed.
    pub summary_updated_at: Option<Timestamp>,
    /// When the memory was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl MemoryRecord {
    /// The record of a memory of `org_id`.
    pub(crate) fn new(org_id: &str, m: Memory) -> MemoryRecord {
        MemoryRecord {
            id: m.id,
            org_id: org_id.to_owned(),
            contact_id: m.contact_id,
            persona_id: m.persona_id,
            agent_number: m.agent_number,
            summary: (!m.summary.is_empty()).then_some(m.summary),
            facts: m.facts,
            recent_messages: m.recent_messages,
            open_items: m.open_items,
            entities: m.entities,
            memory_history: m.memory_history,
            summary_updated_at: m.summary_updated_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The answer of `POST /v1/memory/contact`: the memory, and whether the call created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct OpenedMemory {
    /// The memory record.
    pub memory: MemoryRecord,
    /// True when this call created it, false when it existed.
    pub created: bool,
}

/// What an agent is given when a conversation starts (`GET /v1/memory/context`), with
/// the hosted API's names: camelCase for `recentMessages`, `contactFacts`, `openItems`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MemoryContext {
    /// The contact (as asked for).
    #[serde(rename = "contact_id")]
    pub contact_id: String,
    /// The recent-message window, oldest first.
    pub recent_messages: Vec<Message>,
    /// The rolling summary; null while there is none.
    pub summary: Option<String>,
    /// Key/value facts.
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub contact_facts: JsonObject,
    /// Entity-scoped facts, most recently discussed first.
    pub entities: Vec<Entity>,
    /// Things still to do.
    pub open_items: Vec<OpenItem>,
}

impl MemoryContext {
    /// The context of a memory, or an empty one.
    pub(crate) fn new(contact_id: &str, memory: Option<Memory>) -> MemoryContext {
        let memory = memory.map(|m| {
            (
                m.recent_messages,
                m.summary,
                m.facts,
                m.entities,
                m.open_items,
            )
        });
        let (recent_messages, summary, contact_facts, entities, open_items) =
            memory.unwrap_or_default();
        MemoryContext {
            contact_id: contact_id.to_owned(),
            recent_messages,
            summary: (!summary.is_empty()).then_some(summary),
            contact_facts,
            entities,
            open_items,
        }
    }
}
