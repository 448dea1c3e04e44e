//! Every SQL statement of the crate reaches its rows through an index.
//!
//! Without statistics SQLite guesses, and it once chose to walk a whole org by primary
//! key to find one contact's identifiers (a find cost 1.6 ms at 10,000 contacts). This
//! test reads each named statement (`const NAME: &str = "…"`) from `src/`, asks SQLite
//! for its plan on the real schema, and fails on a full scan or on a per-contact
//! statement that does not use the contact's index.

mod sql_statements;

use contactstore::ContactStore;
use rusqlite::Connection;

/// `(file, name, sql)` for every statement of src/ but the PostgreSQL engine's
/// (src/storage/postgres/, which SQLite cannot plan; tests/query_plans_postgres.rs).
fn statements() -> Vec<(String, String, String)> {
    sql_statements::statements(|path| !path.starts_with("storage/postgres"))
}

/// Statements of SQLite's engine that read a whole table by design, beside
/// [`sql_statements::FULL_SCANS_OF_BOTH`].
const FULL_SCANS: &[&str] = &[
    // The all-orgs export's walks of each table, in (org, contact) order.
    "IDENTIFIERS_BY_CONTACT_IN_ALL_ORGS",
    "MEMORIES_BY_CONTACT_IN_ALL_ORGS",
    "ENTITIES_BY_CONTACT_IN_ALL_ORGS",
    "ACTIVITIES_BY_CONTACT_IN_ALL_ORGS",
    // The schema 3 upgrade reads every stored number once.
    "PHONE_IDENTIFIERS_OF_ALL_ORGS",
    "AGENT_MEMORIES_OF_ALL_ORGS",
    "ACTIVITY_NUMBERS_OF_ALL_ORGS",
    // The org's retained log through its index; json_each walks one tombstone's list
    // of merged ids (asked only by an unmerge of an unknown id), or erase's list of
    // the ids whose events it deletes.
    "ERASED_WITH",
    "DELETE_OF_CONTACTS",
    // The first and the last row in rowid order (each scan stops at one row).
    "OLDEST",
    "LAST_SEQ",
];

/// Per-contact reads on every get, find and merge that their index answers alone, in
/// the order asked: no descent into the table, no sort.
const ANSWERED_BY_THEIR_INDEX: &[&str] = &["IDENTIFIERS_OF_CONTACT"];

#[test]
fn every_statement_uses_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    drop(ContactStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let statements = statements();
    assert!(
        statements.len() > 40,
        "found only {} statements",
        statements.len()
    );
    let mut problems = Vec::new();
    for (file, name, sql) in &statements {
        let mut stmt = match conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{file} {name}: does not prepare: {e}"));
                continue;
            }
        };
        let params = stmt.parameter_count();
        let nulls: Vec<rusqlite::types::Null> = vec![rusqlite::types::Null; params];
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join(" | ");
        let scans = plan
            .split(" | ")
            .any(|step| step.starts_with("SCAN ") && !step.starts_with("SCAN CONSTANT"));
        if std::env::var_os("SHOW_PLANS").is_some() {
            eprintln!("{name}: {plan}");
        }
        let by_design = FULL_SCANS.contains(&name.as_str())
            || sql_statements::FULL_SCANS_OF_BOTH.contains(&name.as_str());
        if scans && !by_design {
            problems.push(format!("{file} {name}: full scan: {plan}"));
        }
        // Export's walks stream in (org, contact) order: a sort would hold the scope's
        // rows before the first document could be written.
        if name.contains("_BY_CONTACT_IN_") && plan.contains("TEMP B-TREE") {
            problems.push(format!("{file} {name}: sorts: {plan}"));
        }
        if ANSWERED_BY_THEIR_INDEX.contains(&name.as_str())
            && (!plan.contains("USING COVERING INDEX") || plan.contains("TEMP B-TREE"))
        {
            problems.push(format!(
                "{file} {name}: not answered by its index alone: {plan}"
            ));
        }
        // A statement about one contact must not walk the org by primary key.
        let per_contact = sql.contains("contact_id = ?") || sql.contains("memory_id = ?");
        // (A rowid table's primary key is an index named sqlite_autoindex_<table>_1.)
        let walks_org_by_key = plan.contains("PRIMARY KEY (org_id=?)")
            || plan
                .split(" | ")
                .any(|step| step.contains("sqlite_autoindex_") && step.ends_with("_1 (org_id=?)"));
        if per_contact && walks_org_by_key {
            problems.push(format!("{file} {name}: walks the org: {plan}"));
        }
    }
    for name in ANSWERED_BY_THEIR_INDEX {
        assert!(
            statements.iter().any(|(_, n, _)| n == name),
            "{name} is not a statement of src/"
        );
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
