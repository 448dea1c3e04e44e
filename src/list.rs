//! list: an org's contacts page by page, ordered by `created_at` then id.
//!
//! Pagination is by key, not by offset: the cursor names the last contact of a page and
//! the next page starts after it, through the `(org_id, created_at, id)` index. A page
//! costs the same at the start of a million contacts as at the end, and contacts
//! created while paging never shift the pages already handed out.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lookup;
use std::collections::HashMap;

use crate::model::{Contact, Identifier};
use crate::store::ContactStore;
use crate::timestamp::Timestamp;

/// Default page size.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: usize = 1_000;

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

/// The position after a contact: `<created_at millis>.<id>`, opaque to callers.
fn encode_cursor(contact: &Contact) -> String {
    format!("{}.{}", contact.created_at.as_millis(), contact.id)
}

fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    let bad = || Error::invalid("cursor", "is not a cursor returned by list");
    let (millis, id) = cursor.split_once('.').ok_or_else(bad)?;
    let millis: i64 = millis.parse().map_err(|_| bad())?;
    if id.is_empty() || id.len() > 128 {
        return Err(bad());
    }
    Ok((millis, id.to_owned()))
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

const PAGE: &str = "SELECT id, org_id, name, metadata, created_at, updated_at FROM contact \
     WHERE org_id = ?1 AND (created_at, id) > (?2, ?3) \
       AND (?4 IS NULL OR updated_at >= ?4) \
       AND (?5 IS NULL OR name LIKE ?5 ESCAPE '\\') \
     ORDER BY created_at, id LIMIT ?6";

pub(crate) fn list(store: &ContactStore, org: &str, options: &ListOptions) -> Result<ContactPage> {
    let limit = options.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    let (after_millis, after_id) = match &options.cursor {
        Some(c) => decode_cursor(c)?,
        None => (i64::MIN, String::new()),
    };
    let pattern = match &options.name_prefix {
        Some(p) if p.chars().count() > crate::resolve::MAX_NAME_CHARS => {
            return Err(Error::invalid("name_prefix", "is too long"))
        }
        Some(p) => Some(like_prefix(p)),
        None => None,
    };
    store.read(|conn| {
        // One more than asked for tells whether a next page exists.
        let mut contacts = page(
            conn,
            org,
            (after_millis, &after_id),
            options,
            pattern.as_deref(),
            limit + 1,
        )?;
        let more = contacts.len() > limit;
        contacts.truncate(limit);
        let next_cursor = if more {
            contacts.last().map(|c| encode_cursor(&c.contact))
        } else {
            None
        };
        if options.with_identifiers {
            attach_identifiers(conn, org, (after_millis, &after_id), &mut contacts)?;
        }
        Ok(ContactPage {
            contacts,
            next_cursor,
        })
    })
}

const IDENTIFIERS_OF_RANGE: &str =
    "SELECT i.contact_id, i.id, i.identifier_type, i.identifier_value, i.is_primary \
     FROM contact c JOIN identifier i ON i.org_id = c.org_id AND i.contact_id = c.id \
     WHERE c.org_id = ?1 AND (c.created_at, c.id) > (?2, ?3) AND (c.created_at, c.id) <= (?4, ?5)";

/// The identifiers of a page's contacts, in one statement over the page's key range
/// (contacts in the range that a filter left out are skipped).
fn attach_identifiers(
    conn: &Connection,
    org: &str,
    after: (i64, &str),
    contacts: &mut [ListedContact],
) -> Result<()> {
    let Some(last) = contacts.last().map(|c| c.contact.clone()) else {
        return Ok(());
    };
    let mut by_contact: HashMap<String, Vec<Identifier>> = contacts
        .iter()
        .map(|c| (c.contact.id.clone(), Vec::new()))
        .collect();
    let mut stmt = conn.prepare_cached(IDENTIFIERS_OF_RANGE)?;
    let mut rows = stmt.query((org, after.0, after.1, last.created_at, &last.id))?;
    while let Some(row) = rows.next()? {
        let contact_id: String = row.get(0)?;
        if let Some(list) = by_contact.get_mut(&contact_id) {
            list.push(lookup::identifier_from_row(row, 1, contact_id)?);
        }
    }
    for c in contacts {
        let mut identifiers = by_contact.remove(&c.contact.id).unwrap_or_default();
        lookup::sort_identifiers(&mut identifiers);
        c.identifiers = Some(identifiers);
    }
    Ok(())
}

fn page(
    conn: &Connection,
    org: &str,
    after: (i64, &str),
    options: &ListOptions,
    pattern: Option<&str>,
    limit: usize,
) -> Result<Vec<ListedContact>> {
    let mut stmt = conn.prepare_cached(PAGE)?;
    let rows = stmt.query_map(
        rusqlite::params![
            org,
            after.0,
            after.1,
            options.updated_since,
            pattern,
            i64::try_from(limit).unwrap_or(i64::MAX),
        ],
        |row| {
            Ok(ListedContact {
                contact: lookup::contact_from_row(row)?,
                identifiers: None,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let (m, id) = decode_cursor("1753180200000.01a2-x").unwrap();
        assert_eq!((m, id.as_str()), (1_753_180_200_000, "01a2-x"));
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
