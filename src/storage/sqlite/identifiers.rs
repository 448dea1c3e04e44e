//! The `identifier` table: one row per (org, type, normalized value), owned by one
//! contact. Rows are read with `*` and mapped by [`identifier_from_row`] in the
//! table's column order.

use rusqlite::Row;

use super::contacts::contact_from_row;
use super::{kind_code, kind_of_code, SqliteTx};
use crate::error::Result;
use crate::model::{Contact, Identifier, IdentifierType};
use crate::storage::{ContactIdentifier, IdentifierRows, ListPosition, Owner};

const OWNER: &str = "SELECT contact_id, is_primary FROM identifier \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";
const CONTACT_OF_IDENTIFIER: &str = "SELECT c.* \
     FROM identifier i JOIN contact c ON c.org_id = i.org_id AND c.id = i.contact_id \
     WHERE i.org_id = ?1 AND i.identifier_type = ?2 AND i.identifier_value = ?3";
const IDENTIFIERS_OF_CONTACT: &str = "SELECT * FROM identifier \
     WHERE org_id = ?1 AND contact_id = ?2 \
     ORDER BY identifier_type, is_primary DESC, identifier_value";
const IDENTIFIERS_BETWEEN: &str = "SELECT i.* \
     FROM contact c JOIN identifier i ON i.org_id = c.org_id AND i.contact_id = c.id \
     WHERE c.org_id = ?1 AND (c.created_at, c.id) > (?2, ?3) AND (c.created_at, c.id) <= (?4, ?5)";
/// The identifiers of a range of contact ids, walking the contact index (which holds
/// the whole key, so the table itself is not read).
const IDENTIFIERS_OF_ID_RANGE: &str = "SELECT contact_id, identifier_type, identifier_value \
     FROM identifier WHERE org_id = ?1 AND contact_id > ?2 AND contact_id <= ?3 \
     ORDER BY contact_id";
/// Export's walk of the identifiers (of an org, of every org), in contact order through
/// the contact index.
pub(super) const IDENTIFIERS_BY_CONTACT_IN_ORG: &str =
    "SELECT * FROM identifier WHERE org_id = ?1 ORDER BY org_id, contact_id";
pub(super) const IDENTIFIERS_BY_CONTACT_IN_ALL_ORGS: &str =
    "SELECT * FROM identifier ORDER BY org_id, contact_id";
const HAS_PRIMARY: &str = "SELECT 1 FROM identifier \
     WHERE org_id = ?1 AND contact_id = ?2 AND identifier_type = ?3 AND is_primary = 1";
const COUNT_IDENTIFIERS: &str =
    "SELECT count(*) FROM identifier WHERE org_id = ?1 AND contact_id = ?2";
const INSERT_IDENTIFIER: &str = "INSERT INTO identifier \
     (org_id, identifier_type, identifier_value, contact_id, id, is_primary) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const DELETE_IDENTIFIER: &str = "DELETE FROM identifier \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";
const DELETE_IDENTIFIERS_OF_CONTACT: &str =
    "DELETE FROM identifier WHERE org_id = ?1 AND contact_id = ?2";
const PROMOTE_FIRST_OF_TYPE: &str = "UPDATE identifier SET is_primary = 1 \
     WHERE org_id = ?1 AND identifier_type = ?3 AND identifier_value = \
        (SELECT identifier_value FROM identifier \
         WHERE org_id = ?1 AND contact_id = ?2 AND identifier_type = ?3 \
         ORDER BY identifier_value LIMIT 1)";
const CLEAR_PRIMARY_OF_TYPE: &str = "UPDATE identifier SET is_primary = 0 \
     WHERE org_id = ?1 AND contact_id = ?2 AND identifier_type = ?3 AND is_primary = 1";
const SET_PRIMARY: &str = "UPDATE identifier SET is_primary = 1 \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";
const ASSIGN_IDENTIFIER: &str = "UPDATE identifier SET contact_id = ?4, is_primary = ?5 \
     WHERE org_id = ?1 AND identifier_type = ?2 AND identifier_value = ?3";
const MOVE_IDENTIFIERS: &str = "UPDATE identifier SET contact_id = ?2, \
     is_primary = is_primary AND identifier_type NOT IN \
         (SELECT identifier_type FROM identifier \
          WHERE org_id = ?1 AND contact_id = ?2 AND is_primary = 1) \
     WHERE org_id = ?1 AND contact_id = ?3";

/// An identifier from columns `first..first + 6` in the table's order: org_id,
/// identifier_type, identifier_value, contact_id, id, is_primary.
fn identifier_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Identifier> {
    let code: i64 = row.get(first + 1)?;
    Ok(Identifier {
        identifier_type: kind_of_code(code)
            .ok_or(rusqlite::Error::IntegralValueOutOfRange(first + 1, code))?,
        identifier_value: row.get(first + 2)?,
        contact_id: row.get(first + 3)?,
        id: row.get(first + 4)?,
        is_primary: row.get(first + 5)?,
    })
}

pub(super) fn identifier(row: &Row<'_>) -> rusqlite::Result<Identifier> {
    identifier_from_row(row, 0)
}

impl SqliteTx<'_> {
    /// Deletes every identifier of a contact; returns how many.
    pub(super) fn delete_identifiers_of(&self, org: &str, contact_id: &str) -> Result<u64> {
        self.execute(DELETE_IDENTIFIERS_OF_CONTACT, (org, contact_id))
    }
}

impl IdentifierRows for SqliteTx<'_> {
    fn identifier_owner(
        &self,
        org: &str,
        kind: IdentifierType,
        value: &str,
    ) -> Result<Option<Owner>> {
        self.query_one(OWNER, (org, kind_code(kind), value), |r| {
            Ok(Owner {
                contact_id: r.get(0)?,
                is_primary: r.get(1)?,
            })
        })
    }

    fn contact_owning(
        &self,
        org: &str,
        kind: IdentifierType,
        value: &str,
    ) -> Result<Option<Contact>> {
        self.query_one(CONTACT_OF_IDENTIFIER, (org, kind_code(kind), value), |r| {
            contact_from_row(r, 0)
        })
    }

    fn identifiers_of(&self, org: &str, contact_id: &str) -> Result<Vec<Identifier>> {
        self.query_all(IDENTIFIERS_OF_CONTACT, (org, contact_id), identifier)
    }

    fn identifiers_between(
        &self,
        org: &str,
        after: &ListPosition,
        last: &ListPosition,
    ) -> Result<Vec<Identifier>> {
        self.query_all(
            IDENTIFIERS_BETWEEN,
            (org, after.created_at, &after.id, last.created_at, &last.id),
            identifier,
        )
    }

    fn identifiers_of_id_range(
        &self,
        org: &str,
        after_id: &str,
        last_id: &str,
    ) -> Result<Vec<ContactIdentifier>> {
        self.query_all(IDENTIFIERS_OF_ID_RANGE, (org, after_id, last_id), |r| {
            let code: i64 = r.get(1)?;
            Ok(ContactIdentifier {
                contact_id: r.get(0)?,
                kind: kind_of_code(code)
                    .ok_or(rusqlite::Error::IntegralValueOutOfRange(1, code))?,
                value: r.get(2)?,
            })
        })
    }

    fn has_primary(&self, org: &str, contact_id: &str, kind: IdentifierType) -> Result<bool> {
        self.exists(HAS_PRIMARY, (org, contact_id, kind_code(kind)))
    }

    fn count_identifiers(&self, org: &str, contact_id: &str) -> Result<u64> {
        let n: Option<i64> = self.query_one(COUNT_IDENTIFIERS, (org, contact_id), |r| r.get(0))?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    fn insert_identifier(&self, org: &str, i: &Identifier) -> Result<()> {
        self.execute(
            INSERT_IDENTIFIER,
            (
                org,
                kind_code(i.identifier_type),
                &i.identifier_value,
                &i.contact_id,
                &i.id,
                i.is_primary,
            ),
        )?;
        Ok(())
    }

    fn assign_identifier(
        &self,
        org: &str,
        kind: IdentifierType,
        value: &str,
        contact_id: &str,
        is_primary: bool,
    ) -> Result<()> {
        self.execute(
            ASSIGN_IDENTIFIER,
            (org, kind_code(kind), value, contact_id, is_primary),
        )?;
        Ok(())
    }

    fn delete_identifier(&self, org: &str, kind: IdentifierType, value: &str) -> Result<()> {
        self.execute(DELETE_IDENTIFIER, (org, kind_code(kind), value))?;
        Ok(())
    }

    fn promote_first_identifier(
        &self,
        org: &str,
        contact_id: &str,
        kind: IdentifierType,
    ) -> Result<()> {
        self.execute(PROMOTE_FIRST_OF_TYPE, (org, contact_id, kind_code(kind)))?;
        Ok(())
    }

    fn make_primary(
        &self,
        org: &str,
        contact_id: &str,
        kind: IdentifierType,
        value: &str,
    ) -> Result<()> {
        self.execute(CLEAR_PRIMARY_OF_TYPE, (org, contact_id, kind_code(kind)))?;
        self.execute(SET_PRIMARY, (org, kind_code(kind), value))?;
        Ok(())
    }

    fn move_identifiers(&self, org: &str, from: &str, to: &str) -> Result<u64> {
        self.execute(MOVE_IDENTIFIERS, (org, to, from))
    }
}
