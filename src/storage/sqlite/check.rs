//! The consistency check of a file: its header, SQLite's `integrity_check` and
//! `foreign_key_check`, and the store's own invariants, read in one snapshot. Each
//! invariant is a statement listing the records that break it (org and record id:
//! never content).
//!
//! These statements cover every org and read whole tables by design: they are listed
//! in the isolation and query-plan tests' allowances.

use rusqlite::Connection;

use super::memories::{ENTITIES_WITHOUT_MEMORY, MEMORIES_WITHOUT_CONTACT};
use super::schema::{read_header, APPLICATION_ID, SCHEMA_VERSION};
use super::{Db, Open, SqliteTx};
use crate::error::{Error, Result};
use crate::model::CheckOutcome;
use crate::storage::invariants::{Found, INVARIANTS};
use crate::storage::{FileCheck, FindingRows};

const IDENTIFIERS_WITHOUT_CONTACT: &str = "SELECT i.org_id, i.id FROM identifier i \
     LEFT JOIN contact c ON c.org_id = i.org_id AND c.id = i.contact_id WHERE c.id IS NULL";
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
     WHERE is_primary = 1 GROUP BY org_id, contact_id, identifier_type HAVING count(*) > 1";

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
    /// Runs every check in one read transaction. A file too damaged for a check to
    /// run fails that check (with SQLite's message) rather than the whole call; other
    /// storage failures (busy past the timeout, I/O) are returned.
    pub(crate) fn check(&self) -> Result<FileCheck> {
        let open = Open::begin(&self.conn, "BEGIN DEFERRED")?;
        let header = read_header(&self.conn)?;
        let mut outcomes = vec![header_outcome(header.application_id, header.user_version)];
        outcomes.push(guarded("integrity_check", INTEGRITY, || {
            integrity(&self.conn)
        })?);
        outcomes.push(guarded("foreign_key_check", FOREIGN_KEYS, || {
            foreign_keys(&self.conn)
        })?);
        let mut findings = Vec::new();
        if header.user_version == SCHEMA_VERSION {
            for ((name, description), sql) in INVARIANTS.iter().zip(BREAKING) {
                outcomes.push(guarded(name, description, || breaking(&self.conn, sql))?);
            }
            match SqliteTx::new(&self.conn, false).findings() {
                Ok(found) => findings = found,
                Err(e) if is_damage(&e) => {
                    let mut found = Found::new();
                    found.push(e.to_string());
                    outcomes.push(found.outcome("migration_findings", FINDINGS));
                }
                Err(e) => return Err(e),
            }
        }
        match open.commit() {
            // After meeting damage SQLite may report it again when the read
            // transaction ends (the pager stays in its error state); the report names it.
            Err(e) if !is_damage(&e) => return Err(e),
            _ => {}
        }
        Ok(FileCheck {
            schema_version: header.user_version,
            current_version: SCHEMA_VERSION,
            outcomes,
            findings,
        })
    }
}

const HEADER: &str = "the file is a contactstore database (application_id) of a schema \
     version this build knows (user_version)";
const INTEGRITY: &str = "PRAGMA integrity_check: the file's pages, records and indexes are \
     sound";
const FINDINGS: &str = "the findings schema upgrades left can be read";
const FOREIGN_KEYS: &str = "PRAGMA foreign_key_check: every reference to a contact or a \
     memory has its row";

fn header_outcome(application_id: i32, user_version: i64) -> CheckOutcome {
    let mut found = Found::new();
    if application_id != APPLICATION_ID {
        found.push(format!(
            "application_id is {application_id:#x}, not contactstore's {APPLICATION_ID:#x}"
        ));
    }
    if user_version < 1 {
        found.push("user_version is 0: the file holds no contactstore schema".to_owned());
    }
    found.outcome("header", HEADER)
}

/// Runs a check; a file too damaged for it to run fails the check instead.
fn guarded(
    name: &str,
    description: &str,
    run: impl FnOnce() -> Result<Found>,
) -> Result<CheckOutcome> {
    match run() {
        Ok(found) => Ok(found.outcome(name, description)),
        Err(e) if is_damage(&e) => {
            let mut found = Found::new();
            found.push(e.to_string());
            Ok(found.outcome(name, description))
        }
        Err(e) => Err(e),
    }
}

/// Whether an error means the file is damaged (rather than busy, or unreadable).
fn is_damage(e: &Error) -> bool {
    use rusqlite::ErrorCode as C;
    match e {
        Error::Storage(s) => matches!(
            s.sqlite_code(),
            Some(C::DatabaseCorrupt | C::NotADatabase) | None
        ),
        _ => false,
    }
}

fn integrity(conn: &Connection) -> Result<Found> {
    let mut found = Found::new();
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let message: String = row.get(0)?;
        if message != "ok" {
            found.push(message);
        }
    }
    Ok(found)
}

fn foreign_keys(conn: &Connection) -> Result<Found> {
    let mut found = Found::new();
    // (table, rowid or NULL, parent table, constraint index)
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let table: String = row.get(0)?;
        let parent: String = row.get(2)?;
        found.push(format!("a row of {table} names a missing {parent}"));
    }
    Ok(found)
}

fn breaking(conn: &Connection, sql: &str) -> Result<Found> {
    let mut found = Found::new();
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let org: String = row.get(0)?;
        let id: String = row.get(1)?;
        found.push(format!("org {org}: {id}"));
    }
    Ok(found)
}
