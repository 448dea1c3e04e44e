//! `check`: whether a store's file is healthy — SQLite's integrity checks and the
//! store's own invariants (from the storage layer) — and what an operator should look
//! at: findings an upgrade left, a schema an open would upgrade.

use crate::error::Result;
use crate::model::{CheckReport, CheckWarning};
use crate::storage::Db;

/// Checks the database. Never writes.
pub(crate) fn check(db: &Db) -> Result<CheckReport> {
    let file = db.check()?;
    let mut warnings = Vec::new();
    let current = file.current_version;
    if (1..current).contains(&file.schema_version) {
        warnings.push(CheckWarning {
            warning: "older_schema".to_owned(),
            message: format!(
                "the file is at schema version {}; contactstore upgrades it to {current} \
                 when it next opens it for writing, and its invariants are checked at the \
                 current version only",
                file.schema_version
            ),
            finding: None,
        });
    }
    for finding in file.findings {
        warnings.push(CheckWarning {
            warning: "migration_finding".to_owned(),
            message: format!(
                "the schema {} upgrade left a {} {} for an operator to decide",
                finding.version, finding.finding, finding.field
            ),
            finding: Some(finding),
        });
    }
    Ok(CheckReport {
        healthy: file.outcomes.iter().all(|c| c.ok),
        schema_version: file.schema_version,
        checks: file.outcomes,
        warnings,
    })
}
