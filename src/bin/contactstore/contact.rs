//! The arguments of the commands on contacts: resolve, find, update, list — each
//! turned into the library's request.

use clap::Args;
use contactstore::{
    ContactUpdate, Error, IdentifierQuery, IdentifierRef, IdentifierType, ListOptions,
    ResolveRequest,
};
use serde_json::Value;

use super::{invalid, optional_object, optional_timestamp};

#[derive(Args, Debug)]
pub struct IdentifierArgs {
    /// Phone number in any usual spelling, e.g. "(415) 555-0192" or +14155550192.
    #[arg(long)]
    pub phone: Option<String>,
    /// Email address.
    #[arg(long)]
    pub email: Option<String>,
    /// Id in another system (a CRM), compared exactly.
    #[arg(long)]
    pub external_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub identifiers: IdentifierArgs,
    /// Name, used only if the contact has none.
    #[arg(long)]
    pub name: Option<String>,
    /// Persona whose memory of the contact must exist afterwards.
    #[arg(long)]
    pub persona_id: Option<String>,
    /// Agent phone number, the memory scope when no persona id is given.
    #[arg(long)]
    pub agent_number: Option<String>,
    /// Metadata as a JSON object; only keys the contact lacks are added.
    #[arg(long)]
    pub metadata: Option<String>,
}

impl IdentifierArgs {
    /// The identifiers as a query.
    pub fn query(&self) -> IdentifierQuery {
        IdentifierQuery {
            phone_number: self.phone.clone(),
            email: self.email.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

impl ResolveArgs {
    /// The resolve request.
    pub fn request(&self) -> Result<ResolveRequest, Error> {
        let metadata = self
            .metadata
            .as_deref()
            .map(|text| {
                serde_json::from_str::<Value>(text)
                    .map_err(|_| invalid("metadata", "is not valid JSON"))
            })
            .transpose()?;
        Ok(ResolveRequest {
            identifiers: self.identifiers.query(),
            name: self.name.clone(),
            persona_id: self.persona_id.clone(),
            agent_number: self.agent_number.clone(),
            metadata,
        })
    }
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// The contact's id.
    pub contact_id: String,
    /// Set the name.
    #[arg(long, conflicts_with = "clear_name")]
    pub name: Option<String>,
    /// Clear the name.
    #[arg(long)]
    pub clear_name: bool,
    /// Metadata keys to set, as a JSON object; null removes a key.
    #[arg(long)]
    pub metadata: Option<String>,
    /// Add a phone number (repeatable).
    #[arg(long)]
    pub add_phone: Vec<String>,
    /// Add an email (repeatable).
    #[arg(long)]
    pub add_email: Vec<String>,
    /// Add an external id (repeatable).
    #[arg(long)]
    pub add_external_id: Vec<String>,
    /// Remove an identifier, as TYPE:VALUE (repeatable), e.g. email:old@example.com.
    #[arg(long, value_name = "TYPE:VALUE")]
    pub remove: Vec<String>,
    /// Make an identifier the primary of its type, as TYPE:VALUE (repeatable).
    #[arg(long, value_name = "TYPE:VALUE")]
    pub primary: Vec<String>,
}

impl UpdateArgs {
    /// The changes.
    pub fn changes(&self) -> Result<ContactUpdate, Error> {
        let mut changes = ContactUpdate {
            metadata: optional_object(self.metadata.as_deref(), "metadata")?,
            ..ContactUpdate::default()
        };
        if let Some(name) = &self.name {
            changes = changes.name(name.clone());
        }
        if self.clear_name {
            changes = changes.clear_name();
        }
        for (kind, values) in [
            (IdentifierType::PhoneNumber, &self.add_phone),
            (IdentifierType::Email, &self.add_email),
            (IdentifierType::ExternalId, &self.add_external_id),
        ] {
            for value in values {
                changes = changes.add(kind, value.clone());
            }
        }
        for r in &self.remove {
            changes.remove.push(IdentifierRef::parse(r)?);
        }
        for r in &self.primary {
            changes.primary.push(IdentifierRef::parse(r)?);
        }
        Ok(changes)
    }
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Page size, 1 to 1000.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// The next_cursor of the previous page.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Only contacts updated at or after this RFC 3339 instant.
    #[arg(long)]
    pub updated_since: Option<String>,
    /// Only names starting with this (case-insensitive).
    #[arg(long)]
    pub name_prefix: Option<String>,
    /// Include each contact's identifiers.
    #[arg(long)]
    pub with_identifiers: bool,
}

impl ListArgs {
    /// The list options.
    pub fn options(&self) -> Result<ListOptions, Error> {
        Ok(ListOptions {
            limit: Some(self.limit),
            cursor: self.cursor.clone(),
            updated_since: optional_timestamp(self.updated_since.as_deref(), "updated_since")?,
            name_prefix: self.name_prefix.clone(),
            with_identifiers: self.with_identifiers,
        })
    }
}
