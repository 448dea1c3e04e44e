//! Creating and upgrading the schema, by `PRAGMA user_version`.
//!
//! The version of a file is its `user_version`. A new file gets `schema.sql` (the
//! current schema) in one step; an older file gets the upgrade steps after its version,
//! in order. Both happen inside one `BEGIN IMMEDIATE` transaction, so concurrent
//! openers apply a migration exactly once and a failed step leaves the file as it was.
//!
//! Rules for editing this file: never edit, remove or reorder a shipped step; a new
//! schema change is a new step appended to [`UPGRADES`] *and* the same change made in
//! `schema.sql` (with the same `CREATE` text but for white space: SQLite keeps it,
//! and the tests compare it; an `ALTER TABLE … ADD COLUMN` appends the column after
//! the last column definition). The tests check that a file upgraded from each old version ends up
//! with the schema `schema.sql` creates, and keeps its data.

use rusqlite::{Connection, TransactionBehavior};

use super::memories::{ENTITIES_WITHOUT_MEMORY, MEMORIES_WITHOUT_CONTACT};
use super::renormalize;
use crate::error::{Error, Result};
use crate::settings::PhoneRegion;

/// The schema `schema.sql` creates.
pub(crate) const SCHEMA_SQL: &str = include_str!("../../../schema.sql");

/// One upgrade step.
pub(crate) enum Step {
    /// SQL run as a batch.
    Sql(&'static str),
    /// SQL, then code for what SQL cannot do (normalizing phone numbers again), given
    /// the store's default phone region.
    SqlThen(&'static str, fn(&Connection, PhoneRegion) -> Result<()>),
    /// Code alone: a step that must look at the file before any of its SQL runs (and
    /// may refuse it, changing nothing).
    Code(fn(&Connection, PhoneRegion) -> Result<()>),
}

/// `UPGRADES[i]` takes a file from version `i + 1` to version `i + 2`.
const UPGRADES: &[Step] = &[
    // 2: calls and SMS conversations in one `activity` table.
    Step::Sql(
        "CREATE TABLE activity (
    org_id          TEXT    NOT NULL,
    kind            INTEGER NOT NULL CHECK (kind IN (1, 2)),
    id              TEXT    NOT NULL,
    contact_id      TEXT    NOT NULL,
    direction       TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    agent_number    TEXT,
    contact_number  TEXT,
    started_at      INTEGER NOT NULL,
    amount          INTEGER CHECK (amount >= 0 AND (kind = 1 OR amount IS NOT NULL)),
    status          TEXT,
    summary         TEXT,
    metadata        TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (org_id, kind, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
     CREATE INDEX activity_by_contact ON activity (org_id, contact_id, kind, started_at);
     INSERT INTO activity (org_id, kind, id, contact_id, direction, agent_number,
         contact_number, started_at, amount, status, summary, metadata)
     SELECT org_id, 1, id, contact_id, direction, agent_number, contact_number,
         started_at, duration_seconds, status, summary, metadata FROM call;
     INSERT INTO activity (org_id, kind, id, contact_id, direction, agent_number,
         contact_number, started_at, amount, status, summary, metadata)
     SELECT org_id, 2, id, contact_id, direction, agent_number, contact_number,
         started_at, message_count, status, summary, metadata FROM sms_conversation;
     DROP TABLE call;
     DROP TABLE sms_conversation;
     DELETE FROM sqlite_stat1 WHERE tbl IN ('call', 'sms_conversation');
     INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
         ('activity', 'activity', '2000000 2000000 1000000 1'),
         ('activity', 'activity_by_contact', '2000000 2000000 3 2 1');",
    ),
    // 3: phone numbers normalized again with rlibphonenumber, and what that could not
    // settle recorded.
    Step::SqlThen(
        "CREATE TABLE migration_finding (
    org_id            TEXT    NOT NULL,
    contact_id        TEXT    NOT NULL,
    record_id         TEXT    NOT NULL,
    field             TEXT    NOT NULL,
    version           INTEGER NOT NULL,
    finding           TEXT    NOT NULL CHECK (finding IN ('collision', 'invalid')),
    other_contact_id  TEXT,
    PRIMARY KEY (org_id, contact_id, record_id, field),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
         CREATE INDEX migration_finding_by_other ON migration_finding (org_id, other_contact_id);
         INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
             ('migration_finding', 'migration_finding', '100 100 1 1 1'),
             ('migration_finding', 'migration_finding_by_other', '100 100 1');",
        renormalize::upgrade,
    ),
    // 4: memory_history and summary_updated_at on every memory.
    Step::Sql(
        "ALTER TABLE memory ADD COLUMN summary_updated_at INTEGER;
         ALTER TABLE memory ADD COLUMN history TEXT NOT NULL DEFAULT '[]';",
    ),
    // 5: the change log, and merge snapshots for undoing merges.
    Step::Sql(
        "ALTER TABLE merge_journal ADD COLUMN snapshot TEXT;
         ALTER TABLE merge_journal ADD COLUMN unmerged_at INTEGER;
         CREATE TABLE change_event (
    seq         INTEGER PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    contact_id  TEXT    NOT NULL,
    related_id  TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}'
);
         CREATE INDEX change_event_by_org ON change_event (org_id, seq);
         CREATE INDEX change_event_by_related ON change_event (org_id, related_id)
    WHERE related_id IS NOT NULL;
         CREATE TABLE change_log (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    compacted_through  INTEGER NOT NULL
);
         INSERT INTO change_log (id, compacted_through) VALUES (1, 0);
         INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
             ('change_event', 'change_event_by_org', '10000000 10000000 1'),
             ('change_event', 'change_event_by_related', '100000 100000 2');",
    ),
    // 6: a contact's identifiers read from their index alone, already in the order a
    // contact shows them (get, find and merge read them on every call; the index
    // without these columns cost a primary-key descent per identifier, and a sort).
    Step::Sql(
        "DROP INDEX identifier_by_contact;
         CREATE INDEX identifier_by_contact
    ON identifier (org_id, contact_id, identifier_type, is_primary DESC, identifier_value, id);
         UPDATE sqlite_stat1 SET stat = '2000000 2000000 2 1 1 1 1'
             WHERE tbl = 'identifier' AND idx = 'identifier_by_contact';",
    ),
    // 7: memory as a rowid table, so that a memory row (kilobytes) sits whole in its
    // leaf instead of spilling into overflow pages.
    Step::Code(rebuild_memory_as_rowid_table),
];

/// Schema 7's table rebuild. SQLite cannot change a table's kind in place: both memory
/// tables are copied aside, dropped (the entities first: a dropped memory would take
/// its entities with it), created again and filled, with the foreign keys on
/// throughout. The copies are tables of the file itself, so that `secure_delete`
/// zeroes them when they are dropped (a temporary table would leave memories in a
/// temporary file), and the first is made in (contact, scope) order through the old
/// unique index, so nothing is sorted.
const REBUILD_MEMORY: &str =
    "CREATE TABLE memory_upgrading AS SELECT * FROM memory ORDER BY org_id, contact_id, scope;
         CREATE TABLE memory_entity_upgrading AS SELECT * FROM memory_entity;
         DROP TABLE memory_entity;
         DROP TABLE memory;
         CREATE TABLE memory (
    org_id           TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    contact_id       TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    persona_id       TEXT,
    agent_number     TEXT,
    summary          TEXT    NOT NULL DEFAULT '',
    facts            TEXT    NOT NULL DEFAULT '{}',
    recent_messages  TEXT    NOT NULL DEFAULT '[]',
    open_items       TEXT    NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    summary_updated_at INTEGER,
    history          TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, contact_id, scope),
    FOREIGN KEY (org_id, contact_id) REFERENCES contact (org_id, id) ON DELETE CASCADE
);
         CREATE TABLE memory_entity (
    org_id             TEXT    NOT NULL,
    memory_id          TEXT    NOT NULL,
    entity_type        TEXT    NOT NULL,
    entity_id          TEXT    NOT NULL,
    facts              TEXT    NOT NULL DEFAULT '{}',
    status             TEXT,
    last_discussed_at  INTEGER,
    notes              TEXT,
    PRIMARY KEY (org_id, memory_id, entity_type, entity_id),
    FOREIGN KEY (org_id, memory_id) REFERENCES memory (org_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
         INSERT INTO memory SELECT * FROM memory_upgrading;
         INSERT INTO memory_entity SELECT * FROM memory_entity_upgrading;
         DROP TABLE memory_upgrading;
         DROP TABLE memory_entity_upgrading;
         DELETE FROM sqlite_stat1 WHERE tbl IN ('memory', 'memory_entity');
         INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
             ('memory', 'sqlite_autoindex_memory_1', '400000 400000 1'),
             ('memory', 'sqlite_autoindex_memory_2', '400000 400000 2 1'),
             ('memory_entity', 'memory_entity', '2000000 2000000 5 2 1');";

/// Schema 7: memory as a rowid table ([`REBUILD_MEMORY`]). A file holding orphaned
/// memory rows is refused before anything changes, and stays at its version:
/// `contactstore check` (which reads it without upgrading) names them.
fn rebuild_memory_as_rowid_table(conn: &Connection, _: PhoneRegion) -> Result<()> {
    // The rows the rebuild could not put back with the foreign keys on (only a file
    // edited with them off holds any): the same statements as `check`'s.
    let orphaned = |sql| conn.prepare(sql)?.exists([]);
    if orphaned(MEMORIES_WITHOUT_CONTACT)? || orphaned(ENTITIES_WITHOUT_MEMORY)? {
        return Err(Error::Refused(
            "the upgrade to schema 7 found memories or entities whose contact or memory \
             is gone; `contactstore check` lists them (the file is left as it was)",
        ));
    }
    conn.execute_batch(REBUILD_MEMORY)?;
    Ok(())
}

/// The schema version this build writes: one more than the number of upgrade steps.
pub const SCHEMA_VERSION: i64 = 1 + UPGRADES.len() as i64;

/// `PRAGMA application_id` of contactstore files ("CtSt").
pub const APPLICATION_ID: i32 = 0x4374_5374;

/// The version and owner recorded in a file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub user_version: i64,
    pub application_id: i32,
}

pub(crate) fn read_header(conn: &Connection) -> Result<Header> {
    Ok(Header {
        user_version: conn.pragma_query_value(None, "user_version", |r| r.get(0))?,
        application_id: conn.pragma_query_value(None, "application_id", |r| r.get(0))?,
    })
}

/// Refuses files this build must not touch: newer versions and other applications'
/// databases. Reads only, in one snapshot (another process may be creating the schema
/// at this moment: its tables and its header must be seen together).
pub(crate) fn check_compatible(conn: &Connection) -> Result<Header> {
    if conn.is_autocommit() {
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
        let header = check_header(&tx)?;
        tx.commit()?;
        Ok(header)
    } else {
        check_header(conn)
    }
}

fn check_header(conn: &Connection) -> Result<Header> {
    let header = read_header(conn)?;
    if header.application_id != 0 && header.application_id != APPLICATION_ID {
        return Err(Error::ForeignDatabase(header.application_id));
    }
    if header.user_version > SCHEMA_VERSION {
        return Err(Error::IncompatibleVersion {
            found: header.user_version,
            supported: SCHEMA_VERSION,
        });
    }
    if header.application_id == 0 && header.user_version == 0 && has_tables(conn)? {
        return Err(Error::ForeignDatabase(0));
    }
    Ok(header)
}

fn has_tables(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table')",
        [],
        |r| r.get(0),
    )?)
}

/// Brings the schema to [`SCHEMA_VERSION`], creating it in an empty file. `region` is
/// the store's default phone region (an upgrade may normalize numbers again).
pub(crate) fn migrate(conn: &Connection, region: PhoneRegion) -> Result<()> {
    if check_compatible(conn)?.user_version == SCHEMA_VERSION {
        return Ok(()); // the common case: no write lock taken
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let version = check_compatible(&tx)?.user_version;
    if version == 0 {
        tx.execute_batch(SCHEMA_SQL)?;
    } else {
        upgrade_from(&tx, version, region)?;
    }
    // Load the statistics the schema wrote into this connection's planner (other
    // connections read them when they open).
    tx.execute_batch("ANALYZE sqlite_schema")?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn upgrade_from(conn: &Connection, version: i64, region: PhoneRegion) -> Result<()> {
    let start = usize::try_from(version - 1).unwrap_or(usize::MAX);
    for step in UPGRADES.iter().skip(start) {
        match step {
            Step::Sql(sql) => conn.execute_batch(sql)?,
            Step::SqlThen(sql, code) => {
                conn.execute_batch(sql)?;
                code(conn, region)?;
            }
            Step::Code(code) => code(conn, region)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_the_upgrade_list() {
        assert_eq!(SCHEMA_VERSION, UPGRADES.len() as i64 + 1);
    }

    #[test]
    fn migrate_creates_then_is_a_no_op() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, PhoneRegion::default()).unwrap();
        let header = read_header(&conn).unwrap();
        assert_eq!(header.user_version, SCHEMA_VERSION);
        assert_eq!(header.application_id, APPLICATION_ID);
        migrate(&conn, PhoneRegion::default()).unwrap();
    }

    #[test]
    fn the_creating_connection_plans_with_the_shipped_statistics() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, PhoneRegion::default()).unwrap();
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM identifier WHERE org_id = ?1 AND contact_id = ?2",
                ["o", "c"],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("identifier_by_contact"), "{plan}");
    }

    #[test]
    fn other_applications_databases_are_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        assert!(matches!(
            migrate(&conn, PhoneRegion::default()),
            Err(Error::ForeignDatabase(0))
        ));
        conn.pragma_update(None, "application_id", 42).unwrap();
        assert!(matches!(
            migrate(&conn, PhoneRegion::default()),
            Err(Error::ForeignDatabase(42))
        ));
    }
}
