//! update: explicit corrections to a contact (resolve never overwrites).
//!
//! One `BEGIN IMMEDIATE` transaction applies, in this order: the name, the metadata
//! patch, identifiers to add, identifiers to remove, identifiers to make primary.
//! Everything is validated before anything is written, and `updated_at` moves only if
//! something changed, so applying the same update twice changes nothing the second time.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lookup;
use crate::memory::{check_facts, patch_object};
use crate::model::{ContactDetails, JsonObject};
use crate::normalize::{self, IdentifierType, PhoneRegion};
use crate::resolve::{has_primary, insert_identifier, to_json, valid_name};
use crate::store::ContactStore;
use crate::timestamp::Timestamp;

/// What to do with the contact's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameChange {
    /// Leave it.
    #[default]
    Keep,
    /// Set it (replacing any name).
    Set(String),
    /// Clear it (null).
    Clear,
}

/// An identifier named by type and value (any usual spelling; it is normalized).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierRef {
    /// phone_number, email or external_id.
    pub identifier_type: IdentifierType,
    /// The value.
    pub identifier_value: String,
}

impl IdentifierRef {
    /// An identifier of the given type and value.
    pub fn new(identifier_type: IdentifierType, identifier_value: impl Into<String>) -> Self {
        IdentifierRef {
            identifier_type,
            identifier_value: identifier_value.into(),
        }
    }

    /// Parses `TYPE:VALUE` (as the command line takes it), e.g. `email:a@example.com`.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when there is no `:` or the type is unknown.
    pub fn parse(text: &str) -> Result<Self> {
        let (kind, value) = text
            .split_once(':')
            .ok_or(Error::invalid("identifier", "must be TYPE:VALUE"))?;
        Ok(IdentifierRef::new(kind.parse()?, value))
    }

    fn normalized(&self, region: PhoneRegion) -> Result<(IdentifierType, String)> {
        let kind = self.identifier_type;
        Ok((
            kind,
            normalize::identifier(kind, &self.identifier_value, region, kind.as_str())?,
        ))
    }
}

/// Changes to a contact. Build one with the methods:
///
/// ```
/// use contactstore::{ContactUpdate, IdentifierType};
/// let update = ContactUpdate::default()
///     .name("Sarah Chen")
///     .add(IdentifierType::Email, "sarah@work.example")
///     .remove(IdentifierType::Email, "old@example.com")
///     .primary(IdentifierType::Email, "sarah@work.example");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactUpdate {
    /// The name.
    #[serde(default)]
    pub name: NameChange,
    /// Metadata keys to set; a key set to null is removed.
    #[serde(default)]
    pub metadata: JsonObject,
    /// Identifiers to add (one owned by another contact is refused).
    #[serde(default)]
    pub add: Vec<IdentifierRef>,
    /// Identifiers to remove (a contact keeps at least one).
    #[serde(default)]
    pub remove: Vec<IdentifierRef>,
    /// Identifiers to make the primary of their type.
    #[serde(default)]
    pub primary: Vec<IdentifierRef>,
}

impl ContactUpdate {
    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = NameChange::Set(name.into());
        self
    }
    /// Clears the name.
    pub fn clear_name(mut self) -> Self {
        self.name = NameChange::Clear;
        self
    }
    /// Sets a metadata key (null removes it).
    pub fn metadata(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }
    /// Adds an identifier.
    pub fn add(mut self, kind: IdentifierType, value: impl Into<String>) -> Self {
        self.add.push(IdentifierRef::new(kind, value));
        self
    }
    /// Removes an identifier.
    pub fn remove(mut self, kind: IdentifierType, value: impl Into<String>) -> Self {
        self.remove.push(IdentifierRef::new(kind, value));
        self
    }
    /// Makes an identifier the primary of its type.
    pub fn primary(mut self, kind: IdentifierType, value: impl Into<String>) -> Self {
        self.primary.push(IdentifierRef::new(kind, value));
        self
    }
}

/// An update that passed validation.
struct Valid {
    name: NameChange,
    metadata: JsonObject,
    add: Vec<(IdentifierType, String)>,
    remove: Vec<(IdentifierType, String)>,
    primary: Vec<(IdentifierType, String)>,
}

fn validate(update: &ContactUpdate, region: PhoneRegion) -> Result<Valid> {
    let name = match &update.name {
        NameChange::Set(n) => match valid_name(Some(n))? {
            Some(n) => NameChange::Set(n),
            None => NameChange::Clear, // a blank name is no name
        },
        other => other.clone(),
    };
    check_facts(&update.metadata, "metadata")?;
    let all = |refs: &[IdentifierRef]| -> Result<Vec<(IdentifierType, String)>> {
        refs.iter().map(|r| r.normalized(region)).collect()
    };
    Ok(Valid {
        name,
        metadata: update.metadata.clone(),
        add: all(&update.add)?,
        remove: all(&update.remove)?,
        primary: all(&update.primary)?,
    })
}

const OWNER: &str = "SELECT contact_id, is_primary FROM identifier \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";
const DELETE_IDENTIFIER: &str = "DELETE FROM identifier \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";
const COUNT_IDENTIFIERS: &str =
    "SELECT count(*) FROM identifier WHERE org_id = ?1 AND contact_id = ?2";
const PROMOTE_FIRST_OF_TYPE: &str = "UPDATE identifier SET is_primary = 1 \
     WHERE org_id = ?1 AND identifier_type = ?3 AND identifier_value = \
        (SELECT identifier_value FROM identifier \
         WHERE org_id = ?1 AND contact_id = ?2 AND identifier_type = ?3 \
         ORDER BY identifier_value LIMIT 1)";
const CLEAR_PRIMARY_OF_TYPE: &str = "UPDATE identifier SET is_primary = 0 \
     WHERE org_id = ?1 AND contact_id = ?2 AND identifier_type = ?3 AND is_primary = 1";
const SET_PRIMARY: &str = "UPDATE identifier SET is_primary = 1 \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";
const SAVE_CONTACT: &str =
    "UPDATE contact SET name = ?3, metadata = ?4, updated_at = ?5 WHERE org_id = ?1 AND id = ?2";

fn owner(
    conn: &Connection,
    org: &str,
    kind: IdentifierType,
    value: &str,
) -> Result<Option<(String, bool)>> {
    Ok(conn
        .prepare_cached(OWNER)?
        .query_row((org, kind.code(), value), |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub(crate) fn update(
    store: &ContactStore,
    org: &str,
    contact_id: &str,
    update: &ContactUpdate,
) -> Result<ContactDetails> {
    let valid = validate(update, store.settings().region)?;
    store.write(|tx| {
        let mut contact = lookup::reached_contact(tx, org, contact_id)?;
        let id = contact.id.clone();
        let mut changed = false;

        let name = match &valid.name {
            NameChange::Keep => contact.name.clone(),
            NameChange::Set(n) => Some(n.clone()),
            NameChange::Clear => None,
        };
        changed |= name != contact.name;
        contact.name = name;
        changed |= patch_object(&mut contact.metadata, &valid.metadata);
        check_facts(&contact.metadata, "metadata")?;

        for (kind, value) in &valid.add {
            match owner(tx, org, *kind, value)? {
                Some((o, _)) if o == id => {}
                Some(_) => {
                    return Err(Error::invalid(
                        kind.as_str(),
                        "already belongs to another contact",
                    ))
                }
                None => {
                    let primary = !has_primary(tx, org, &id, *kind)?;
                    insert_identifier(tx, org, &id, *kind, value, primary)?;
                    changed = true;
                }
            }
        }
        for (kind, value) in &valid.remove {
            match owner(tx, org, *kind, value)? {
                Some((o, was_primary)) if o == id => {
                    tx.prepare_cached(DELETE_IDENTIFIER)?
                        .execute((org, kind.code(), value))?;
                    if was_primary {
                        tx.prepare_cached(PROMOTE_FIRST_OF_TYPE)?.execute((
                            org,
                            &id,
                            kind.code(),
                        ))?;
                    }
                    changed = true;
                }
                // Already gone: removing it again changes nothing, so an update can be
                // re-applied.
                None => {}
                Some(_) => {
                    return Err(Error::invalid(
                        kind.as_str(),
                        "is not an identifier of this contact",
                    ))
                }
            }
        }
        let remaining: i64 = tx
            .prepare_cached(COUNT_IDENTIFIERS)?
            .query_row((org, &id), |r| r.get(0))?;
        if remaining == 0 {
            return Err(Error::invalid(
                "identifiers",
                "a contact keeps at least one identifier",
            ));
        }
        for (kind, value) in &valid.primary {
            match owner(tx, org, *kind, value)? {
                Some((o, true)) if o == id => {}
                Some((o, false)) if o == id => {
                    tx.prepare_cached(CLEAR_PRIMARY_OF_TYPE)?
                        .execute((org, &id, kind.code()))?;
                    tx.prepare_cached(SET_PRIMARY)?
                        .execute((org, kind.code(), value))?;
                    changed = true;
                }
                _ => {
                    return Err(Error::invalid(
                        kind.as_str(),
                        "is not an identifier of this contact",
                    ))
                }
            }
        }

        if changed {
            contact.updated_at = Timestamp::now();
            tx.prepare_cached(SAVE_CONTACT)?.execute((
                org,
                &id,
                &contact.name,
                to_json(&contact.metadata),
                contact.updated_at,
            ))?;
        }
        lookup::details(tx, contact)
    })
}
