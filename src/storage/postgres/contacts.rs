//! The `contact` table.
//!
//! Contact rows are read with `*` and mapped by [`contact_from_row`] in the table's
//! column order (schema.postgres.sql), the same order as on SQLite.

use postgres::Row;

use super::{big, json_column, position, Json, PgTx};
use crate::error::Result;
use crate::model::{to_json, Contact};
use crate::storage::{ContactRows, NamedContact, PageQuery};
use crate::timestamp::Timestamp;

/// Also read as a document's head (documents.rs).
pub(super) const CONTACT_BY_ID: &str = "SELECT * FROM contact WHERE org_id = $1 AND id = $2";
/// The all-orgs handle's lookup by id (ids are random UUIDs, one org each).
const CONTACT_BY_ID_ANY_ORG: &str = "SELECT * FROM contact WHERE id = $1 LIMIT 1";
/// Whether an imported id is free must be asked of every org; the answer is never
/// shown to the caller (an id another org uses is replaced by a fresh one).
const CONTACT_ID_TAKEN: &str = "SELECT org_id FROM contact WHERE id = $1 LIMIT 1";
const INSERT_CONTACT: &str =
    "INSERT INTO contact (org_id, id, name, metadata, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const SAVE_CONTACT: &str = "UPDATE contact SET name = $3, metadata = $4, created_at = $5, \
     updated_at = $6 WHERE org_id = $1 AND id = $2";
const TOUCH_CONTACT: &str = "UPDATE contact SET updated_at = $3 WHERE org_id = $1 AND id = $2";
const DELETE_CONTACT: &str = "DELETE FROM contact WHERE org_id = $1 AND id = $2";
/// SQLite's LIKE folds ASCII case only; so does ILIKE under the C collation.
const PAGE: &str = "SELECT * FROM contact \
     WHERE org_id = $1 AND (created_at, id) > ($2, $3) \
       AND ($4::timestamptz IS NULL OR updated_at >= $4) \
       AND ($5::text IS NULL OR name ILIKE $5 ESCAPE '\\') \
     ORDER BY created_at, id LIMIT $6";
const PAGE_AT_OFFSET: &str = "SELECT * FROM contact WHERE org_id = $1 \
     ORDER BY created_at, id LIMIT $2 OFFSET $3";
const COUNT_CONTACTS: &str = "SELECT count(*) FROM contact WHERE org_id = $1";
const NAMED_CONTACTS_AFTER: &str = "SELECT id, name, created_at FROM contact \
     WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3";
/// Both contacts of a merge, locked in id order.
const LOCK_CONTACTS: &str = "SELECT id FROM contact WHERE org_id = $1 AND id IN ($2, $3) \
     ORDER BY id FOR UPDATE";

/// A contact from columns `first..first + 6` in the table's order: org_id, id, name,
/// metadata, created_at, updated_at.
pub(super) fn contact_from_row(row: &Row, first: usize) -> Result<Contact> {
    Ok(Contact {
        org_id: row.try_get(first)?,
        id: row.try_get(first + 1)?,
        name: row.try_get(first + 2)?,
        metadata: json_column(row, first + 3)?,
        created_at: row.try_get(first + 4)?,
        updated_at: row.try_get(first + 5)?,
    })
}

fn contact(row: &Row) -> Result<Contact> {
    contact_from_row(row, 0)
}

impl PgTx<'_> {
    /// Inserts a contact row whose metadata is JSON text already.
    pub(super) fn insert_contact_row(&self, c: &Contact, metadata: &str) -> Result<()> {
        self.execute(
            INSERT_CONTACT,
            &[
                &c.org_id,
                &c.id,
                &c.name,
                &Json(metadata),
                &c.created_at,
                &c.updated_at,
            ],
        )?;
        Ok(())
    }

    /// Locks both contacts of a merge (see [`crate::storage::MergeRows::lock_contacts`]).
    pub(super) fn lock_pair(&self, org: &str, first: &str, second: &str) -> Result<()> {
        self.rows(LOCK_CONTACTS, &[&org, &first, &second])?;
        Ok(())
    }
}

impl ContactRows for PgTx<'_> {
    fn contact(&self, org: &str, id: &str) -> Result<Option<Contact>> {
        self.query_one(CONTACT_BY_ID, &[&org, &id], contact)
    }

    fn contact_in_any_org(&self, id: &str) -> Result<Option<Contact>> {
        self.query_one(CONTACT_BY_ID_ANY_ORG, &[&id], contact)
    }

    fn org_using_contact_id(&self, id: &str) -> Result<Option<String>> {
        self.query_one(CONTACT_ID_TAKEN, &[&id], |r| Ok(r.try_get(0)?))
    }

    fn insert_contact(&self, c: &Contact) -> Result<()> {
        self.insert_contact_row(c, &to_json(&c.metadata))
    }

    fn save_contact(&self, c: &Contact) -> Result<()> {
        let metadata = to_json(&c.metadata);
        self.execute(
            SAVE_CONTACT,
            &[
                &c.org_id,
                &c.id,
                &c.name,
                &Json(&metadata),
                &c.created_at,
                &c.updated_at,
            ],
        )?;
        Ok(())
    }

    fn touch_contact(&self, org: &str, id: &str, now: Timestamp) -> Result<()> {
        self.execute(TOUCH_CONTACT, &[&org, &id, &now])?;
        Ok(())
    }

    fn delete_contact(&self, org: &str, id: &str) -> Result<()> {
        self.execute(DELETE_CONTACT, &[&org, &id])?;
        Ok(())
    }

    fn contact_page(&self, org: &str, q: &PageQuery<'_>) -> Result<Vec<Contact>> {
        let (after_at, after_id) = position(q.after);
        self.query_all(
            PAGE,
            &[
                &org,
                &after_at,
                &after_id,
                &q.updated_since,
                &q.name_like,
                &big(q.limit as u64),
            ],
            contact,
        )
    }

    fn contacts_at_offset(&self, org: &str, offset: u64, limit: usize) -> Result<Vec<Contact>> {
        self.query_all(
            PAGE_AT_OFFSET,
            &[&org, &big(limit as u64), &big(offset)],
            contact,
        )
    }

    fn count_contacts(&self, org: &str) -> Result<u64> {
        let n: Option<i64> = self.query_one(COUNT_CONTACTS, &[&org], |r| Ok(r.try_get(0)?))?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    fn named_contacts_after(
        &self,
        org: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<NamedContact>> {
        self.query_all(
            NAMED_CONTACTS_AFTER,
            &[&org, &after_id, &big(limit as u64)],
            |r| {
                Ok(NamedContact {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                })
            },
        )
    }
}
