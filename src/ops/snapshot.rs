//! What a merge keeps so that it can be undone (contract §10): the duplicate's whole
//! state, and the parts of the primary the merge changed, before and after. Written
//! by [`super::merge`], read by [`super::unmerge`]; stored as compact JSON in the merge
//! journal.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{ActivityKind, Contact, Identifier, Memory};
use crate::storage::Tx;

/// The state a merge destroyed or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MergeSnapshot {
    /// The duplicate's own fields.
    pub duplicate: Contact,
    /// The duplicate's identifiers, with their ids and primary flags.
    pub identifiers: Vec<Identifier>,
    /// The duplicate's memories, whole (entities and history included).
    pub memories: Vec<Memory>,
    /// Ids of the duplicate's calls.
    pub calls: Vec<String>,
    /// Ids of the duplicate's SMS conversations.
    pub sms_conversations: Vec<String>,
    /// Ids that redirected to the duplicate and were re-pointed at the primary.
    pub redirects: Vec<String>,
    /// The primary's fields before the merge.
    pub primary_before: ContactFields,
    /// The primary's fields after it.
    pub primary_after: ContactFields,
    /// Each scope both had: the primary's memory before and after the merge.
    pub combined: Vec<CombinedScope>,
}

/// The fields of a contact a merge may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ContactFields {
    pub name: Option<String>,
    pub metadata: crate::model::JsonObject,
    pub created_at: crate::timestamp::Timestamp,
}

impl ContactFields {
    pub(crate) fn of(contact: &Contact) -> ContactFields {
        ContactFields {
            name: contact.name.clone(),
            metadata: contact.metadata.clone(),
            created_at: contact.created_at,
        }
    }
}

/// A scope both contacts had: the primary's memory before the merge combined the
/// duplicate's into it, and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CombinedScope {
    pub before: Memory,
    pub after: Memory,
}

impl MergeSnapshot {
    /// Reads what the merge of `duplicate` into `primary` is about to change.
    pub(crate) fn before_merge(
        tx: &dyn Tx,
        primary: &Contact,
        duplicate: &Contact,
    ) -> Result<MergeSnapshot> {
        let org = duplicate.org_id.as_str();
        let ids_of = |kind| -> Result<Vec<String>> {
            Ok(tx
                .activities_of(org, &duplicate.id, kind)?
                .into_iter()
                .map(|a| a.id)
                .collect())
        };
        Ok(MergeSnapshot {
            duplicate: duplicate.clone(),
            identifiers: tx.identifiers_of(org, &duplicate.id)?,
            memories: tx.memories_of(org, &duplicate.id)?,
            calls: ids_of(ActivityKind::Call)?,
            sms_conversations: ids_of(ActivityKind::Sms)?,
            redirects: tx.ids_merged_into(org, &duplicate.id)?,
            primary_before: ContactFields::of(primary),
            primary_after: ContactFields::of(primary),
            combined: Vec::new(),
        })
    }

    /// One of the duplicate's memories as it was before the merge, with its entities.
    pub(crate) fn duplicate_memory(&self, memory_id: &str) -> Option<&Memory> {
        self.memories.iter().find(|m| m.id == memory_id)
    }

    /// The ids of the duplicate's records of one kind.
    pub(crate) fn activities(&self, kind: ActivityKind) -> &[String] {
        match kind {
            ActivityKind::Call => &self.calls,
            ActivityKind::Sms => &self.sms_conversations,
        }
    }

    /// The primary's memory of a scope before and after, if both contacts had it.
    pub(crate) fn combined_scope(&self, scope_key: &str) -> Option<&CombinedScope> {
        self.combined
            .iter()
            .find(|c| c.before.scope_key() == scope_key)
    }
}
