//! `backup` and `check`: a copy of a live store, and whether a file is healthy.

use std::path::Path;
use std::process::ExitCode;

use contactstore::envelope::{Envelope, ErrorBody};
use contactstore::{ContactStore, Error, ErrorCode};

use super::{invalid, print_json, print_success, Cli};

/// `backup DEST`: the store is opened as every command opens it; a missing database is
/// refused rather than created only to be copied.
pub fn backup(
    cli: &Cli,
    store: impl FnOnce() -> Result<ContactStore, Error>,
    destination: &Path,
    overwrite: bool,
) -> Result<(), Error> {
    // A PostgreSQL URL is no file: the store refuses the backup itself (pg_dump).
    let url = cli
        .db
        .to_str()
        .is_some_and(|db| db.starts_with("postgres://") || db.starts_with("postgresql://"));
    if !url && !cli.db.exists() {
        return Err(invalid("db", "does not exist: there is nothing to back up"));
    }
    let store = store()?;
    print_success(if overwrite {
        store.backup_replacing(destination)?
    } else {
        store.backup_to(destination)?
    })
}

/// `check`: the report as data; exit 0 when healthy, else 1 with an error naming how
/// many checks failed.
pub fn check(cli: &Cli) -> Result<ExitCode, Error> {
    let report = ContactStore::check_file(&cli.db)?;
    if report.healthy {
        print_success(report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let failed = report.failures().count();
    let names: Vec<&str> = report.failures().map(|c| c.check.as_str()).collect();
    print_json(&Envelope {
        errors: Some(vec![ErrorBody {
            error: ErrorCode::InternalError.as_str().to_owned(),
            message: format!(
                "the store is not healthy: {failed} check(s) failed ({})",
                names.join(", ")
            ),
        }]),
        data: Some(report),
    });
    Ok(ExitCode::from(1))
}
