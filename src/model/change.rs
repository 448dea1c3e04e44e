//! The change log's events (contract §10): one per write, in commit order.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::timestamp::Timestamp;

/// What kind of write an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub enum ChangeKind {
    /// A contact was created (by resolve). `detail`: `name`, `metadata`,
    /// `identifiers_added`, and `memory_id` when a memory was created with it.
    #[serde(rename = "contact.created")]
    ContactCreated,
    /// A contact's name, metadata or identifiers changed (resolve filling in, update,
    /// patch). `detail`: what changed — `name`, `metadata` (the keys set; null for a
    /// removed key), `identifiers_added`, `identifiers_removed`, `primaries`.
    #[serde(rename = "contact.updated")]
    ContactUpdated,
    /// A memory was created or written. `detail`: `memory_id`, `persona_id`,
    /// `agent_number`, and `history`, the `memory_history` entries the write added.
    #[serde(rename = "memory.updated")]
    MemoryUpdated,
    /// A call was recorded. `detail`: `id`, `direction`, `started_at`.
    #[serde(rename = "call.recorded")]
    CallRecorded,
    /// An SMS conversation was recorded. `detail`: `id`, `direction`, `started_at`.
    #[serde(rename = "sms.recorded")]
    SmsRecorded,
    /// `related_id` was merged into `contact_id` and is gone. `detail`:
    /// `identifiers_added` (those that moved), `moved` (counts).
    #[serde(rename = "contact.merged")]
    ContactMerged,
    /// `related_id` was split out of `contact_id` again. `detail`:
    /// `identifiers_removed` (those that moved back to `related_id`). Followed by the
    /// restored contact's `contact.restored`.
    #[serde(rename = "contact.unmerged")]
    ContactUnmerged,
    /// `contact_id` came back from a merge into `related_id` (the other side of a
    /// `contact.unmerged`). `detail`: `name`, `metadata`, `identifiers_added`.
    #[serde(rename = "contact.restored")]
    ContactRestored,
    /// An import line created a contact. `detail`: `identifiers_added`, and counts of
    /// `memories`, `calls`, `sms_conversations`.
    #[serde(rename = "contact.imported")]
    ContactImported,
    /// The contact was erased, with every earlier event of it (and its identifiers
    /// were struck from other contacts' merge events). `detail`: `merged_ids`, the ids
    /// merged into it. A consumer deletes what it holds of them.
    #[serde(rename = "contact.erased")]
    ContactErased,
}

impl ChangeKind {
    /// The name stored and shown: `contact.created`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::ContactCreated => "contact.created",
            ChangeKind::ContactUpdated => "contact.updated",
            ChangeKind::MemoryUpdated => "memory.updated",
            ChangeKind::CallRecorded => "call.recorded",
            ChangeKind::SmsRecorded => "sms.recorded",
            ChangeKind::ContactMerged => "contact.merged",
            ChangeKind::ContactUnmerged => "contact.unmerged",
            ChangeKind::ContactRestored => "contact.restored",
            ChangeKind::ContactImported => "contact.imported",
            ChangeKind::ContactErased => "contact.erased",
        }
    }

    /// The kind a stored name names.
    pub(crate) fn parse(text: &str) -> Option<ChangeKind> {
        [
            ChangeKind::ContactCreated,
            ChangeKind::ContactUpdated,
            ChangeKind::MemoryUpdated,
            ChangeKind::CallRecorded,
            ChangeKind::SmsRecorded,
            ChangeKind::ContactMerged,
            ChangeKind::ContactUnmerged,
            ChangeKind::ContactRestored,
            ChangeKind::ContactImported,
            ChangeKind::ContactErased,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One event of the change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Change {
    /// Its place in the log: increasing, never reused.
    pub seq: u64,
    /// When the write committed (its transaction's time).
    pub at: Timestamp,
    /// The org.
    pub org_id: String,
    /// What kind of write.
    pub kind: ChangeKind,
    /// The contact written.
    pub contact_id: String,
    /// The other contact of a merge or unmerge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_id: Option<String>,
    /// What changed (see [`ChangeKind`]).
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub detail: Value,
}

/// One page of the change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct ChangePage {
    /// Oldest first.
    pub changes: Vec<Change>,
    /// Where to resume: the `seq` of the last event returned (or the `since` given,
    /// when there is none). Pass it as the next `since`.
    pub next: u64,
}

/// An identifier as an event names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct IdentifierKey<'a> {
    pub identifier_type: &'a str,
    pub identifier_value: &'a str,
}

/// An event to append.
#[derive(Debug, Clone)]
pub(crate) struct NewChange<'a> {
    pub org_id: &'a str,
    pub at: Timestamp,
    pub kind: ChangeKind,
    pub contact_id: &'a str,
    pub related_id: Option<&'a str>,
    /// Compact JSON.
    pub detail: String,
}
