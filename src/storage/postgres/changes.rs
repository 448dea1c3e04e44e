//! The `change_event` and `change_log` tables.

use postgres::Row;

use super::{big, Json, JsonText, PgTx};
use crate::error::Result;
use crate::model::{Change, ChangeKind, NewChange};
use crate::storage::{ChangeRows, OrgScope};
use crate::timestamp::Timestamp;

/// Appends an event: the advisory lock first (held to the commit, so seqs are drawn in
/// commit order; see schema.postgres.sql), then the seq, in one statement.
const APPEND: &str =
    "INSERT INTO change_event (org_id, seq, at, kind, contact_id, related_id, detail) \
     SELECT $1, nextval('change_event_seq'), $2, $3, $4, $5, $6 \
     FROM (SELECT pg_advisory_xact_lock(7306232590271)) AS appending";
const AFTER_IN_ORG: &str = "SELECT seq, at, org_id, kind, contact_id, related_id, detail \
     FROM change_event WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
/// The all-orgs handle's feed.
const AFTER_IN_ALL_ORGS: &str = "SELECT seq, at, org_id, kind, contact_id, related_id, detail \
     FROM change_event WHERE seq > $1 ORDER BY seq LIMIT $2";
const COMPACTED_THROUGH: &str = "SELECT compacted_through FROM change_log WHERE id = 1";
const LAST_SEQ: &str = "SELECT coalesce(max(seq), 0)::bigint FROM change_event";
const OLDEST: &str = "SELECT seq, at FROM change_event ORDER BY seq LIMIT 1";
const DELETE_RANGE_OLDER: &str =
    "DELETE FROM change_event WHERE seq <= $1 AND at < $2 RETURNING seq";
const DELETE_RANGE: &str = "DELETE FROM change_event WHERE seq <= $1";
const SET_COMPACTED_THROUGH: &str =
    "UPDATE change_log SET compacted_through = greatest(compacted_through, $1) WHERE id = 1";
/// The events naming two contacts (merges and unmerges).
const EVENTS_WITH_RELATED: &str = "SELECT seq, detail FROM change_event \
     WHERE org_id = $1 AND related_id IS NOT NULL ORDER BY related_id, seq";
const SET_DETAIL: &str = "UPDATE change_event SET detail = $3 WHERE org_id = $1 AND seq = $2";
/// Erase's deletion: every event of some contacts but their tombstones.
const DELETE_OF_CONTACTS: &str = "DELETE FROM change_event \
     WHERE org_id = $1 AND contact_id = ANY($2) AND kind <> 'contact.erased'";
/// Erase tombstones naming an id among their merged ids.
const ERASED_WITH: &str = "SELECT 1 FROM change_event \
     WHERE org_id = $1 AND kind = 'contact.erased' \
     AND EXISTS (SELECT 1 FROM json_array_elements_text(CASE \
         WHEN json_typeof(detail -> 'merged_ids') = 'array' THEN detail -> 'merged_ids' \
         ELSE '[]'::json END) AS merged(id) WHERE merged.id = $2) LIMIT 1";

fn change(row: &Row) -> Result<Change> {
    let kind: &str = row.try_get(3)?;
    let JsonText(detail) = row.try_get(6)?;
    Ok(Change {
        seq: row.try_get::<_, i64>(0)? as u64,
        at: row.try_get(1)?,
        org_id: row.try_get(2)?,
        // As on SQLite: an unknown kind would be a newer build's, read as an update.
        kind: ChangeKind::parse(kind).unwrap_or(ChangeKind::ContactUpdated),
        contact_id: row.try_get(4)?,
        related_id: row.try_get(5)?,
        detail: serde_json::from_str(&detail).unwrap_or_default(),
    })
}

impl ChangeRows for PgTx<'_> {
    fn logs_changes(&self) -> bool {
        self.db.settings.change_log.enabled
    }

    fn append_change(&self, change: &NewChange<'_>) -> Result<()> {
        self.execute(
            APPEND,
            &[
                &change.org_id,
                &change.at,
                &change.kind.as_str(),
                &change.contact_id,
                &change.related_id,
                &Json(&change.detail),
            ],
        )?;
        Ok(())
    }

    fn changes_after(&self, orgs: OrgScope<'_>, since: u64, limit: usize) -> Result<Vec<Change>> {
        let limit = big(limit as u64);
        let since = big(since);
        match orgs {
            OrgScope::One(org) => self.query_all(AFTER_IN_ORG, &[&org, &since, &limit], change),
            OrgScope::All => self.query_all(AFTER_IN_ALL_ORGS, &[&since, &limit], change),
        }
    }

    fn compacted_through(&self) -> Result<u64> {
        Ok(self
            .query_one(COMPACTED_THROUGH, &[], |r| Ok(r.try_get::<_, i64>(0)?))?
            .unwrap_or(0) as u64)
    }

    fn last_change_seq(&self) -> Result<u64> {
        Ok(self
            .query_one(LAST_SEQ, &[], |r| Ok(r.try_get::<_, i64>(0)?))?
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
        // The newest event is never deleted, as on SQLite (there, its seq would be
        // handed out again; here it keeps the engines' rules the same).
        let last = self.last_change_seq()? as i64;
        let upper = oldest.saturating_add(batch as i64 - 1).min(last - 1);
        let mut deleted = 0;
        if let Some(keep) = keep {
            let through = last.saturating_sub(keep.max(1) as i64).min(upper);
            if through >= oldest {
                deleted += self.execute(DELETE_RANGE, &[&through])?;
                self.execute(SET_COMPACTED_THROUGH, &[&through])?;
            }
        }
        if let Some(before) = written_before {
            let seqs: Vec<i64> =
                self.query_all(
                    DELETE_RANGE_OLDER,
                    &[&upper, &before],
                    |r| Ok(r.try_get(0)?),
                )?;
            if let Some(through) = seqs.iter().max() {
                self.execute(SET_COMPACTED_THROUGH, &[through])?;
                deleted += seqs.len() as u64;
            }
        }
        Ok(deleted)
    }

    fn oldest_change(&self) -> Result<Option<(u64, Timestamp)>> {
        self.query_one(OLDEST, &[], |r| {
            Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?))
        })
    }

    fn changes_with_related(&self, org: &str) -> Result<Vec<(u64, String)>> {
        self.query_all(EVENTS_WITH_RELATED, &[&org], |r| {
            let JsonText(detail) = r.try_get(1)?;
            Ok((r.try_get::<_, i64>(0)? as u64, detail))
        })
    }

    fn set_change_detail(&self, org: &str, seq: u64, detail: &str) -> Result<()> {
        self.execute(SET_DETAIL, &[&org, &big(seq), &Json(detail)])?;
        Ok(())
    }

    fn erased_with(&self, org: &str, merged_id: &str) -> Result<bool> {
        self.exists(ERASED_WITH, &[&org, &merged_id])
    }

    fn erase_changes_of(&self, org: &str, contact_ids: &[&str]) -> Result<u64> {
        self.execute(DELETE_OF_CONTACTS, &[&org, &contact_ids])
    }
}
