//! The data types, serialized in the hosted API's JSON shapes (contract §5).

mod activity;
mod change;
mod contact;
mod document;
mod json;
mod memory;
mod operating;
mod record;

pub use activity::{Call, Direction, NewCall, NewSmsConversation, SmsConversation};
pub use change::{Change, ChangeKind, ChangePage};
pub use contact::{
    Contact, ContactDetails, Identifier, IdentifierType, MigrationFinding, MoveCounts,
};
pub use json::JsonObject;
pub use memory::{
    Channel, Entity, EntityRef, EntityUpdate, HistoryEntry, HistoryKind, Memory, MemoryScope,
    Message, OpenItem, Priority, Role,
};
pub use operating::{BackupSummary, CheckOutcome, CheckReport, CheckWarning};
pub use record::{MemoryContext, MemoryRecord, OpenedMemory};

pub(crate) use activity::{ActivityKind, ActivityRow};
pub(crate) use change::{IdentifierKey, NewChange};
pub(crate) use contact::{new_id, new_prefixed_id};
pub(crate) use document::{ContactDocument, EntityDocument, MemoryDocument};
pub(crate) use json::{to_json, StoredJson};
pub(crate) use memory::Scope;
