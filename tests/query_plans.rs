//! Every SQL statement of the crate reaches its rows through an index.
//!
//! Without statistics SQLite guesses, and it once chose to walk a whole org by primary
//! key to find one contact's identifiers (a find cost 1.6 ms at 10,000 contacts). This
//! test reads each named statement (`const NAME: &str = "…"`) from `src/`, asks SQLite
//! for its plan on the real schema, and fails on a full scan or on a per-contact
//! statement that does not use the contact's index.

use std::path::Path;

use contactstore::ContactStore;
use rusqlite::Connection;

/// `(file, name, sql)` for every `const NAME: &str = "…";` in src/ (but the PostgreSQL
/// engine's, src/storage/postgres/, which SQLite cannot plan).
fn statements() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("storage/postgres") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("const ") {
            rest = &rest[at + 6..];
            let Some((name, after)) = rest.split_once(": &str =") else {
                continue;
            };
            if name.contains(char::is_whitespace)
                || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                continue;
            }
            let after = after.trim_start();
            let Some(body) = after.strip_prefix('"') else {
                continue;
            };
            let Some(end) = body.find("\";") else {
                continue;
            };
            let literal = &body[..end];
            // Undo Rust's line continuations and escapes.
            let mut sql = String::new();
            let mut chars = literal.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('\n') => {
                            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                                chars.next();
                            }
                        }
                        Some('\\') => sql.push('\\'),
                        Some('"') => sql.push('"'),
                        Some(other) => {
                            sql.push('\\');
                            sql.push(other);
                        }
                        None => {}
                    }
                } else {
                    sql.push(c);
                }
            }
            let upper = sql.trim_start().to_ascii_uppercase();
            let is_sql = ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
                .iter()
                .any(|k| upper.starts_with(k));
            if is_sql {
                let file = file.file_name().unwrap().to_string_lossy().into_owned();
                out.push((file, name.to_owned(), sql));
            }
        }
    }
    out
}

/// Statements that read a whole table by design.
const FULL_SCANS: &[&str] = &[
    "CONTACTS_OF_ALL_ORGS",
    // The all-orgs export's walks of each table, in (org, contact) order.
    "IDENTIFIERS_BY_CONTACT_IN_ALL_ORGS",
    "MEMORIES_BY_CONTACT_IN_ALL_ORGS",
    "ENTITIES_BY_CONTACT_IN_ALL_ORGS",
    "ACTIVITIES_BY_CONTACT_IN_ALL_ORGS",
    // The schema 3 upgrade reads every stored number once; the findings listing reads
    // a table that is empty but for what an upgrade left.
    "PHONE_IDENTIFIERS_OF_ALL_ORGS",
    "AGENT_MEMORIES_OF_ALL_ORGS",
    "ACTIVITY_NUMBERS_OF_ALL_ORGS",
    "FINDINGS_OF_ALL_ORGS",
    // The org's retained log through its index; json_each walks one tombstone's list
    // of merged ids (asked only by an unmerge of an unknown id), or erase's list of
    // the ids whose events it deletes.
    "ERASED_WITH",
    "DELETE_OF_CONTACTS",
    // The first and the last row in rowid order (each scan stops at one row).
    "OLDEST",
    "LAST_SEQ",
    // `check` reads every row of the file for the store's invariants.
    "IDENTIFIERS_WITHOUT_CONTACT",
    "MEMORIES_WITHOUT_CONTACT",
    "ENTITIES_WITHOUT_MEMORY",
    "ACTIVITIES_WITHOUT_CONTACT",
    "MERGED_IDS_WITH_A_CONTACT",
    "REDIRECTS_WITHOUT_SURVIVOR",
    "MERGES_WITHOUT_REDIRECT",
    "REDIRECTS_WITHOUT_MERGE",
    "UNDONE_MERGES_WITH_SNAPSHOT",
    "SEVERAL_PRIMARIES",
];

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
        if scans && !FULL_SCANS.contains(&name.as_str()) {
            problems.push(format!("{file} {name}: full scan: {plan}"));
        }
        // Export's walks stream in (org, contact) order: a sort would hold the scope's
        // rows before the first document could be written.
        if name.contains("_BY_CONTACT_IN_") && plan.contains("TEMP B-TREE") {
            problems.push(format!("{file} {name}: sorts: {plan}"));
        }
        // A statement about one contact must not walk the org by primary key.
        let per_contact = sql.contains("contact_id = ?") || sql.contains("memory_id = ?");
        if per_contact && plan.contains("PRIMARY KEY (org_id=?)") {
            problems.push(format!("{file} {name}: walks the org: {plan}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
