//! Whole contacts: the documents of export and import, and the deletion of everything
//! a contact owns. Composed from the table modules' statements.

use rusqlite::Row;

use super::contacts::CONTACT_BY_ID;
use super::{stored_json, SqliteTx};
use crate::error::Result;
use crate::model::{ActivityKind, Contact, ContactDocument, JsonObject};
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

impl DocumentRows for SqliteTx<'_> {
    fn each_document(
        &self,
        orgs: OrgScope<'_>,
        each: &mut dyn FnMut(ContactDocument) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = match orgs {
            OrgScope::One(_) => self.conn.prepare(CONTACTS_OF_ORG)?,
            OrgScope::All => self.conn.prepare(CONTACTS_OF_ALL_ORGS)?,
        };
        let mut rows = match orgs {
            OrgScope::One(org) => stmt.query([org])?,
            OrgScope::All => stmt.query([])?,
        };
        while let Some(row) = rows.next()? {
            each(self.complete(document_head(row)?)?)?;
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
