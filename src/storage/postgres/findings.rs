//! The `migration_finding` table: what an upgrade left for an operator to decide. (No
//! PostgreSQL upgrade writes findings yet; the table exists so that merges, erasure
//! and the listing behave as on SQLite.)

use super::PgTx;
use crate::error::Result;
use crate::model::MigrationFinding;
use crate::storage::FindingRows;

/// The administration listing covers every org.
const FINDINGS_OF_ALL_ORGS: &str = "SELECT org_id, contact_id, record_id, field, version, \
     finding, other_contact_id FROM migration_finding ORDER BY org_id, contact_id, record_id, field";
const REPOINT_FINDINGS: &str =
    "UPDATE migration_finding SET contact_id = $2 WHERE org_id = $1 AND contact_id = $3";
const REPOINT_OTHER_CONTACT: &str = "UPDATE migration_finding SET other_contact_id = $2 \
     WHERE org_id = $1 AND other_contact_id = $3";
const DELETE_FINDINGS_NAMING: &str = "DELETE FROM migration_finding \
     WHERE org_id = $1 AND (contact_id = $2 OR other_contact_id = $2)";

impl PgTx<'_> {
    /// Deletes the findings naming a contact; returns how many.
    pub(super) fn delete_findings_naming(&self, org: &str, contact_id: &str) -> Result<u64> {
        self.execute(DELETE_FINDINGS_NAMING, &[&org, &contact_id])
    }
}

impl FindingRows for PgTx<'_> {
    fn findings(&self) -> Result<Vec<MigrationFinding>> {
        self.query_all(FINDINGS_OF_ALL_ORGS, &[], |r| {
            Ok(MigrationFinding {
                org_id: r.try_get(0)?,
                contact_id: r.try_get(1)?,
                record_id: r.try_get(2)?,
                field: r.try_get(3)?,
                version: r.try_get(4)?,
                finding: r.try_get(5)?,
                other_contact_id: r.try_get(6)?,
            })
        })
    }

    fn repoint_findings(&self, org: &str, from: &str, to: &str) -> Result<()> {
        self.execute(REPOINT_FINDINGS, &[&org, &to, &from])?;
        self.execute(REPOINT_OTHER_CONTACT, &[&org, &to, &from])?;
        Ok(())
    }
}
