//! Creating and upgrading the PostgreSQL schema, by the version in
//! `contactstore_schema`.
//!
//! A new database (no contactstore tables in the connection's schema — the first
//! schema of its `search_path`) gets `schema.postgres.sql` in one step; an older one
//! gets the upgrade steps after its version, in order. Both happen inside one
//! transaction holding an advisory lock, so hosts opening a new database at once
//! migrate it exactly once, and a failed step leaves the database as it was. A
//! database of a newer contactstore is refused untouched.
//!
//! Rules for editing this file: never edit, remove or reorder a shipped step; a new
//! schema change is a new step appended to [`UPGRADES`] *and* the same change made in
//! `schema.postgres.sql`. tests/migrations_postgres.rs checks that a database upgraded
//! from each old version (a fixture) ends up with the schema the file creates.

use postgres::{Client, Transaction};

use crate::error::{Error, Result};

/// The schema `schema.postgres.sql` creates.
pub(crate) const SCHEMA_SQL: &str = include_str!("../../../schema.postgres.sql");

/// `UPGRADES[i]` takes a database from version `i + 1` to version `i + 2` (SQL run as
/// one batch). None yet: version 1 is the first PostgreSQL schema.
const UPGRADES: &[&str] = &[];

/// The PostgreSQL schema version this build writes: one more than the number of
/// upgrade steps. (Its own numbering: SQLite files have
/// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION).)
pub const POSTGRES_SCHEMA_VERSION: i64 = 1 + UPGRADES.len() as i64;

/// The advisory lock key migrations hold.
const MIGRATION_LOCK: i64 = 7_306_232_590_270;

const APPLICATION: &str = "contactstore";

/// What the connection's schema (the first of its `search_path`) holds.
enum Found {
    /// No contactstore tables, nor another application's `contact` table.
    Nothing,
    /// contactstore's tables at this version, which this build knows.
    Version(i64),
    /// contactstore's version table without its row: damage.
    NoVersionRow,
}

/// Reads what the schema holds; another application's tables and a newer
/// contactstore's are refused here, for both callers.
fn found(tx: &mut Transaction<'_>) -> Result<Found> {
    let has_version: bool = tx
        .query_one("SELECT to_regclass('contactstore_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !has_version {
        let foreign: bool = tx
            .query_one("SELECT to_regclass('contact') IS NOT NULL", &[])?
            .try_get(0)?;
        // Another application's `contact` table: left alone.
        return if foreign {
            Err(Error::ForeignDatabase(0))
        } else {
            Ok(Found::Nothing)
        };
    }
    let Some(row) = tx.query_opt(
        "SELECT application, version FROM contactstore_schema WHERE id = 1",
        &[],
    )?
    else {
        return Ok(Found::NoVersionRow);
    };
    let application: String = row.try_get(0)?;
    let version: i64 = row.try_get(1)?;
    if application != APPLICATION || version < 1 {
        return Err(Error::ForeignDatabase(0));
    }
    if version > POSTGRES_SCHEMA_VERSION {
        return Err(Error::IncompatibleVersion {
            found: version,
            supported: POSTGRES_SCHEMA_VERSION,
        });
    }
    Ok(Found::Version(version))
}

/// Brings the schema up to date, in one transaction.
pub(crate) fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let version = match found(&mut tx)? {
        Found::Nothing => {
            // The file ends with the version row (checked by a unit test).
            tx.batch_execute(SCHEMA_SQL)?;
            return Ok(tx.commit()?);
        }
        // Which version it is, nothing says: not upgraded blindly.
        Found::NoVersionRow => return Err(Error::ForeignDatabase(0)),
        Found::Version(version) => version,
    };
    for step in &UPGRADES[(version - 1) as usize..] {
        tx.batch_execute(step)?;
    }
    if version < POSTGRES_SCHEMA_VERSION {
        tx.execute(
            "UPDATE contactstore_schema SET version = $1 WHERE id = 1",
            &[&POSTGRES_SCHEMA_VERSION],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Checks, writing nothing, that the connection's schema is contactstore's at a
/// version this build knows (the read-only open of `check_file`: an empty database is
/// not given tables by being checked).
pub(crate) fn existing(client: &mut Client) -> Result<()> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    let found = found(&mut tx)?;
    tx.rollback()?;
    match found {
        Found::Nothing => Err(Error::Refused(
            "the PostgreSQL database holds no contactstore tables: nothing to check",
        )),
        // A version table without its row is damage that `check` names; let it.
        Found::NoVersionRow | Found::Version(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_file_records_the_version_this_build_writes() {
        let row = format!(
            "INSERT INTO contactstore_schema (id, application, version) VALUES (1, '{APPLICATION}', \
             {POSTGRES_SCHEMA_VERSION});"
        );
        assert!(SCHEMA_SQL.trim_end().ends_with(&row), "{row}");
    }
}
