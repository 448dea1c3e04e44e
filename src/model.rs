//! The data types, serialized in the hosted API's JSON shapes (contract §5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::normalize::IdentifierType;
use crate::timestamp::Timestamp;

/// A JSON object: contact metadata, memory facts, entity facts.
pub type JsonObject = Map<String, Value>;

/// A contact without its related rows, as resolve and merge return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Lowercase hyphenated UUID.
    pub id: String,
    /// The org the contact belongs to.
    pub org_id: String,
    /// The contact's name, if known.
    pub name: Option<String>,
    /// Free-form metadata; `{}` when empty.
    pub metadata: JsonObject,
    /// When the contact was created.
    pub created_at: Timestamp,
    /// When the contact last changed.
    pub updated_at: Timestamp,
}

/// A contact with its identifiers and memories, as find and get return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactDetails {
    /// The contact's own fields.
    #[serde(flatten)]
    pub contact: Contact,
    /// Phone numbers, emails and external ids, by type, primary first.
    pub identifiers: Vec<Identifier>,
    /// One memory per persona or agent, oldest first.
    pub memories: Vec<Memory>,
}

/// One normalized identifier of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    /// `ident-<uuid>`.
    pub id: String,
    /// The contact it belongs to.
    pub contact_id: String,
    /// phone_number, email or external_id.
    pub identifier_type: IdentifierType,
    /// The normalized value (E.164, lowercased email, trimmed external id).
    pub identifier_value: String,
    /// Whether this is the contact's primary identifier of its type.
    pub is_primary: bool,
}

/// What a contact's memory is scoped to: a persona, or else an agent's phone number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `persona_id`.
    Persona(String),
    /// `agent_number`, in E.164.
    Agent(String),
}

impl Scope {
    /// The key stored in the `memory.scope` column.
    pub(crate) fn key(&self) -> String {
        match self {
            Scope::Persona(p) => format!("persona:{p}"),
            Scope::Agent(a) => format!("agent:{a}"),
        }
    }
}

/// A contact's memory for one persona or agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// `mem-<uuid>`.
    pub id: String,
    /// The contact it belongs to.
    pub contact_id: String,
    /// The persona the memory is scoped to, if any.
    pub persona_id: Option<String>,
    /// The agent number (E.164) the memory is scoped to or was first seen with.
    pub agent_number: Option<String>,
    /// A running summary of the relationship.
    pub summary: String,
    /// Facts about the contact.
    pub facts: JsonObject,
    /// The newest messages, oldest first.
    pub recent_messages: Vec<Message>,
    /// Things still to do, oldest first.
    pub open_items: Vec<OpenItem>,
    /// Entity-scoped facts (orders, bookings), most recently discussed first.
    pub entities: Vec<Entity>,
    /// When the memory was created.
    pub created_at: Timestamp,
    /// When the memory last changed.
    pub updated_at: Timestamp,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The contact.
    User,
    /// The agent.
    Assistant,
    /// A system note.
    System,
}

/// Where a message was exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call.
    Voice,
    /// A text message.
    Sms,
    /// Email.
    Email,
    /// A web or app chat.
    Chat,
}

/// One message of a memory's recent history.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What was said.
    pub content: String,
    /// Where.
    pub channel: Channel,
    /// When.
    pub timestamp: Timestamp,
}

/// How urgent an open item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// A reference from an open item to an entity of the same memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntityRef {
    /// For example `order`.
    pub entity_type: String,
    /// For example `order-8821`.
    pub entity_id: String,
}

/// Something still to do for a contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpenItem {
    /// For example `follow_up`.
    #[serde(rename = "type")]
    pub item_type: String,
    /// What to do.
    pub description: String,
    /// When it was opened.
    pub created_at: Timestamp,
    /// How urgent it is.
    pub priority: Priority,
    /// The entity it concerns, if any.
    pub related_to: Option<EntityRef>,
}

/// Facts about one entity (an order, a booking) within a memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// For example `order`.
    pub entity_type: String,
    /// For example `order-8821`.
    pub entity_id: String,
    /// Facts about it.
    pub facts: JsonObject,
    /// Its status, if known.
    pub status: Option<String>,
    /// When it was last discussed.
    pub last_discussed_at: Option<Timestamp>,
    /// Free-form notes.
    pub notes: Option<String>,
}

/// An identifier of the request that belongs to a contact other than the one resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Which of the request's identifiers.
    pub identifier_type: IdentifierType,
    /// The contact that owns it (it stays there: resolve never moves identifiers).
    pub contact_id: String,
}

/// The result of resolve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    /// The contact found or created.
    pub contact: Contact,
    /// Whether it was created by this call.
    pub created: bool,
    /// Identifiers of the request owned by other contacts; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}
