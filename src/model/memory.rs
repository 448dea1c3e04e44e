//! A contact's memory per persona or agent (contract §1), and what is written to it.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::json::JsonObject;
use crate::error::{Error, Result};
use crate::limits;
use crate::timestamp::Timestamp;

/// A contact's memory for one persona or agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
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
    /// When the summary last changed (null until it is first written).
    pub summary_updated_at: Option<Timestamp>,
    /// What changed, oldest first, at most
    /// [`MAX_MEMORY_HISTORY`](crate::limits::MAX_MEMORY_HISTORY) entries (the oldest are
    /// dropped).
    pub memory_history: Vec<HistoryEntry>,
}

impl Memory {
    /// The key of its scope, as the `memory.scope` column holds it.
    pub(crate) fn scope_key(&self) -> String {
        Scope {
            persona_id: self.persona_id.clone(),
            agent_number: self.agent_number.clone(),
        }
        .key()
    }
}

/// One change of a memory, as `memory_history` lists it: the hosted API's
/// `{"timestamp", "type", "value"}`, and for summaries and facts the value before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// When it changed.
    pub timestamp: Timestamp,
    /// What changed.
    #[serde(rename = "type")]
    pub kind: HistoryKind,
    /// The new value: the summary, the facts set (a removed key as null), how many
    /// messages were added, which open item or entity; null where there is none.
    #[serde(default)]
    pub value: serde_json::Value,
    /// For a summary or facts change, the value before (the old summary; the changed
    /// keys' old values, null where a key was absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<serde_json::Value>,
}

/// The kinds of change `memory_history` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// The memory was created.
    Created,
    /// The summary was replaced.
    SummaryUpdate,
    /// Facts were set or removed.
    FactsUpdate,
    /// Messages were added.
    MessagesAdded,
    /// An open item was added.
    OpenItemAdded,
    /// Open items were closed.
    OpenItemsClosed,
    /// An entity was created or changed.
    EntityUpdate,
    /// Another contact's memory of the same scope was merged in.
    MergedIn,
    /// The memory was reset: everything it held was wiped.
    Reset,
}

/// Implements `FromStr` for a model enum from its JSON names, with a field-naming error.
macro_rules! parse_enum {
    ($ty:ty, $field:literal, $reason:literal, { $($name:literal => $variant:expr),+ $(,)? }) => {
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($name => Ok($variant),)+
                    _ => Err(Error::invalid($field, $reason)),
                }
            }
        }
    };
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The contact.
    User,
    /// The agent.
    Assistant,
    /// A system note.
    System,
}

parse_enum!(Role, "role", "must be user, assistant or system", {
    "user" => Role::User, "assistant" => Role::Assistant, "system" => Role::System,
});

/// Where a message was exchanged.
///
/// A closed set, kept verbatim: it holds every value the hosted API writes (`call`,
/// `sms`) beside contactstore's own (`voice` — the name it used for calls before it
/// spoke the hosted API's data — `email`, `chat`). `call` and `voice` stay distinct, so
/// hosted data exported and imported again keeps its bytes, and rows written with
/// `voice` read back as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call (contactstore's own name).
    Voice,
    /// A phone call (the hosted API's name).
    Call,
    /// A text message.
    Sms,
    /// Email.
    Email,
    /// A web or app chat.
    Chat,
}

parse_enum!(Channel, "channel", "must be call, voice, sms, email or chat", {
    "voice" => Channel::Voice, "call" => Channel::Call, "sms" => Channel::Sms,
    "email" => Channel::Email, "chat" => Channel::Chat,
});

/// How urgent an open item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
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

parse_enum!(Priority, "priority", "must be low, medium, high or urgent", {
    "low" => Priority::Low, "medium" => Priority::Medium, "high" => Priority::High, "urgent" => Priority::Urgent,
});

/// One message of a memory's recent history.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
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

impl Message {
    /// A message from loosely typed parts (a command line, an import line), with
    /// field-naming errors; `timestamp` is now when absent.
    ///
    /// ```
    /// use contactstore::{Channel, Message};
    /// let m = Message::from_parts("user", "Has my order shipped?", "sms", Some("2025-07-23T09:10:00Z"))?;
    /// assert_eq!(m.channel, Channel::Sms);
    /// assert!(Message::from_parts("robot", "hi", "sms", None).is_err());
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`] for an unknown role or channel, a bad timestamp, or
    /// content over [`limits::MAX_TEXT_CHARS`].
    pub fn from_parts(
        role: &str,
        content: &str,
        channel: &str,
        timestamp: Option<&str>,
    ) -> Result<Message> {
        let message = Message {
            role: role.parse()?,
            content: content.to_owned(),
            channel: channel.parse()?,
            timestamp: match timestamp {
                Some(t) => Timestamp::parse_field(t, "timestamp")?,
                None => Timestamp::now(),
            },
        };
        message.check()?;
        Ok(message)
    }

    /// Checks the content's size.
    pub(crate) fn check(&self) -> Result<()> {
        limits::text(&self.content, "content")
    }
}

/// A reference from an open item to an entity of the same memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct EntityRef {
    /// For example `order`.
    pub entity_type: String,
    /// For example `order-8821`.
    pub entity_id: String,
}

/// Something still to do for a contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
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

impl OpenItem {
    /// The item with its keys checked and trimmed.
    pub(crate) fn checked(&self) -> Result<OpenItem> {
        limits::text(&self.description, "description")?;
        let mut item = self.clone();
        item.item_type = limits::short_key(&item.item_type, "type")?;
        if let Some(r) = &item.related_to {
            item.related_to = Some(EntityRef {
                entity_type: limits::short_key(&r.entity_type, "entity_type")?,
                entity_id: limits::short_key(&r.entity_id, "entity_id")?,
            });
        }
        Ok(item)
    }
}

/// Facts about one entity (an order, a booking) within a memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Entity {
    /// For example `order`.
    pub entity_type: String,
    /// For example `order-8821`.
    pub entity_id: String,
    /// Facts about it.
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub facts: JsonObject,
    /// Its status, if known.
    pub status: Option<String>,
    /// When it was last discussed.
    pub last_discussed_at: Option<Timestamp>,
    /// Free-form notes.
    pub notes: Option<String>,
}

impl Entity {
    /// An entity with nothing known about it yet.
    pub(crate) fn empty(entity_type: String, entity_id: String) -> Entity {
        Entity {
            entity_type,
            entity_id,
            facts: JsonObject::new(),
            status: None,
            last_discussed_at: None,
            notes: None,
        }
    }

    /// The entity with its keys checked and trimmed, and its facts and text bounded.
    /// Nothing is copied before the facts' depth is checked: copying recurses.
    pub(crate) fn checked(&self) -> Result<Entity> {
        let entity_type = limits::short_key(&self.entity_type, "entity_type")?;
        let entity_id = limits::short_key(&self.entity_id, "entity_id")?;
        limits::facts(&self.facts, "facts")?;
        if let Some(status) = &self.status {
            limits::short_key(status, "status")?;
        }
        if let Some(notes) = &self.notes {
            limits::text(notes, "notes")?;
        }
        Ok(Entity {
            entity_type,
            entity_id,
            ..self.clone()
        })
    }
}

/// Which memory of a contact: a persona's, or else an agent number's.
///
/// ```
/// use contactstore::MemoryScope;
/// let by_persona = MemoryScope::persona("persona-12345678");
/// let by_agent = MemoryScope::agent("(415) 555-0100");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct MemoryScope {
    /// The persona; when given, it is the scope.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// The agent's phone number; the scope when no persona is given.
    #[serde(default)]
    pub agent_number: Option<String>,
}

impl MemoryScope {
    /// The memory of a persona.
    pub fn persona(persona_id: impl Into<String>) -> Self {
        MemoryScope {
            persona_id: Some(persona_id.into()),
            agent_number: None,
        }
    }
    /// The memory of an agent phone number.
    pub fn agent(agent_number: impl Into<String>) -> Self {
        MemoryScope {
            persona_id: None,
            agent_number: Some(agent_number.into()),
        }
    }
}

/// A validated memory scope: the persona id and agent number a memory is created
/// with (both may be set), at least one of them present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub persona_id: Option<String>,
    pub agent_number: Option<String>,
}

impl Scope {
    /// The key stored in the `memory.scope` column: `persona:<id>` when a persona id is
    /// given, else `agent:<E.164>`.
    pub(crate) fn key(&self) -> String {
        match (&self.persona_id, &self.agent_number) {
            (Some(p), _) => format!("persona:{p}"),
            (None, Some(a)) => format!("agent:{a}"),
            (None, None) => String::new(),
        }
    }
}

/// A change to one entity of a memory, matched by (`entity_type`, `entity_id`).
/// Fields left `None` keep their value; a new entity starts empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct EntityUpdate {
    /// For example `order`.
    pub entity_type: String,
    /// For example `order-8821`.
    pub entity_id: String,
    /// Facts to set; a key set to null is removed.
    #[serde(default)]
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub facts: JsonObject,
    /// New status.
    #[serde(default)]
    pub status: Option<String>,
    /// When it was last discussed.
    #[serde(default)]
    pub last_discussed_at: Option<Timestamp>,
    /// New notes (replacing the old).
    #[serde(default)]
    pub notes: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_with_field_errors() {
        assert_eq!("assistant".parse::<Role>().unwrap(), Role::Assistant);
        assert_eq!("sms".parse::<Channel>().unwrap(), Channel::Sms);
        assert_eq!("urgent".parse::<Priority>().unwrap(), Priority::Urgent);
        let err = "robot".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid role: must be user, assistant or system"
        );
        assert!("fax".parse::<Channel>().is_err());
        assert_eq!("call".parse::<Channel>().unwrap(), Channel::Call);
        assert_eq!(serde_json::to_string(&Channel::Call).unwrap(), "\"call\"");
        assert!("p0".parse::<Priority>().is_err());
    }

    #[test]
    fn message_parts_are_validated() {
        assert!(Message::from_parts("user", "hi", "sms", Some("2025-07-23T09:10:00Z")).is_ok());
        for (role, channel, ts) in [
            ("bot", "sms", None),
            ("user", "pager", None),
            ("user", "sms", Some("tomorrow")),
        ] {
            let err = Message::from_parts(role, "hi", channel, ts).unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_REQUEST");
        }
        let long = "x".repeat(limits::MAX_TEXT_CHARS + 1);
        assert!(Message::from_parts("user", &long, "sms", None).is_err());
    }

    #[test]
    fn scope_keys_prefer_the_persona() {
        let both = Scope {
            persona_id: Some("p".into()),
            agent_number: Some("+14155550100".into()),
        };
        assert_eq!(both.key(), "persona:p");
        let agent = Scope {
            persona_id: None,
            agent_number: Some("+14155550100".into()),
        };
        assert_eq!(agent.key(), "agent:+14155550100");
    }
}
