//! [`AllOrgs`], the administration view across orgs.

use std::io::{BufRead, Write};

use super::ContactStore;
use crate::error::Result;
use crate::model::MigrationFinding;
use crate::ops::merge::{self, Merged};
use crate::ops::transfer::{
    self, ExportSummary, ImportError, ImportOptions, ImportProgress, ImportSummary,
};
use crate::storage::OrgScope;

/// The administration view across all orgs, from [`ContactStore::all_orgs`]: export
/// and import of every org at once (documents carry their `org_id`).
#[derive(Debug, Clone, Copy)]
pub struct AllOrgs<'s> {
    pub(super) store: &'s ContactStore,
}

impl AllOrgs<'_> {
    /// Merges two contacts found by id in any org; contacts of different orgs are
    /// refused. Otherwise as [`Org::merge`](crate::Org::merge).
    ///
    /// # Errors
    /// [`Error::Refused`](crate::Error::Refused) `Cannot merge contacts from different orgs` or `Cannot merge a
    /// contact with itself`; [`Error::NotFound`](crate::Error::NotFound); [`Error::Storage`](crate::Error::Storage).
    pub fn merge(&self, primary_id: &str, duplicate_id: &str) -> Result<Merged> {
        merge::merge(&self.store.db, OrgScope::All, primary_id, duplicate_id)
    }

    /// What schema upgrades found and left for an operator to decide: stored phone
    /// numbers that a newer normalization would have rewritten onto a value another
    /// record holds (both kept), or that are no longer valid. Empty on a file created
    /// by this version.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub fn migration_findings(&self) -> Result<Vec<MigrationFinding>> {
        self.store.db.read(|tx| tx.findings())
    }

    /// Writes every org's contacts as JSON Lines, ordered by org and id.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) if writing fails; [`Error::Storage`](crate::Error::Storage).
    pub fn export(&self, out: &mut dyn Write) -> Result<ExportSummary> {
        transfer::export(&self.store.db, OrgScope::All, out)
    }

    /// Imports documents into the orgs they name (`org_id` is required on each line).
    /// Otherwise as [`Org::import`](crate::Org::import).
    ///
    /// # Errors
    /// As [`Org::import`](crate::Org::import).
    pub fn import(
        &self,
        input: &mut (dyn BufRead + Send),
        options: &ImportOptions,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportSummary, ImportError> {
        transfer::import(&self.store.db, OrgScope::All, input, options, progress)
    }
}
