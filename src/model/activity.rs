//! Calls and SMS conversations: activity records owned by a contact.
//!
//! The two differ by one field — a call's `duration_seconds`, a conversation's
//! `message_count` — so the store keeps them as one record type, [`ActivityRow`],
//! parametrised by [`ActivityKind`]: one table, one path through insert, listing,
//! merge, import and export. [`Call`] and [`SmsConversation`] are its public faces.

use std::str::FromStr;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::json::{JsonObject, StoredJson};
use crate::error::{Error, Result};
use crate::timestamp::Timestamp;

/// Which side started a call or conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The contact called or texted the agent.
    Inbound,
    /// The agent called or texted the contact.
    Outbound,
}

impl Direction {
    /// The name used in JSON and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl FromStr for Direction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            _ => Err(Error::invalid("direction", "must be inbound or outbound")),
        }
    }
}

/// A phone call with a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Call {
    /// `call-<uuid>`.
    pub id: String,
    /// The contact it belongs to.
    pub contact_id: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The agent's number (E.164).
    pub agent_number: Option<String>,
    /// The contact's number on this call (E.164).
    pub contact_number: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// How long it lasted, in seconds.
    pub duration_seconds: Option<i64>,
    /// For example `completed`, `missed`.
    pub status: Option<String>,
    /// What was said.
    pub summary: Option<String>,
    /// Free-form metadata.
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub metadata: JsonObject,
}

/// An SMS conversation with a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct SmsConversation {
    /// `sms-<uuid>`.
    pub id: String,
    /// The contact it belongs to.
    pub contact_id: String,
    /// Who started it.
    pub direction: Direction,
    /// The agent's number (E.164).
    pub agent_number: Option<String>,
    /// The contact's number (E.164).
    pub contact_number: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// How many messages it holds.
    pub message_count: i64,
    /// For example `open`, `closed`.
    pub status: Option<String>,
    /// What was said.
    pub summary: Option<String>,
    /// Free-form metadata.
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub metadata: JsonObject,
}

/// A call to record. Phone numbers may be in any usual spelling; they are normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct NewCall {
    /// Inbound or outbound.
    pub direction: Direction,
    /// The agent's number.
    #[serde(default)]
    pub agent_number: Option<String>,
    /// The contact's number on this call.
    #[serde(default)]
    pub contact_number: Option<String>,
    /// When it started (now when absent).
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    /// Duration in seconds (a whole number; `60.0` is read as 60).
    #[serde(
        default,
        deserialize_with = "super::json::whole_number::option::deserialize"
    )]
    pub duration_seconds: Option<i64>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Metadata (a JSON object).
    #[serde(default)]
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub metadata: JsonObject,
}

/// An SMS conversation to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct NewSmsConversation {
    /// Who started it.
    pub direction: Direction,
    /// The agent's number.
    #[serde(default)]
    pub agent_number: Option<String>,
    /// The contact's number.
    #[serde(default)]
    pub contact_number: Option<String>,
    /// When it started (now when absent).
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    /// Number of messages (a whole number; `3.0` is read as 3).
    #[serde(default, deserialize_with = "super::json::whole_number::deserialize")]
    pub message_count: i64,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Metadata (a JSON object).
    #[serde(default)]
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub metadata: JsonObject,
}

/// The two kinds of activity record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ActivityKind {
    Call,
    Sms,
}

impl ActivityKind {
    /// Both kinds, in the order a document lists them (`calls`, `sms_conversations`).
    pub(crate) const ALL: [ActivityKind; 2] = [ActivityKind::Call, ActivityKind::Sms];

    /// The prefix of the record's ids.
    pub(crate) fn id_prefix(self) -> &'static str {
        match self {
            ActivityKind::Call => "call",
            ActivityKind::Sms => "sms",
        }
    }

    /// The field holding a record's amount: a call's duration, a conversation's
    /// message count.
    pub(crate) fn amount_field(self) -> &'static str {
        match self {
            ActivityKind::Call => "duration_seconds",
            ActivityKind::Sms => "message_count",
        }
    }

    /// How errors name a record's id.
    pub(crate) fn id_field(self) -> &'static str {
        match self {
            ActivityKind::Call => "call id",
            ActivityKind::Sms => "sms conversation id",
        }
    }
}

/// One call or SMS conversation as stored. `amount` is the call's duration in seconds
/// (optional) or the conversation's message count (always set).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActivityRow {
    pub kind: ActivityKind,
    pub id: String,
    pub contact_id: String,
    pub direction: Direction,
    pub agent_number: Option<String>,
    pub contact_number: Option<String>,
    pub started_at: Timestamp,
    pub amount: Option<i64>,
    pub status: Option<String>,
    pub summary: Option<String>,
    pub metadata: StoredJson,
}

/// Serializes as the kind's public type does ([`Call`] or [`SmsConversation`]), field
/// for field, in the same order.
impl Serialize for ActivityRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Activity", 10)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("contact_id", &self.contact_id)?;
        s.serialize_field("direction", &self.direction)?;
        s.serialize_field("agent_number", &self.agent_number)?;
        s.serialize_field("contact_number", &self.contact_number)?;
        s.serialize_field("started_at", &self.started_at)?;
        match self.kind {
            ActivityKind::Call => s.serialize_field("duration_seconds", &self.amount)?,
            ActivityKind::Sms => s.serialize_field("message_count", &self.amount.unwrap_or(0))?,
        }
        s.serialize_field("status", &self.status)?;
        s.serialize_field("summary", &self.summary)?;
        s.serialize_field("metadata", &self.metadata)?;
        s.end()
    }
}

impl ActivityRow {
    fn metadata_object(&self) -> JsonObject {
        // Stored metadata is an object written by the library.
        self.metadata.parse().unwrap_or_default()
    }
}

impl From<ActivityRow> for Call {
    fn from(row: ActivityRow) -> Call {
        Call {
            metadata: row.metadata_object(),
            id: row.id,
            contact_id: row.contact_id,
            direction: row.direction,
            agent_number: row.agent_number,
            contact_number: row.contact_number,
            started_at: row.started_at,
            duration_seconds: row.amount,
            status: row.status,
            summary: row.summary,
        }
    }
}

impl From<ActivityRow> for SmsConversation {
    fn from(row: ActivityRow) -> SmsConversation {
        SmsConversation {
            metadata: row.metadata_object(),
            id: row.id,
            contact_id: row.contact_id,
            direction: row.direction,
            agent_number: row.agent_number,
            contact_number: row.contact_number,
            started_at: row.started_at,
            message_count: row.amount.unwrap_or(0),
            status: row.status,
            summary: row.summary,
        }
    }
}
