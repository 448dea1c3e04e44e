//! Contacts and their identifiers, in the hosted API's JSON shapes (contract §5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::json::JsonObject;
use super::memory::Memory;
use crate::error::{Error, Result};
use crate::timestamp::Timestamp;

/// The three kinds of identifier, strongest last in declaration but compared by
/// [`IdentifierType::strength`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentifierType {
    /// A phone number, stored in E.164.
    PhoneNumber,
    /// An email address, lowercased with an ASCII domain.
    Email,
    /// An id from another system (a CRM), compared exactly.
    ExternalId,
}

impl IdentifierType {
    /// All types, in the order identifiers are listed.
    pub const ALL: [IdentifierType; 3] = [
        IdentifierType::PhoneNumber,
        IdentifierType::Email,
        IdentifierType::ExternalId,
    ];

    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierType::PhoneNumber => "phone_number",
            IdentifierType::Email => "email",
            IdentifierType::ExternalId => "external_id",
        }
    }

    /// Precedence when identifiers point at different contacts:
    /// external_id > phone_number > email.
    pub fn strength(self) -> u8 {
        match self {
            IdentifierType::ExternalId => 3,
            IdentifierType::PhoneNumber => 2,
            IdentifierType::Email => 1,
        }
    }
}

impl fmt::Display for IdentifierType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentifierType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        IdentifierType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "identifier_type",
                    "must be phone_number, email or external_id",
                )
            })
    }
}

/// A contact without its related rows, as resolve and merge return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Contact {
    /// Lowercase hyphenated UUID.
    pub id: String,
    /// The org the contact belongs to.
    pub org_id: String,
    /// The contact's name, if known.
    pub name: Option<String>,
    /// Free-form metadata; `{}` when empty.
    #[cfg_attr(feature = "serve", schema(value_type = Object))]
    pub metadata: JsonObject,
    /// When the contact was created.
    pub created_at: Timestamp,
    /// When the contact last changed.
    pub updated_at: Timestamp,
}

/// A contact with its identifiers and memories, as find and get return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
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

impl Identifier {
    /// The order identifiers are listed in: by type, primary first, then by value.
    pub(crate) fn sort(identifiers: &mut [Identifier]) {
        identifiers.sort_by(|a, b| {
            (a.identifier_type, !a.is_primary, &a.identifier_value).cmp(&(
                b.identifier_type,
                !b.is_primary,
                &b.identifier_value,
            ))
        });
    }
}

/// What a merge moved from the duplicate to the primary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct MoveCounts {
    /// Identifiers moved.
    pub identifiers: u64,
    /// Memories of scopes only the duplicate had, moved whole.
    pub memories_moved: u64,
    /// Memories of scopes both had, combined into the primary's.
    pub memories_combined: u64,
    /// Entities added to the primary's memories (moved or combined).
    pub entities: u64,
    /// Calls reassigned.
    pub calls: u64,
    /// SMS conversations reassigned.
    pub sms_conversations: u64,
    /// Earlier merged ids re-pointed from the duplicate to the primary.
    pub redirects: u64,
}

/// Something a schema upgrade found and left for an operator to decide (listed by
/// [`AllOrgs::migration_findings`](crate::AllOrgs::migration_findings)). It names
/// records, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationFinding {
    /// The org of the record.
    pub org_id: String,
    /// The contact the record belongs to.
    pub contact_id: String,
    /// The identifier (`ident-…`), memory (`mem-…`) or call/SMS record it is about.
    pub record_id: String,
    /// Its column: `phone_number`, `agent_number` or `contact_number`.
    pub field: String,
    /// The schema version whose upgrade found it.
    pub version: i64,
    /// `collision`: the value now normalizes to one another record holds (both were
    /// kept, the record under its old value); `invalid`: it is no longer a valid
    /// number (kept as it was).
    pub finding: String,
    /// For a collision, the contact holding the normalized value (it may be the same
    /// contact).
    pub other_contact_id: Option<String>,
}

/// A new record id: `<prefix>-<uuid v7>` (or a bare UUID v7 for a contact), so ids
/// created together sit together in the index.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// A new id with a type prefix (`ident-…`, `mem-…`, `call-…`, `sms-…`).
pub(crate) fn new_prefixed_id(prefix: &str) -> String {
    format!("{prefix}-{}", new_id())
}
