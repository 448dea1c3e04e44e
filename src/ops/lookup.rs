//! Reading contacts: the contact an id reaches, the owners of a request's
//! identifiers, and a contact with everything find and get show.

use crate::error::{Error, Result};
use crate::model::{Contact, ContactDetails, IdentifierType};
use crate::storage::{OrgScope, Tx};

/// The contact with this id, or the one it was merged into. Redirects are kept flat
/// (see `merge_redirect` in schema.sql), so this is at most two lookups.
pub(crate) fn contact_following_merges(
    tx: &dyn Tx,
    org: &str,
    id: &str,
) -> Result<Option<Contact>> {
    if let Some(found) = tx.contact(org, id)? {
        return Ok(Some(found));
    }
    match tx.redirect_of(org, id)? {
        Some(surviving) => tx.contact(org, &surviving),
        None => Ok(None),
    }
}

/// The contact an id reaches — itself, or the contact it was merged into — or
/// [`Error::NotFound`]. Every operation on one contact starts here.
pub(crate) fn reached_contact(tx: &dyn Tx, org: &str, id: &str) -> Result<Contact> {
    contact_following_merges(tx, org, id)?.ok_or(Error::NotFound)
}

/// The contact with this id in the scope's org(s). With `follow`, a merged-away id
/// reaches the contact it was merged into.
pub(crate) fn contact_in(
    tx: &dyn Tx,
    orgs: OrgScope<'_>,
    id: &str,
    follow: bool,
) -> Result<Contact> {
    let found = match (orgs, follow) {
        (OrgScope::One(org), true) => contact_following_merges(tx, org, id)?,
        (OrgScope::One(org), false) => tx.contact(org, id)?,
        (OrgScope::All, _) => match tx.contact_in_any_org(id)? {
            Some(c) => Some(c),
            None if follow => match tx.redirect_in_any_org(id)? {
                Some((org, surviving)) => tx.contact(&org, &surviving)?,
                None => None,
            },
            None => None,
        },
    };
    found.ok_or(Error::NotFound)
}

/// The contact with its identifiers and memories.
pub(crate) fn details(tx: &dyn Tx, contact: Contact) -> Result<ContactDetails> {
    let identifiers = tx.identifiers_of(&contact.org_id, &contact.id)?;
    let memories = tx.memories_of(&contact.org_id, &contact.id)?;
    Ok(ContactDetails {
        contact,
        identifiers,
        memories,
    })
}

/// Normalized identifiers of a request, strongest first.
pub(crate) type Wanted = Vec<(IdentifierType, String)>;

/// Who owns a request's identifiers.
#[derive(Debug, Default)]
pub(crate) struct Owners {
    /// Each owned identifier's type and owner, strongest first.
    pub by_type: Vec<(IdentifierType, String)>,
    /// The owner of the strongest owned identifier.
    pub contact: Option<Contact>,
}

/// Each wanted identifier's owner, in the order of `wanted` (strongest first), and the
/// contact row of the first one found, read in the same statement as its lookup: a
/// known caller costs one query.
pub(crate) fn owners(tx: &dyn Tx, org: &str, wanted: &Wanted) -> Result<Owners> {
    let mut found = Owners {
        by_type: Vec::with_capacity(wanted.len()),
        contact: None,
    };
    for (kind, value) in wanted {
        if found.contact.is_none() {
            if let Some(contact) = tx.contact_owning(org, *kind, value)? {
                found.by_type.push((*kind, contact.id.clone()));
                found.contact = Some(contact);
            }
        } else if let Some(owner) = tx.identifier_owner(org, *kind, value)? {
            found.by_type.push((*kind, owner.contact_id));
        }
    }
    Ok(found)
}
