//! Whole contacts: the documents of export and import, and the deletion of everything
//! a contact owns. Composed from the table modules' statements.

use postgres::Row;

use super::contacts::CONTACT_BY_ID;
use super::{stored_json, PgTx};
use crate::error::Result;
use crate::model::{ActivityKind, Contact, ContactDocument, JsonObject};
use crate::storage::{ActivityRows, Deleted, DocumentRows, IdentifierRows, OrgScope};

/// One connection runs one statement at a time, so export reads the contacts a page
/// at a time (keyset, in the order SQLite's export walks: org, then id) and completes
/// each page's documents between pages; all inside the caller's one snapshot.
const CONTACTS_OF_ORG: &str =
    "SELECT * FROM contact WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3";
/// The all-orgs handle's export.
const CONTACTS_OF_ALL_ORGS: &str =
    "SELECT * FROM contact WHERE (org_id, id) > ($1, $2) ORDER BY org_id, id LIMIT $3";

/// Contacts per page of an export.
const PAGE: i64 = 500;

/// A document with the contact row's columns (read with `*`) and nothing else yet.
fn document_head(row: &Row) -> Result<ContactDocument> {
    Ok(ContactDocument {
        org_id: row.try_get(0)?,
        id: row.try_get(1)?,
        name: row.try_get(2)?,
        metadata: stored_json(row, 3)?,
        created_at: row.try_get(4)?,
        updated_at: row.try_get(5)?,
        identifiers: Vec::new(),
        memories: Vec::new(),
        calls: Vec::new(),
        sms_conversations: Vec::new(),
    })
}

impl PgTx<'_> {
    /// Fills a document head with everything the contact owns.
    fn complete(&self, mut d: ContactDocument) -> Result<ContactDocument> {
        d.identifiers = self.identifiers_of(&d.org_id, &d.id)?;
        d.memories = self.memory_documents_of(&d.org_id, &d.id)?;
        d.calls = self.activities_of(&d.org_id, &d.id, ActivityKind::Call)?;
        d.sms_conversations = self.activities_of(&d.org_id, &d.id, ActivityKind::Sms)?;
        Ok(d)
    }
}

impl DocumentRows for PgTx<'_> {
    fn each_document(
        &self,
        orgs: OrgScope<'_>,
        each: &mut dyn FnMut(ContactDocument) -> Result<()>,
    ) -> Result<()> {
        let (mut org, mut id) = (String::new(), String::new());
        loop {
            let heads = match orgs {
                OrgScope::One(one) => {
                    self.query_all(CONTACTS_OF_ORG, &[&one, &id, &PAGE], document_head)?
                }
                OrgScope::All => {
                    self.query_all(CONTACTS_OF_ALL_ORGS, &[&org, &id, &PAGE], document_head)?
                }
            };
            let full = heads.len() as i64 == PAGE;
            for head in heads {
                org.clone_from(&head.org_id);
                id.clone_from(&head.id);
                each(self.complete(head)?)?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn document(&self, org: &str, id: &str) -> Result<Option<ContactDocument>> {
        match self.query_one(CONTACT_BY_ID, &[&org, &id], document_head)? {
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
