//! update: explicit corrections to a contact (resolve never overwrites).
//!
//! One `BEGIN IMMEDIATE` transaction applies, in this order: the name, the metadata
//! patch, identifiers to add, identifiers to remove, identifiers to make primary.
//! Everything is validated before anything is written, and `updated_at` moves only if
//! something changed, so applying the same update twice changes nothing the second time.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::changes;
use super::fold::patch_object;
use super::lookup::{details, reached_contact};
use super::resolve::{new_identifier, pair_keys};
use crate::error::{Error, Result};
use crate::limits;
use crate::model::{ChangeKind, Contact, ContactDetails, IdentifierType, JsonObject};
use crate::normalize;
use crate::settings::PhoneRegion;
use crate::storage::{Db, Owner, Tx};
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

/// The hosted API's contact update (`PATCH /v1/contacts/{contact_id}`): the name
/// replaced, an email and an external id added or updated, metadata merged key by key.
///
/// "Add or update" of an identifier: it becomes the contact's primary of its type —
/// added if the contact does not have it yet, made primary if it has; the contact's
/// other identifiers of the type stay (an identity is never dropped silently). One
/// that belongs to another contact is refused. Metadata keys are set or overwritten,
/// none is deleted: a key set to null is stored as null, as the hosted API's facts
/// merge does. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct ContactPatch {
    /// The new name (a blank one clears it).
    #[serde(default)]
    pub name: Option<String>,
    /// An email to add or update.
    #[serde(default)]
    pub email: Option<String>,
    /// An external id to add or update.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Metadata keys to set.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

impl ContactPatch {
    /// The same changes as a [`ContactUpdate`], and the metadata merge.
    fn to_update(&self) -> Result<(ContactUpdate, JsonObject)> {
        let mut update = ContactUpdate::default();
        if let Some(name) = &self.name {
            update = update.name(name.clone());
        }
        for (kind, value) in [
            (IdentifierType::Email, &self.email),
            (IdentifierType::ExternalId, &self.external_id),
        ] {
            if let Some(value) = value {
                update = update.add(kind, value.clone()).primary(kind, value.clone());
            }
        }
        Ok((update, limits::metadata(self.metadata.as_ref())?))
    }
}

/// How a metadata patch treats a key set to null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nulls {
    /// Null removes the key (the library's update).
    Remove,
    /// Null is stored (the hosted API's merge).
    Keep,
}

/// An update that passed validation.
struct Valid {
    name: NameChange,
    metadata: JsonObject,
    nulls: Nulls,
    add: Vec<(IdentifierType, String)>,
    remove: Vec<(IdentifierType, String)>,
    primary: Vec<(IdentifierType, String)>,
}

fn validate(update: &ContactUpdate, region: PhoneRegion) -> Result<Valid> {
    let name = match &update.name {
        NameChange::Set(n) => match limits::name(Some(n))? {
            Some(n) => NameChange::Set(n),
            None => NameChange::Clear, // a blank name is no name
        },
        other => other.clone(),
    };
    limits::facts(&update.metadata, "metadata")?;
    let all = |refs: &[IdentifierRef]| -> Result<Vec<(IdentifierType, String)>> {
        refs.iter().map(|r| r.normalized(region)).collect()
    };
    Ok(Valid {
        name,
        nulls: Nulls::Remove,
        metadata: update.metadata.clone(),
        add: all(&update.add)?,
        remove: all(&update.remove)?,
        primary: all(&update.primary)?,
    })
}

/// Updates in one transaction: the name, the metadata patch, identifiers to add, to
/// remove, and to make primary, in that order. See [`crate::Org::update`].
pub(crate) fn update(
    db: &Db,
    org: &str,
    contact_id: &str,
    update: &ContactUpdate,
) -> Result<ContactDetails> {
    let valid = validate(update, db.settings().region)?;
    db.write(|tx| apply(tx, org, contact_id, &valid).and_then(|c| details(tx, c)))
}

/// Applies the hosted API's contact update; returns the contact. See [`ContactPatch`].
pub(crate) fn patch(db: &Db, org: &str, contact_id: &str, patch: &ContactPatch) -> Result<Contact> {
    let (update, metadata) = patch.to_update()?;
    let mut valid = validate(&update, db.settings().region)?;
    valid.metadata = metadata;
    valid.nulls = Nulls::Keep;
    db.write(|tx| apply(tx, org, contact_id, &valid))
}

fn apply(tx: &dyn Tx, org: &str, contact_id: &str, valid: &Valid) -> Result<Contact> {
    {
        let mut contact = reached_contact(tx, org, contact_id)?;
        let id = contact.id.clone();
        let name = match &valid.name {
            NameChange::Keep => contact.name.clone(),
            NameChange::Set(n) => Some(n.clone()),
            NameChange::Clear => None,
        };
        let mut detail = JsonObject::new();
        if name != contact.name {
            detail.insert("name".into(), json!(name));
        }
        contact.name = name;
        let metadata_before = contact.metadata.clone();
        match valid.nulls {
            Nulls::Remove => {
                patch_object(&mut contact.metadata, &valid.metadata);
            }
            Nulls::Keep => contact.metadata.extend(valid.metadata.clone()),
        }
        if contact.metadata != metadata_before {
            // The keys set, and null for those removed.
            let changed: JsonObject = valid
                .metadata
                .iter()
                .filter(|(k, _)| metadata_before.get(*k) != contact.metadata.get(*k))
                .map(|(k, _)| {
                    (
                        k.clone(),
                        contact.metadata.get(k).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            detail.insert("metadata".into(), json!(changed));
        }
        limits::facts(&contact.metadata, "metadata")?;
        let added = add_identifiers(tx, org, &id, &valid.add)?;
        let removed = remove_identifiers(tx, org, &id, &valid.remove)?;
        if tx.count_identifiers(org, &id)? == 0 {
            return Err(Error::invalid(
                "identifiers",
                "a contact keeps at least one identifier",
            ));
        }
        let primaries = make_primaries(tx, org, &id, &valid.primary)?;
        for (field, pairs) in [
            ("identifiers_added", &added),
            ("identifiers_removed", &removed),
            ("primaries", &primaries),
        ] {
            if !pairs.is_empty() {
                detail.insert(field.into(), json!(pair_keys(pairs)));
            }
        }
        if !detail.is_empty() {
            contact.updated_at = Timestamp::now();
            tx.save_contact(&contact)?;
            changes::record(
                tx,
                org,
                contact.updated_at,
                ChangeKind::ContactUpdated,
                &id,
                None,
                &detail,
            )?;
        }
        Ok(contact)
    }
}

fn add_identifiers(
    tx: &dyn Tx,
    org: &str,
    id: &str,
    add: &[(IdentifierType, String)],
) -> Result<Vec<(IdentifierType, String)>> {
    let mut added = Vec::new();
    for (kind, value) in add {
        match tx.identifier_owner(org, *kind, value)? {
            Some(o) if o.contact_id == id => {}
            Some(_) => {
                return Err(Error::IdentifierTaken {
                    field: kind.as_str(),
                })
            }
            None => {
                let primary = !tx.has_primary(org, id, *kind)?;
                tx.insert_identifier(org, &new_identifier(id, *kind, value, primary))?;
                added.push((*kind, value.clone()));
            }
        }
    }
    Ok(added)
}

fn remove_identifiers(
    tx: &dyn Tx,
    org: &str,
    id: &str,
    remove: &[(IdentifierType, String)],
) -> Result<Vec<(IdentifierType, String)>> {
    let mut removed = Vec::new();
    for (kind, value) in remove {
        match tx.identifier_owner(org, *kind, value)? {
            Some(Owner {
                contact_id,
                is_primary,
            }) if contact_id == id => {
                tx.delete_identifier(org, *kind, value)?;
                if is_primary {
                    tx.promote_first_identifier(org, id, *kind)?;
                }
                removed.push((*kind, value.clone()));
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
    Ok(removed)
}

fn make_primaries(
    tx: &dyn Tx,
    org: &str,
    id: &str,
    primary: &[(IdentifierType, String)],
) -> Result<Vec<(IdentifierType, String)>> {
    let mut made = Vec::new();
    for (kind, value) in primary {
        match tx.identifier_owner(org, *kind, value)? {
            Some(o) if o.contact_id == id && o.is_primary => {}
            Some(o) if o.contact_id == id => {
                tx.make_primary(org, id, *kind, value)?;
                made.push((*kind, value.clone()));
            }
            _ => {
                return Err(Error::invalid(
                    kind.as_str(),
                    "is not an identifier of this contact",
                ))
            }
        }
    }
    Ok(made)
}
