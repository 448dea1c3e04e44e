//! The `activity` table: calls (kind 1) and SMS conversations (kind 2), one statement
//! set for both. Rows are read with `*` and mapped in the table's column order.

use rusqlite::Row;

use super::{stored_json, SqliteTx};
use crate::error::Result;
use crate::model::{ActivityKind, ActivityRow, Direction};
use crate::storage::ActivityRows;

const INSERT_ACTIVITY: &str = "INSERT INTO activity (org_id, kind, id, contact_id, direction, \
     agent_number, contact_number, started_at, amount, status, summary, metadata) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
const ACTIVITIES_OF_CONTACT: &str = "SELECT * FROM activity \
     WHERE org_id = ?1 AND contact_id = ?2 AND kind = ?3 ORDER BY started_at DESC, id DESC";
/// Export's walk of the calls and SMS conversations (of an org, of every org), in
/// contact order through the contact index.
pub(super) const ACTIVITIES_BY_CONTACT_IN_ORG: &str =
    "SELECT * FROM activity WHERE org_id = ?1 ORDER BY org_id, contact_id";
pub(super) const ACTIVITIES_BY_CONTACT_IN_ALL_ORGS: &str =
    "SELECT * FROM activity ORDER BY org_id, contact_id";
const ACTIVITY_ID_TAKEN: &str =
    "SELECT 1 FROM activity WHERE org_id = ?1 AND kind = ?2 AND id = ?3";
const MOVE_ACTIVITIES: &str = "UPDATE activity SET contact_id = ?2 \
     WHERE org_id = ?1 AND contact_id = ?3 AND kind = ?4";
const MOVE_ACTIVITY: &str = "UPDATE activity SET contact_id = ?5 \
     WHERE org_id = ?1 AND kind = ?2 AND id = ?3 AND contact_id = ?4";
const DELETE_ACTIVITIES_OF_CONTACT: &str =
    "DELETE FROM activity WHERE org_id = ?1 AND contact_id = ?2 AND kind = ?3";

/// The code stored in the `kind` column.
fn kind_code(kind: ActivityKind) -> i64 {
    match kind {
        ActivityKind::Call => 1,
        ActivityKind::Sms => 2,
    }
}

/// A record from the table's columns: org_id, kind, id, contact_id, direction,
/// agent_number, contact_number, started_at, amount, status, summary, metadata.
pub(super) fn activity_from_row(row: &Row<'_>) -> rusqlite::Result<ActivityRow> {
    let code: i64 = row.get(1)?;
    let kind = ActivityKind::ALL
        .into_iter()
        .find(|k| kind_code(*k) == code)
        .ok_or(rusqlite::Error::IntegralValueOutOfRange(1, code))?;
    let direction: Direction = row.get_ref(4)?.as_str()?.parse().map_err(|_| {
        rusqlite::Error::InvalidColumnType(4, "direction".into(), rusqlite::types::Type::Text)
    })?;
    Ok(ActivityRow {
        kind,
        id: row.get(2)?,
        contact_id: row.get(3)?,
        direction,
        agent_number: row.get(5)?,
        contact_number: row.get(6)?,
        started_at: row.get(7)?,
        amount: row.get(8)?,
        status: row.get(9)?,
        summary: row.get(10)?,
        metadata: stored_json(row, 11)?,
    })
}

impl SqliteTx<'_> {
    /// Deletes a contact's records of one kind; returns how many.
    pub(super) fn delete_activities_of(
        &self,
        org: &str,
        contact_id: &str,
        kind: ActivityKind,
    ) -> Result<u64> {
        self.execute(
            DELETE_ACTIVITIES_OF_CONTACT,
            (org, contact_id, kind_code(kind)),
        )
    }
}

impl ActivityRows for SqliteTx<'_> {
    fn insert_activity(&self, org: &str, a: &ActivityRow) -> Result<()> {
        self.execute(
            INSERT_ACTIVITY,
            rusqlite::params![
                org,
                kind_code(a.kind),
                a.id,
                a.contact_id,
                a.direction.as_str(),
                a.agent_number,
                a.contact_number,
                a.started_at,
                a.amount,
                a.status,
                a.summary,
                a.metadata.as_str(),
            ],
        )?;
        Ok(())
    }

    fn activities_of(
        &self,
        org: &str,
        contact_id: &str,
        kind: ActivityKind,
    ) -> Result<Vec<ActivityRow>> {
        self.query_all(
            ACTIVITIES_OF_CONTACT,
            (org, contact_id, kind_code(kind)),
            activity_from_row,
        )
    }

    fn activity_id_taken(&self, org: &str, kind: ActivityKind, id: &str) -> Result<bool> {
        self.exists(ACTIVITY_ID_TAKEN, (org, kind_code(kind), id))
    }

    fn move_activities(&self, org: &str, kind: ActivityKind, from: &str, to: &str) -> Result<u64> {
        self.execute(MOVE_ACTIVITIES, (org, to, from, kind_code(kind)))
    }

    fn move_activity(
        &self,
        org: &str,
        kind: ActivityKind,
        id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        Ok(self.execute(MOVE_ACTIVITY, (org, kind_code(kind), id, from, to))? == 1)
    }
}
