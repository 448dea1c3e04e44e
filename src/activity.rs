//! Calls and SMS conversations: activity records owned by a contact.

use rusqlite::{Connection, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lookup;
use crate::memory::{check_key, check_text, touch};
use crate::model::JsonObject;
use crate::normalize::{self, PhoneRegion};
use crate::resolve::{new_id, to_json, valid_metadata};
use crate::store::ContactStore;
use crate::timestamp::Timestamp;

/// Which side started a call or conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The contact called or texted the agent.
    Inbound,
    /// The agent called or texted the contact.
    Outbound,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl std::str::FromStr for Direction {
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
    /// For example `completed`, `no_answer`.
    pub status: Option<String>,
    /// What was said.
    pub summary: Option<String>,
    /// Free-form metadata.
    pub metadata: JsonObject,
}

/// An SMS conversation with a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub metadata: JsonObject,
}

/// A call to record. Phone numbers may be in any usual spelling; they are normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Duration in seconds.
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Metadata (a JSON object).
    #[serde(default)]
    pub metadata: JsonObject,
}

/// An SMS conversation to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Number of messages.
    #[serde(default)]
    pub message_count: i64,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Metadata (a JSON object).
    #[serde(default)]
    pub metadata: JsonObject,
}

/// The columns calls and SMS conversations share, validated and normalized.
pub(crate) struct ActivityFields {
    pub agent_number: Option<String>,
    pub contact_number: Option<String>,
    pub status: Option<String>,
    pub summary: Option<String>,
    pub metadata: JsonObject,
}

impl ActivityFields {
    pub(crate) fn new(
        agent_number: Option<&str>,
        contact_number: Option<&str>,
        status: Option<&str>,
        summary: Option<&str>,
        metadata: &JsonObject,
        region: PhoneRegion,
    ) -> Result<Self> {
        let phone =
            |v: Option<&str>, field| v.map(|p| normalize::phone(p, region, field)).transpose();
        if let Some(s) = summary {
            check_text(s, "summary")?;
        }
        // Before the copy below: cloning a deep value recurses.
        crate::memory::check_nesting(metadata, "metadata")?;
        valid_metadata(Some(&serde_json::Value::Object(metadata.clone())))?;
        Ok(ActivityFields {
            agent_number: phone(agent_number, "agent_number")?,
            contact_number: phone(contact_number, "contact_number")?,
            status: status.map(|s| check_key(s, "status")).transpose()?,
            summary: summary.map(str::to_owned),
            metadata: metadata.clone(),
        })
    }
}

pub(crate) fn check_count(value: i64, field: &'static str) -> Result<i64> {
    if value < 0 {
        return Err(Error::invalid(field, "must not be negative"));
    }
    Ok(value)
}

const INSERT_CALL: &str = "INSERT INTO call (org_id, id, contact_id, direction, agent_number, \
     contact_number, started_at, duration_seconds, status, summary, metadata) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

const INSERT_SMS: &str = "INSERT INTO sms_conversation (org_id, id, contact_id, direction, \
     agent_number, contact_number, started_at, message_count, status, summary, metadata) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

pub(crate) fn insert_call(conn: &Connection, org_id: &str, call: &Call) -> Result<()> {
    conn.prepare_cached(INSERT_CALL)?
        .execute(rusqlite::params![
            org_id,
            call.id,
            call.contact_id,
            call.direction.as_str(),
            call.agent_number,
            call.contact_number,
            call.started_at,
            call.duration_seconds,
            call.status,
            call.summary,
            to_json(&call.metadata),
        ])?;
    Ok(())
}

pub(crate) fn insert_sms(conn: &Connection, org_id: &str, sms: &SmsConversation) -> Result<()> {
    conn.prepare_cached(INSERT_SMS)?.execute(rusqlite::params![
        org_id,
        sms.id,
        sms.contact_id,
        sms.direction.as_str(),
        sms.agent_number,
        sms.contact_number,
        sms.started_at,
        sms.message_count,
        sms.status,
        sms.summary,
        to_json(&sms.metadata),
    ])?;
    Ok(())
}

pub(crate) fn record_call(
    store: &ContactStore,
    org_id: &str,
    contact_id: &str,
    new: &NewCall,
) -> Result<Call> {
    let f = ActivityFields::new(
        new.agent_number.as_deref(),
        new.contact_number.as_deref(),
        new.status.as_deref(),
        new.summary.as_deref(),
        &new.metadata,
        store.settings().region,
    )?;
    let duration_seconds = new
        .duration_seconds
        .map(|d| check_count(d, "duration_seconds"))
        .transpose()?;
    let make = |contact_id, now| Call {
        id: format!("call-{}", new_id()),
        contact_id,
        direction: new.direction,
        agent_number: f.agent_number,
        contact_number: f.contact_number,
        started_at: new.started_at.unwrap_or(now),
        duration_seconds,
        status: f.status,
        summary: f.summary,
        metadata: f.metadata,
    };
    record(store, org_id, contact_id, make, insert_call)
}

pub(crate) fn record_sms(
    store: &ContactStore,
    org_id: &str,
    contact_id: &str,
    new: &NewSmsConversation,
) -> Result<SmsConversation> {
    let f = ActivityFields::new(
        new.agent_number.as_deref(),
        new.contact_number.as_deref(),
        new.status.as_deref(),
        new.summary.as_deref(),
        &new.metadata,
        store.settings().region,
    )?;
    let message_count = check_count(new.message_count, "message_count")?;
    let make = |contact_id, now| SmsConversation {
        id: format!("sms-{}", new_id()),
        contact_id,
        direction: new.direction,
        agent_number: f.agent_number,
        contact_number: f.contact_number,
        started_at: new.started_at.unwrap_or(now),
        message_count,
        status: f.status,
        summary: f.summary,
        metadata: f.metadata,
    };
    record(store, org_id, contact_id, make, insert_sms)
}

/// Records one activity in one transaction: finds the contact (following merges),
/// inserts `make(contact id, now)` and bumps the contact's `updated_at`.
fn record<T>(
    store: &ContactStore,
    org_id: &str,
    contact_id: &str,
    make: impl FnOnce(String, Timestamp) -> T,
    insert: fn(&Connection, &str, &T) -> Result<()>,
) -> Result<T> {
    store.write(|tx| {
        let contact = lookup::reached_contact(tx, org_id, contact_id)?;
        let now = Timestamp::now();
        let id = contact.id;
        touch(tx, org_id, &id, None, now)?;
        let activity = make(id, now);
        insert(tx, org_id, &activity)?;
        Ok(activity)
    })
}

pub(crate) const CALLS_OF_CONTACT: &str =
    "SELECT id, contact_id, direction, agent_number, contact_number, \
     started_at, duration_seconds, status, summary, metadata FROM call \
     WHERE org_id = ?1 AND contact_id = ?2 ORDER BY started_at DESC, id DESC";

pub(crate) const SMS_OF_CONTACT: &str =
    "SELECT id, contact_id, direction, agent_number, contact_number, \
     started_at, message_count, status, summary, metadata FROM sms_conversation \
     WHERE org_id = ?1 AND contact_id = ?2 ORDER BY started_at DESC, id DESC";

fn direction_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<Direction> {
    let text = row.get_ref(idx)?.as_str()?;
    text.parse().map_err(|_| {
        rusqlite::Error::InvalidColumnType(idx, "direction".into(), rusqlite::types::Type::Text)
    })
}

/// The contact's calls, newest first.
pub(crate) fn calls(conn: &Connection, org_id: &str, contact_id: &str) -> Result<Vec<Call>> {
    let mut stmt = conn.prepare_cached(CALLS_OF_CONTACT)?;
    let rows = stmt.query_map((org_id, contact_id), |r| {
        Ok(Call {
            id: r.get(0)?,
            contact_id: r.get(1)?,
            direction: direction_column(r, 2)?,
            agent_number: r.get(3)?,
            contact_number: r.get(4)?,
            started_at: r.get(5)?,
            duration_seconds: r.get(6)?,
            status: r.get(7)?,
            summary: r.get(8)?,
            metadata: lookup::json_column(r, 9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The contact's SMS conversations, newest first.
pub(crate) fn sms_conversations(
    conn: &Connection,
    org_id: &str,
    contact_id: &str,
) -> Result<Vec<SmsConversation>> {
    let mut stmt = conn.prepare_cached(SMS_OF_CONTACT)?;
    let rows = stmt.query_map((org_id, contact_id), |r| {
        Ok(SmsConversation {
            id: r.get(0)?,
            contact_id: r.get(1)?,
            direction: direction_column(r, 2)?,
            agent_number: r.get(3)?,
            contact_number: r.get(4)?,
            started_at: r.get(5)?,
            message_count: r.get(6)?,
            status: r.get(7)?,
            summary: r.get(8)?,
            metadata: lookup::json_column(r, 9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
