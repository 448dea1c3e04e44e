//! The contact document of import and export (contract §6): a contact with
//! everything it owns, one JSON line each.
//!
//! Its JSON columns are [`StoredJson`], the text as stored: export writes them through
//! verbatim, import produces them once from validated values, and two documents are
//! equal when their text is — which is how an import line is seen to be already in
//! the store.

use serde::Serialize;

use super::activity::{ActivityKind, ActivityRow};
use super::contact::Identifier;
use super::json::StoredJson;
use super::memory::Scope;
use crate::timestamp::Timestamp;

/// One contact with everything it owns, as exported and imported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ContactDocument {
    pub id: String,
    pub org_id: String,
    pub name: Option<String>,
    pub metadata: StoredJson,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// By type, primary first.
    pub identifiers: Vec<Identifier>,
    /// By creation.
    pub memories: Vec<MemoryDocument>,
    /// Newest first.
    pub calls: Vec<ActivityRow>,
    /// Newest first.
    pub sms_conversations: Vec<ActivityRow>,
}

/// A memory of a [`ContactDocument`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MemoryDocument {
    pub id: String,
    pub contact_id: String,
    pub persona_id: Option<String>,
    pub agent_number: Option<String>,
    pub summary: String,
    pub facts: StoredJson,
    pub recent_messages: StoredJson,
    pub open_items: StoredJson,
    /// Most recently discussed first.
    pub entities: Vec<EntityDocument>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub summary_updated_at: Option<Timestamp>,
    pub memory_history: StoredJson,
}

/// An entity of a [`MemoryDocument`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EntityDocument {
    pub entity_type: String,
    pub entity_id: String,
    pub facts: StoredJson,
    pub status: Option<String>,
    pub last_discussed_at: Option<Timestamp>,
    pub notes: Option<String>,
}

impl MemoryDocument {
    /// The memory's scope.
    pub(crate) fn scope(&self) -> Scope {
        Scope {
            persona_id: self.persona_id.clone(),
            agent_number: self.agent_number.clone(),
        }
    }
}

impl ContactDocument {
    /// The activity records of one kind.
    pub(crate) fn activities(&self, kind: ActivityKind) -> &[ActivityRow] {
        match kind {
            ActivityKind::Call => &self.calls,
            ActivityKind::Sms => &self.sms_conversations,
        }
    }

    /// All activity records, calls first.
    pub(crate) fn all_activities(&self) -> impl Iterator<Item = &ActivityRow> {
        self.calls.iter().chain(&self.sms_conversations)
    }

    /// Moves the document to another contact id: everything it owns follows.
    pub(crate) fn set_contact_id(&mut self, id: &str) {
        for i in &mut self.identifiers {
            i.contact_id = id.to_owned();
        }
        for m in &mut self.memories {
            m.contact_id = id.to_owned();
        }
        for a in self.calls.iter_mut().chain(&mut self.sms_conversations) {
            a.contact_id = id.to_owned();
        }
        self.id = id.to_owned();
    }
}
