//! The consistency check on PostgreSQL: the schema's version row and the store's own
//! invariants, read in one snapshot — the same invariants, in the same words, as on
//! SQLite (src/storage/sqlite/check.rs). SQLite's `integrity_check` and
//! `foreign_key_check` have no counterpart here: the server keeps its pages, and its
//! foreign keys are always enforced (the invariants that restate them still run).
//!
//! These statements cover every org and read whole tables by design: they are listed
//! in the isolation test's allowances.

use super::schema::POSTGRES_SCHEMA_VERSION;
use super::{Db, Open, PgTx, READ};
use crate::error::Result;
use crate::storage::invariants::{Found, INVARIANTS};
use crate::storage::{FileCheck, FindingRows};

const IDENTIFIERS_WITHOUT_CONTACT: &str = "SELECT i.org_id, i.id FROM identifier i \
     LEFT JOIN contact c ON c.org_id = i.org_id AND c.id = i.contact_id WHERE c.id IS NULL";
const MEMORIES_WITHOUT_CONTACT: &str = "SELECT m.org_id, m.id FROM memory m \
     LEFT JOIN contact c ON c.org_id = m.org_id AND c.id = m.contact_id WHERE c.id IS NULL";
const ENTITIES_WITHOUT_MEMORY: &str = "SELECT e.org_id, e.memory_id FROM memory_entity e \
     LEFT JOIN memory m ON m.org_id = e.org_id AND m.id = e.memory_id WHERE m.id IS NULL";
const ACTIVITIES_WITHOUT_CONTACT: &str = "SELECT a.org_id, a.id FROM activity a \
     LEFT JOIN contact c ON c.org_id = a.org_id AND c.id = a.contact_id WHERE c.id IS NULL";
const MERGED_IDS_WITH_A_CONTACT: &str = "SELECT r.org_id, r.merged_id FROM merge_redirect r \
     JOIN contact c ON c.org_id = r.org_id AND c.id = r.merged_id";
const REDIRECTS_WITHOUT_SURVIVOR: &str = "SELECT r.org_id, r.merged_id FROM merge_redirect r \
     LEFT JOIN contact c ON c.org_id = r.org_id AND c.id = r.surviving_id WHERE c.id IS NULL";
const MERGES_WITHOUT_REDIRECT: &str = "SELECT j.org_id, j.duplicate_id FROM merge_journal j \
     LEFT JOIN merge_redirect r ON r.org_id = j.org_id AND r.merged_id = j.duplicate_id \
     WHERE r.merged_id IS NULL AND j.unmerged_at IS NULL";
const REDIRECTS_WITHOUT_MERGE: &str = "SELECT r.org_id, r.merged_id FROM merge_redirect r \
     WHERE NOT EXISTS (SELECT 1 FROM merge_journal j \
     WHERE j.org_id = r.org_id AND j.duplicate_id = r.merged_id AND j.unmerged_at IS NULL)";
/// An undone merge's snapshot held the restored contact's data: unmerge clears it.
const UNDONE_MERGES_WITH_SNAPSHOT: &str = "SELECT org_id, duplicate_id FROM merge_journal \
     WHERE unmerged_at IS NOT NULL AND snapshot IS NOT NULL";
const SEVERAL_PRIMARIES: &str = "SELECT org_id, contact_id FROM identifier \
     WHERE is_primary GROUP BY org_id, contact_id, identifier_type HAVING count(*) > 1";

/// The statement listing the records that break each of
/// [`INVARIANTS`](crate::storage::invariants::INVARIANTS), in its order.
const BREAKING: [&str; 10] = [
    IDENTIFIERS_WITHOUT_CONTACT,
    MEMORIES_WITHOUT_CONTACT,
    ENTITIES_WITHOUT_MEMORY,
    ACTIVITIES_WITHOUT_CONTACT,
    MERGED_IDS_WITH_A_CONTACT,
    REDIRECTS_WITHOUT_SURVIVOR,
    MERGES_WITHOUT_REDIRECT,
    UNDONE_MERGES_WITH_SNAPSHOT,
    REDIRECTS_WITHOUT_MERGE,
    SEVERAL_PRIMARIES,
];

impl Db {
    /// Runs every check in one read transaction.
    pub(crate) fn check(&self) -> Result<FileCheck> {
        let open = Open::begin(self, READ)?;
        let tx = PgTx { db: self };
        let version: Option<(String, i64)> = tx.query_one(
            "SELECT application, version FROM contactstore_schema WHERE id = 1",
            &[],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )?;
        let mut header = Found::new();
        let schema_version = match &version {
            Some((application, v)) => {
                if application != "contactstore" {
                    header.push("contactstore_schema names another application".to_owned());
                }
                *v
            }
            None => {
                header.push("contactstore_schema has no row".to_owned());
                0
            }
        };
        let mut outcomes = vec![header.outcome("header", HEADER)];
        let mut findings = Vec::new();
        if schema_version == POSTGRES_SCHEMA_VERSION {
            for ((name, description), sql) in INVARIANTS.iter().zip(BREAKING) {
                let mut found = Found::new();
                for row in tx.rows(sql, &[])? {
                    let org: String = row.try_get(0)?;
                    let id: String = row.try_get(1)?;
                    found.push(format!("org {org}: {id}"));
                }
                outcomes.push(found.outcome(name, description));
            }
            findings = tx.findings()?;
        }
        open.commit()?;
        Ok(FileCheck {
            schema_version,
            current_version: POSTGRES_SCHEMA_VERSION,
            outcomes,
            findings,
        })
    }
}

const HEADER: &str = "the schema is contactstore's (contactstore_schema) at a version this \
     build knows";
