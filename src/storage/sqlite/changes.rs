//! The `change_event` and `change_log` tables.

use std::cell::Cell;
use std::time::{Duration, Instant};

use rusqlite::Row;

use super::SqliteTx;
use crate::error::Result;
use crate::model::{to_json, Change, ChangeKind, NewChange};
use crate::storage::{ChangeRows, OrgScope};
use crate::timestamp::Timestamp;

const APPEND: &str = "INSERT INTO change_event (org_id, at, kind, contact_id, related_id, detail) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const AFTER_IN_ORG: &str = "SELECT seq, at, org_id, kind, contact_id, related_id, detail \
     FROM change_event WHERE org_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
/// The all-orgs handle's feed.
const AFTER_IN_ALL_ORGS: &str = "SELECT seq, at, org_id, kind, contact_id, related_id, detail \
     FROM change_event WHERE seq > ?1 ORDER BY seq LIMIT ?2";
const COMPACTED_THROUGH: &str = "SELECT compacted_through FROM change_log WHERE id = 1";
const LAST_SEQ: &str = "SELECT coalesce(max(seq), 0) FROM change_event";
const OLDEST: &str = "SELECT seq, at FROM change_event ORDER BY seq LIMIT 1";
/// Deletes, within one range of seqs, the events written before a time.
const DELETE_RANGE_OLDER: &str =
    "DELETE FROM change_event WHERE seq <= ?1 AND at < ?2 RETURNING seq";
const DELETE_RANGE: &str = "DELETE FROM change_event WHERE seq <= ?1";
const SET_COMPACTED_THROUGH: &str =
    "UPDATE change_log SET compacted_through = max(compacted_through, ?1) WHERE id = 1";
/// The events naming two contacts (merges and unmerges): the only ones where one
/// contact's identifiers appear in another's events.
const EVENTS_WITH_RELATED: &str = "SELECT seq, detail FROM change_event \
     WHERE org_id = ?1 AND related_id IS NOT NULL ORDER BY org_id, related_id";
const SET_DETAIL: &str = "UPDATE change_event SET detail = ?3 WHERE org_id = ?1 AND seq = ?2";
/// Erase's deletion: every event of some contacts (a JSON array of ids) but their
/// tombstones, in one walk of the org's retained log (no index by contact: one would
/// cost every write a random B-tree insert, for the rare erase); the planner would
/// rather walk every org's.
const DELETE_OF_CONTACTS: &str = "DELETE FROM change_event INDEXED BY change_event_by_org \
     WHERE org_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2)) \
     AND kind <> 'contact.erased'";

/// Erase tombstones naming an id among their merged ids: rare events, found by walking
/// the org's retained log (only an unmerge of an unknown id asks).
const ERASED_WITH: &str = "SELECT 1 FROM change_event INDEXED BY change_event_by_org \
     WHERE org_id = ?1 AND kind = 'contact.erased' \
     AND EXISTS (SELECT 1 FROM json_each(detail, '$.merged_ids') WHERE value = ?2) LIMIT 1";

/// Most events one compaction deletes: it holds the write lock meanwhile.
pub(super) const COMPACTION_BATCH: u64 = 10_000;

/// When a connection next compacts the change log: after its first write, then at
/// most every [`CompactionClock::EVERY`] (retention is in days; checking on every
/// commit would cost every write a statement).
#[derive(Debug, Default)]
pub(super) struct CompactionClock {
    last: Cell<Option<Instant>>,
}

impl CompactionClock {
    const EVERY: Duration = Duration::from_secs(600);

    pub(super) fn due(&self) -> bool {
        self.last.get().is_none_or(|t| t.elapsed() >= Self::EVERY)
    }

    pub(super) fn done(&self) {
        self.last.set(Some(Instant::now()));
    }
}

fn change(row: &Row<'_>) -> rusqlite::Result<Change> {
    let kind: String = row.get(3)?;
    let detail: String = row.get(6)?;
    Ok(Change {
        seq: row.get::<_, i64>(0)? as u64,
        at: row.get(1)?,
        org_id: row.get(2)?,
        // The log is written by this library only; an unknown kind would be a newer
        // build's, read as an update.
        kind: ChangeKind::parse(&kind).unwrap_or(ChangeKind::ContactUpdated),
        contact_id: row.get(4)?,
        related_id: row.get(5)?,
        detail: serde_json::from_str(&detail).unwrap_or_default(),
    })
}

impl ChangeRows for SqliteTx<'_> {
    fn logs_changes(&self) -> bool {
        self.log_changes
    }

    fn append_change(&self, change: &NewChange<'_>) -> Result<()> {
        self.execute(
            APPEND,
            (
                change.org_id,
                change.at,
                change.kind.as_str(),
                change.contact_id,
                change.related_id,
                &change.detail,
            ),
        )?;
        Ok(())
    }

    fn changes_after(&self, orgs: OrgScope<'_>, since: u64, limit: usize) -> Result<Vec<Change>> {
        let limit = limit as i64;
        let since = since.min(i64::MAX as u64) as i64;
        match orgs {
            OrgScope::One(org) => self.query_all(AFTER_IN_ORG, (org, since, limit), change),
            OrgScope::All => self.query_all(AFTER_IN_ALL_ORGS, (since, limit), change),
        }
    }

    fn compacted_through(&self) -> Result<u64> {
        Ok(self
            .query_one(COMPACTED_THROUGH, [], |r| r.get::<_, i64>(0))?
            .unwrap_or(0) as u64)
    }

    fn last_change_seq(&self) -> Result<u64> {
        Ok(self
            .query_one(LAST_SEQ, [], |r| r.get::<_, i64>(0))?
            .unwrap_or(0) as u64)
    }

    fn compact_changes(
        &self,
        written_before: Option<Timestamp>,
        keep: Option<u64>,
        batch: u64,
    ) -> Result<u64> {
        let Some((oldest, _)) = self.oldest_change()? else {
            return Ok(0);
        };
        let oldest = oldest as i64;
        // The newest event is never deleted: without AUTOINCREMENT the next seq is one
        // above the largest left, so deleting the newest would hand its seq out again.
        let last = self.last_change_seq()? as i64;
        // One bounded range of seqs per call, so a compaction never holds the write
        // lock for long; the next call takes the next range.
        let upper = oldest.saturating_add(batch as i64 - 1).min(last - 1);
        let mut deleted = 0;
        if let Some(keep) = keep {
            let through = last.saturating_sub(keep.max(1) as i64).min(upper);
            if through >= oldest {
                deleted += self.execute(DELETE_RANGE, [through])?;
                self.execute(SET_COMPACTED_THROUGH, [through])?;
            }
        }
        if let Some(before) = written_before {
            let seqs: Vec<i64> =
                self.query_all(DELETE_RANGE_OLDER, (upper, before), |r| r.get(0))?;
            // The newest event deleted bounds what a consumer may have missed (a clock
            // that stepped back may leave older ones in place).
            if let Some(through) = seqs.iter().max() {
                self.execute(SET_COMPACTED_THROUGH, [through])?;
                deleted += seqs.len() as u64;
            }
        }
        Ok(deleted)
    }

    fn oldest_change(&self) -> Result<Option<(u64, Timestamp)>> {
        self.query_one(OLDEST, [], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
    }

    fn changes_with_related(&self, org: &str) -> Result<Vec<(u64, String)>> {
        self.query_all(EVENTS_WITH_RELATED, [org], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
        })
    }

    fn set_change_detail(&self, org: &str, seq: u64, detail: &str) -> Result<()> {
        self.execute(SET_DETAIL, (org, seq as i64, detail))?;
        Ok(())
    }

    fn erased_with(&self, org: &str, merged_id: &str) -> Result<bool> {
        Ok(self
            .query_one(ERASED_WITH, (org, merged_id), |r| r.get::<_, i64>(0))?
            .is_some())
    }

    fn erase_changes_of(&self, org: &str, contact_ids: &[&str]) -> Result<u64> {
        self.execute(DELETE_OF_CONTACTS, (org, to_json(&contact_ids)))
    }
}
