//! The `merge_redirect` and `merge_journal` tables.

use super::SqliteTx;
use crate::error::Result;
use crate::model::{to_json, MoveCounts};
use crate::storage::{JournalEntry, MergeRows};
use crate::timestamp::Timestamp;

const REDIRECT_OF: &str =
    "SELECT surviving_id FROM merge_redirect WHERE org_id = ?1 AND merged_id = ?2";
/// The all-orgs handle's merge follows a merged id in any org.
const REDIRECT_ANY_ORG: &str =
    "SELECT org_id, surviving_id FROM merge_redirect WHERE merged_id = ?1";
const REPOINT_REDIRECTS: &str = "UPDATE merge_redirect SET surviving_id = ?2 \
     WHERE org_id = ?1 AND surviving_id = ?3";
const INSERT_REDIRECT: &str = "INSERT OR IGNORE INTO merge_redirect \
     (org_id, merged_id, surviving_id, merged_at) VALUES (?1, ?2, ?3, ?4)";
const MOVE_REDIRECT: &str = "UPDATE merge_redirect SET surviving_id = ?4 \
     WHERE org_id = ?1 AND merged_id = ?2 AND surviving_id = ?3";
const DELETE_REDIRECT: &str = "DELETE FROM merge_redirect WHERE org_id = ?1 AND merged_id = ?2";
const MERGED_INTO: &str =
    "SELECT merged_id FROM merge_redirect WHERE org_id = ?1 AND surviving_id = ?2 \
     ORDER BY merged_id";
const INSERT_JOURNAL: &str =
    "INSERT INTO merge_journal (org_id, primary_id, duplicate_id, merged_at, moved, snapshot) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const MERGE_TAKING: &str = "SELECT seq, primary_id, duplicate_id, merged_at, snapshot, \
     unmerged_at FROM merge_journal \
     WHERE org_id = ?1 AND duplicate_id = ?2 AND unmerged_at IS NULL \
     ORDER BY seq DESC LIMIT 1";
const SET_SNAPSHOT: &str = "UPDATE merge_journal SET snapshot = ?3 WHERE org_id = ?1 AND seq = ?2";
const MARK_UNMERGED: &str =
    "UPDATE merge_journal SET unmerged_at = ?3, snapshot = NULL WHERE org_id = ?1 AND seq = ?2";
const RENAME_JOURNALED_DUPLICATE: &str =
    "UPDATE merge_journal SET duplicate_id = ?3 WHERE org_id = ?1 AND duplicate_id = ?2";
/// The change log names the merged contact as the related contact of its merge.
const RENAME_LOGGED_RELATED: &str =
    "UPDATE change_event SET related_id = ?3 WHERE org_id = ?1 AND related_id = ?2";
const DELETE_JOURNAL_NAMING: &str =
    "DELETE FROM merge_journal WHERE org_id = ?1 AND (primary_id = ?2 OR duplicate_id = ?2)";
const DELETE_REDIRECTS_NAMING: &str =
    "DELETE FROM merge_redirect WHERE org_id = ?1 AND (surviving_id = ?2 OR merged_id = ?2)";

impl SqliteTx<'_> {
    /// Deletes the journal rows and redirects naming an id; returns (journal rows,
    /// redirects).
    pub(super) fn delete_merges_naming(&self, org: &str, id: &str) -> Result<(u64, u64)> {
        let journal = self.execute(DELETE_JOURNAL_NAMING, (org, id))?;
        let redirects = self.execute(DELETE_REDIRECTS_NAMING, (org, id))?;
        Ok((journal, redirects))
    }
}

impl MergeRows for SqliteTx<'_> {
    fn lock_contacts(&self, _org: &str, _first: &str, _second: &str) -> Result<()> {
        // A write transaction holds the database's write lock already.
        Ok(())
    }

    fn redirect_of(&self, org: &str, merged_id: &str) -> Result<Option<String>> {
        self.query_one(REDIRECT_OF, (org, merged_id), |r| r.get(0))
    }

    fn redirect_in_any_org(&self, merged_id: &str) -> Result<Option<(String, String)>> {
        self.query_one(REDIRECT_ANY_ORG, [merged_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
    }

    fn repoint_redirects(&self, org: &str, from: &str, to: &str) -> Result<u64> {
        self.execute(REPOINT_REDIRECTS, (org, to, from))
    }

    fn insert_redirect(
        &self,
        org: &str,
        merged_id: &str,
        surviving_id: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.execute(INSERT_REDIRECT, (org, merged_id, surviving_id, at))?;
        Ok(())
    }

    fn move_redirect(&self, org: &str, merged_id: &str, from: &str, to: &str) -> Result<bool> {
        Ok(self.execute(MOVE_REDIRECT, (org, merged_id, from, to))? == 1)
    }

    fn delete_redirect(&self, org: &str, merged_id: &str) -> Result<()> {
        self.execute(DELETE_REDIRECT, (org, merged_id))?;
        Ok(())
    }

    fn ids_merged_into(&self, org: &str, surviving_id: &str) -> Result<Vec<String>> {
        self.query_all(MERGED_INTO, (org, surviving_id), |r| r.get(0))
    }

    fn journal_merge(
        &self,
        org: &str,
        primary_id: &str,
        duplicate_id: &str,
        at: Timestamp,
        moved: &MoveCounts,
        snapshot: &str,
    ) -> Result<()> {
        self.execute(
            INSERT_JOURNAL,
            (org, primary_id, duplicate_id, at, to_json(moved), snapshot),
        )?;
        Ok(())
    }

    fn merge_taking(&self, org: &str, duplicate_id: &str) -> Result<Option<JournalEntry>> {
        self.query_one(MERGE_TAKING, (org, duplicate_id), |r| {
            Ok(JournalEntry {
                seq: r.get(0)?,
                primary_id: r.get(1)?,
                duplicate_id: r.get(2)?,
                merged_at: r.get(3)?,
                snapshot: r.get(4)?,
                unmerged_at: r.get(5)?,
            })
        })
    }

    fn set_merge_snapshot(&self, org: &str, seq: i64, snapshot: &str) -> Result<()> {
        self.execute(SET_SNAPSHOT, (org, seq, snapshot))?;
        Ok(())
    }

    fn mark_unmerged(&self, org: &str, seq: i64, at: Timestamp) -> Result<()> {
        self.execute(MARK_UNMERGED, (org, seq, at))?;
        Ok(())
    }

    fn rename_journaled_duplicate(&self, org: &str, from: &str, to: &str) -> Result<()> {
        self.execute(RENAME_JOURNALED_DUPLICATE, (org, from, to))?;
        self.execute(RENAME_LOGGED_RELATED, (org, from, to))?;
        Ok(())
    }
}
