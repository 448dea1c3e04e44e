//! list: an org's contacts page by page, ordered by `created_at` then id.
//!
//! Pagination is by key, not by offset: the cursor names the last contact of a page and
//! the next page starts after it, through the `(org_id, created_at, id)` index. A page
//! costs the same at the start of a million contacts as at the end, and contacts
//! created while paging never shift the pages already handed out.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::lookup::details;
use crate::error::{Error, Result};
use crate::limits::{self, DEFAULT_OFFSET_PAGE_SIZE, DEFAULT_PAGE_SIZE, MAX_RECORD_ID_CHARS};
use crate::model::{Contact, ContactDetails, Identifier};
use crate::storage::{Db, ListPosition, PageQuery, Tx};
use crate::timestamp::Timestamp;

/// What to list.
///
/// ```
/// use contactstore::ListOptions;
/// let first = ListOptions::default().limit(100).name_prefix("sa").with_identifiers();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOptions {
    /// Page size (default 50, at most 1,000).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Only contacts updated at or after this instant.
    #[serde(default)]
    pub updated_since: Option<Timestamp>,
    /// Only contacts whose name starts with this (case-insensitive for ASCII letters).
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// Include each contact's identifiers.
    #[serde(default)]
    pub with_identifiers: bool,
}

impl ListOptions {
    /// Sets the page size.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Continues after a previous page.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// Only contacts updated at or after `since`.
    pub fn updated_since(mut self, since: Timestamp) -> Self {
        self.updated_since = Some(since);
        self
    }
    /// Only names starting with `prefix`.
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = Some(prefix.into());
        self
    }
    /// Includes identifiers.
    pub fn with_identifiers(mut self) -> Self {
        self.with_identifiers = true;
        self
    }
}

/// A listed contact: the contact, and its identifiers when asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedContact {
    /// The contact's own fields.
    #[serde(flatten)]
    pub contact: Contact,
    /// Its identifiers, with `with_identifiers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiers: Option<Vec<Identifier>>,
}

/// One page of contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactPage {
    /// The contacts, by `created_at` then id.
    pub contacts: Vec<ListedContact>,
    /// Pass it as the cursor for the next page; null after the last page.
    pub next_cursor: Option<String>,
}

/// A page of the hosted API's list (`GET /v1/contacts`): contacts with their
/// identifiers and memories, by offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct OffsetPage {
    /// The contacts, by `created_at` then id.
    pub contacts: Vec<ContactDetails>,
    /// Where the page stands.
    pub pagination: Pagination,
}

/// The hosted API's `pagination` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct Pagination {
    /// Contacts in the org.
    pub total: u64,
    /// The page size applied.
    pub limit: usize,
    /// The contacts skipped.
    pub offset: u64,
    /// Whether contacts follow this page.
    pub has_more: bool,
}

/// One page by offset. Offsets are the hosted API's way; [`list`]'s cursor costs the
/// same at any depth, an offset costs its length (the skipped contacts are walked).
pub(crate) fn offset_page(
    db: &Db,
    org: &str,
    offset: u64,
    limit: Option<usize>,
) -> Result<OffsetPage> {
    let limit = limits::offset_page_size(limit.unwrap_or(DEFAULT_OFFSET_PAGE_SIZE))?;
    let offset = limits::offset(offset)?;
    db.read(|tx| {
        let total = tx.count_contacts(org)?;
        let contacts = tx
            .contacts_at_offset(org, offset, limit)?
            .into_iter()
            .map(|c| details(tx, c))
            .collect::<Result<Vec<_>>>()?;
        let has_more = offset.saturating_add(contacts.len() as u64) < total;
        Ok(OffsetPage {
            contacts,
            pagination: Pagination {
                total,
                limit,
                offset,
                has_more,
            },
        })
    })
}

/// The position after a contact: `<created_at millis>.<id>`, opaque to callers.
fn encode_cursor(contact: &Contact) -> String {
    format!("{}.{}", contact.created_at.as_millis(), contact.id)
}

fn decode_cursor(cursor: &str) -> Result<ListPosition> {
    let bad = || Error::invalid("cursor", "is not a cursor returned by list");
    let (millis, id) = cursor.split_once('.').ok_or_else(bad)?;
    let created_at: i64 = millis.parse().map_err(|_| bad())?;
    if id.is_empty() || id.len() > MAX_RECORD_ID_CHARS {
        return Err(bad());
    }
    Ok(ListPosition {
        created_at,
        id: id.to_owned(),
    })
}

/// Escapes LIKE's wildcards so a prefix matches literally.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// One page of an org's contacts. See [`crate::Org::list`].
pub(crate) fn list(db: &Db, org: &str, options: &ListOptions) -> Result<ContactPage> {
    let limit = limits::page_size(options.limit.unwrap_or(DEFAULT_PAGE_SIZE))?;
    let after = match &options.cursor {
        Some(c) => decode_cursor(c)?,
        None => ListPosition {
            created_at: i64::MIN,
            id: String::new(),
        },
    };
    let pattern = match &options.name_prefix {
        Some(p) => {
            limits::name_prefix(p)?;
            Some(like_prefix(p))
        }
        None => None,
    };
    db.read(|tx| {
        // One more than asked for tells whether a next page exists.
        let query = PageQuery {
            after: &after,
            updated_since: options.updated_since,
            name_like: pattern.as_deref(),
            limit: limit + 1,
        };
        let mut contacts: Vec<ListedContact> = tx
            .contact_page(org, &query)?
            .into_iter()
            .map(|contact| ListedContact {
                contact,
                identifiers: None,
            })
            .collect();
        let more = contacts.len() > limit;
        contacts.truncate(limit);
        let next_cursor = if more {
            contacts.last().map(|c| encode_cursor(&c.contact))
        } else {
            None
        };
        if options.with_identifiers {
            attach_identifiers(tx, org, &after, &mut contacts)?;
        }
        Ok(ContactPage {
            contacts,
            next_cursor,
        })
    })
}

/// The identifiers of a page's contacts, in one statement over the page's key range
/// (contacts in the range that a filter left out are skipped).
fn attach_identifiers(
    tx: &dyn Tx,
    org: &str,
    after: &ListPosition,
    contacts: &mut [ListedContact],
) -> Result<()> {
    let Some(last) = contacts.last().map(|c| ListPosition {
        created_at: c.contact.created_at.as_millis(),
        id: c.contact.id.clone(),
    }) else {
        return Ok(());
    };
    let mut by_contact: HashMap<String, Vec<Identifier>> = contacts
        .iter()
        .map(|c| (c.contact.id.clone(), Vec::new()))
        .collect();
    for identifier in tx.identifiers_between(org, after, &last)? {
        if let Some(list) = by_contact.get_mut(&identifier.contact_id) {
            list.push(identifier);
        }
    }
    for c in contacts {
        let mut identifiers = by_contact.remove(&c.contact.id).unwrap_or_default();
        Identifier::sort(&mut identifiers);
        c.identifiers = Some(identifiers);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let p = decode_cursor("1753180200000.01a2-x").unwrap();
        assert_eq!((p.created_at, p.id.as_str()), (1_753_180_200_000, "01a2-x"));
        for bad in [
            "",
            "x",
            "12",
            "12.",
            "a.b",
            &format!("1.{}", "x".repeat(200)),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_prefix("50%_a\\"), "50\\%\\_a\\\\%");
    }
}
