//! What operating a store reports: the consistency check and the backup.

use serde::{Deserialize, Serialize};

use super::contact::MigrationFinding;

/// The report of a consistency check ([`ContactStore::check`](crate::ContactStore::check),
/// `contactstore check`): SQLite's own checks of the file and the store's invariants,
/// each with what it found, and what an upgrade left for an operator to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// True when every check passed. Warnings do not count.
    pub healthy: bool,
    /// The file's schema version (`PRAGMA user_version`).
    pub schema_version: i64,
    /// Every check, in the order run.
    pub checks: Vec<CheckOutcome>,
    /// What needs an operator's attention without being a fault: migration findings
    /// and an older schema.
    pub warnings: Vec<CheckWarning>,
}

impl CheckReport {
    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckOutcome> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

/// One check of a [`CheckReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// Its name: `header`, `integrity_check`, `foreign_key_check`, or one of the store's
    /// invariants (`identifiers_have_contacts`, `redirects_reach_a_contact`, …).
    pub check: String,
    /// What it checks, in words.
    pub description: String,
    /// True when it found nothing wrong.
    pub ok: bool,
    /// How many problems it found: SQLite's messages, or records breaking the invariant.
    pub problems: u64,
    /// The first [`MAX_CHECK_DETAILS`](crate::limits::MAX_CHECK_DETAILS) of them:
    /// SQLite's messages, or the org and record id of each record (never its content).
    pub details: Vec<String>,
}

/// Something a [`CheckReport`] asks an operator to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckWarning {
    /// `migration_finding` or `older_schema`.
    pub warning: String,
    /// What it means, in words.
    pub message: String,
    /// The finding, for a `migration_finding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<MigrationFinding>,
}

/// What [`ContactStore::backup_to`](crate::ContactStore::backup_to) wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    /// The size of the copy in bytes.
    pub bytes: u64,
}
