//! Whole contacts: the documents of export and import, and the deletion of everything
//! a contact owns. Composed from the table modules' statements.
//!
//! Export is a merge join: one walk of each table in (org, contact) order, with the
//! documents assembled as the walks meet the contacts, so a contact costs a step of
//! each walk rather than a B-tree descent per table. One contact's document
//! ([`DocumentRows::document`]) is read with per-contact statements; both orders are
//! the same (tested by comparing the two on random stores).

use std::cmp::Ordering;

use rusqlite::fallible_streaming_iterator::FallibleStreamingIterator;
use rusqlite::{Row, Rows, Statement};

use super::activity::{
    activity_from_row, ACTIVITIES_BY_CONTACT_IN_ALL_ORGS, ACTIVITIES_BY_CONTACT_IN_ORG,
};
use super::contacts::CONTACT_BY_ID;
use super::identifiers::{
    identifier, IDENTIFIERS_BY_CONTACT_IN_ALL_ORGS, IDENTIFIERS_BY_CONTACT_IN_ORG,
};
use super::memories::{
    entity_document_from_row, memory_document_from_row, ENTITIES_BY_CONTACT_IN_ALL_ORGS,
    ENTITIES_BY_CONTACT_IN_ORG, MEMORIES_BY_CONTACT_IN_ALL_ORGS, MEMORIES_BY_CONTACT_IN_ORG,
};
use super::{kind_code, stored_json, SqliteTx};
use crate::error::Result;
use crate::model::{
    ActivityKind, ActivityRow, Contact, ContactDocument, EntityDocument, Identifier, JsonObject,
    MemoryDocument,
};
use crate::storage::entities::ByMemoryId;
use crate::storage::{ActivityRows, Deleted, DocumentRows, IdentifierRows, OrgScope};

const CONTACTS_OF_ORG: &str = "SELECT * FROM contact WHERE org_id = ?1 ORDER BY org_id, id";
/// The all-orgs handle's export.
const CONTACTS_OF_ALL_ORGS: &str = "SELECT * FROM contact ORDER BY org_id, id";

/// A document with the contact row's columns (read with `*`) and nothing else yet.
fn document_head(row: &Row<'_>) -> rusqlite::Result<ContactDocument> {
    Ok(ContactDocument {
        org_id: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        metadata: stored_json(row, 3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
        identifiers: Vec::new(),
        memories: Vec::new(),
        calls: Vec::new(),
        sms_conversations: Vec::new(),
    })
}

impl SqliteTx<'_> {
    /// Fills a document head with everything the contact owns.
    fn complete(&self, mut d: ContactDocument) -> Result<ContactDocument> {
        d.identifiers = self.identifiers_of(&d.org_id, &d.id)?;
        d.memories = self.memory_documents_of(&d.org_id, &d.id)?;
        d.calls = self.activities_of(&d.org_id, &d.id, ActivityKind::Call)?;
        d.sms_conversations = self.activities_of(&d.org_id, &d.id, ActivityKind::Sms)?;
        Ok(d)
    }
}

/// Runs one of export's statements for the scope (an org's take the org as `?1`).
fn query<'s>(stmt: &'s mut Statement<'_>, orgs: OrgScope<'_>) -> rusqlite::Result<Rows<'s>> {
    match orgs {
        OrgScope::One(org) => stmt.query([org]),
        OrgScope::All => stmt.query([]),
    }
}

/// One table's rows in (org, contact) order, handed to the contacts as they go by.
struct Walk<'s, T> {
    rows: Rows<'s>,
    /// The column of the row's contact (the org is column 0).
    contact: usize,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
}

impl<'s, T> Walk<'s, T> {
    fn new(
        mut rows: Rows<'s>,
        contact: usize,
        map: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Self> {
        rows.advance()?;
        Ok(Walk { rows, contact, map })
    }

    /// Appends the rows of contact (`org`, `id`) to `out`. Rows of a contact before it
    /// (none, with foreign keys on) are passed over.
    fn take(&mut self, org: &str, id: &str, out: &mut Vec<T>) -> Result<()> {
        while let Some(row) = self.rows.get() {
            let row_org = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            let row_contact = row
                .get_ref(self.contact)?
                .as_str()
                .map_err(rusqlite::Error::from)?;
            match (row_org, row_contact).cmp(&(org, id)) {
                Ordering::Less => {}
                Ordering::Equal => out.push((self.map)(row)?),
                Ordering::Greater => return Ok(()),
            }
            self.rows.advance()?;
        }
        Ok(())
    }
}

/// A contact's identifiers as [`IdentifierRows::identifiers_of`] orders them: by type,
/// primary first, then by value.
fn identifier_order(a: &Identifier, b: &Identifier) -> Ordering {
    kind_code(a.identifier_type)
        .cmp(&kind_code(b.identifier_type))
        .then(b.is_primary.cmp(&a.is_primary))
        .then_with(|| a.identifier_value.cmp(&b.identifier_value))
}

/// Calls and SMS conversations as [`ActivityRows::activities_of`] orders them: newest
/// first (ties by id, descending).
fn newest_first(a: &ActivityRow, b: &ActivityRow) -> Ordering {
    (b.started_at, &b.id).cmp(&(a.started_at, &a.id))
}

/// Gives each memory its entities (taken from `entities`), most recently discussed
/// first (never discussed last), then by type and id, as one memory's read orders them.
fn attach_entities(memories: &mut [MemoryDocument], entities: &mut Vec<(String, EntityDocument)>) {
    let by_id = ByMemoryId::of(memories);
    for (memory_id, entity) in entities.drain(..) {
        by_id.attach(memories, &memory_id, entity);
    }
    for m in memories {
        m.entities.sort_by(|a, b| {
            b.last_discussed_at
                .cmp(&a.last_discussed_at)
                .then_with(|| a.entity_type.cmp(&b.entity_type))
                .then_with(|| a.entity_id.cmp(&b.entity_id))
        });
    }
}

impl DocumentRows for SqliteTx<'_> {
    fn each_document(
        &self,
        orgs: OrgScope<'_>,
        each: &mut dyn FnMut(ContactDocument) -> Result<()>,
    ) -> Result<()> {
        let prepare = |in_org: &str, in_all_orgs: &str| match orgs {
            OrgScope::One(_) => self.conn.prepare(in_org),
            OrgScope::All => self.conn.prepare(in_all_orgs),
        };
        let mut contacts = prepare(CONTACTS_OF_ORG, CONTACTS_OF_ALL_ORGS)?;
        let mut identifiers = prepare(
            IDENTIFIERS_BY_CONTACT_IN_ORG,
            IDENTIFIERS_BY_CONTACT_IN_ALL_ORGS,
        )?;
        let mut memories = prepare(MEMORIES_BY_CONTACT_IN_ORG, MEMORIES_BY_CONTACT_IN_ALL_ORGS)?;
        let mut entities = prepare(ENTITIES_BY_CONTACT_IN_ORG, ENTITIES_BY_CONTACT_IN_ALL_ORGS)?;
        let mut activities = prepare(
            ACTIVITIES_BY_CONTACT_IN_ORG,
            ACTIVITIES_BY_CONTACT_IN_ALL_ORGS,
        )?;

        let mut contacts = query(&mut contacts, orgs)?;
        // Columns of each row's org and contact: identifier (org_id, …, contact_id at
        // 3), memory (contact_id at 2), the entity walk (the memory's contact last, 8),
        // activity (contact_id at 3).
        let mut identifiers = Walk::new(query(&mut identifiers, orgs)?, 3, identifier)?;
        let mut memories = Walk::new(query(&mut memories, orgs)?, 2, memory_document_from_row)?;
        let mut entities = Walk::new(query(&mut entities, orgs)?, 8, |row| {
            Ok((row.get::<_, String>(1)?, entity_document_from_row(row)?))
        })?;
        let mut activities = Walk::new(query(&mut activities, orgs)?, 3, activity_from_row)?;

        let mut contact_entities = Vec::new();
        let mut contact_activities = Vec::new();
        while let Some(row) = contacts.next()? {
            let mut d = document_head(row)?;
            identifiers.take(&d.org_id, &d.id, &mut d.identifiers)?;
            d.identifiers.sort_by(identifier_order);
            memories.take(&d.org_id, &d.id, &mut d.memories)?;
            if !d.memories.is_empty() {
                d.memories
                    .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
                entities.take(&d.org_id, &d.id, &mut contact_entities)?;
                attach_entities(&mut d.memories, &mut contact_entities);
            }
            activities.take(&d.org_id, &d.id, &mut contact_activities)?;
            if !contact_activities.is_empty() {
                contact_activities.sort_by(newest_first);
                for a in contact_activities.drain(..) {
                    match a.kind {
                        ActivityKind::Call => d.calls.push(a),
                        ActivityKind::Sms => d.sms_conversations.push(a),
                    }
                }
            }
            each(d)?;
        }
        Ok(())
    }

    fn document(&self, org: &str, id: &str) -> Result<Option<ContactDocument>> {
        match self.query_one(CONTACT_BY_ID, (org, id), document_head)? {
            Some(head) => self.complete(head).map(Some),
            None => Ok(None),
        }
    }

    fn insert_document(&self, d: &ContactDocument) -> Result<()> {
        let contact = Contact {
            id: d.id.clone(),
            org_id: d.org_id.clone(),
            name: d.name.clone(),
            metadata: JsonObject::new(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        };
        self.insert_contact_row(&contact, d.metadata.as_str())?;
        for i in &d.identifiers {
            self.insert_identifier(&d.org_id, i)?;
        }
        for m in &d.memories {
            self.insert_memory_document(&d.org_id, m)?;
        }
        for a in d.all_activities() {
            self.insert_activity(&d.org_id, a)?;
        }
        Ok(())
    }

    fn delete_rows_of(&self, org: &str, contact_id: &str) -> Result<Deleted> {
        self.delete_findings_naming(org, contact_id)?;
        let (memories, entities) = self.delete_memories_of(org, contact_id)?;
        Ok(Deleted {
            entities,
            memories,
            identifiers: self.delete_identifiers_of(org, contact_id)?,
            calls: self.delete_activities_of(org, contact_id, ActivityKind::Call)?,
            sms_conversations: self.delete_activities_of(org, contact_id, ActivityKind::Sms)?,
        })
    }

    fn forget_merges_of(&self, org: &str, id: &str) -> Result<(u64, u64)> {
        self.delete_merges_naming(org, id)
    }
}

#[cfg(test)]
mod tests {
    /// Rows are read with `*` and mapped by position: the mappers follow this order.
    #[test]
    fn tables_have_the_column_order_the_mappers_read() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn, crate::settings::PhoneRegion::default()).unwrap();
        let columns = |table: &str| -> Vec<String> {
            conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .unwrap()
                .query_map([table], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(
            columns("contact"),
            [
                "org_id",
                "id",
                "name",
                "metadata",
                "created_at",
                "updated_at"
            ]
        );
        assert_eq!(
            columns("identifier"),
            [
                "org_id",
                "identifier_type",
                "identifier_value",
                "contact_id",
                "id",
                "is_primary"
            ]
        );
        assert_eq!(
            columns("memory"),
            [
                "org_id",
                "id",
                "contact_id",
                "scope",
                "persona_id",
                "agent_number",
                "summary",
                "facts",
                "recent_messages",
                "open_items",
                "created_at",
                "updated_at",
                "summary_updated_at",
                "history"
            ]
        );
        assert_eq!(
            columns("memory_entity"),
            [
                "org_id",
                "memory_id",
                "entity_type",
                "entity_id",
                "facts",
                "status",
                "last_discussed_at",
                "notes"
            ]
        );
        assert_eq!(
            columns("activity"),
            [
                "org_id",
                "kind",
                "id",
                "contact_id",
                "direction",
                "agent_number",
                "contact_number",
                "started_at",
                "amount",
                "status",
                "summary",
                "metadata"
            ]
        );
    }
}
