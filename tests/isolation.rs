//! Tenant isolation (issue 5, deliverable 5): whatever runs in org A leaves org B —
//! holding the very same identifiers — exactly as it was; and no SQL statement of the
//! crate reads or writes contact data without an org condition, except the few behind
//! the all-orgs handle, listed below with the reason each is allowed.

mod common;

use std::path::{Path, PathBuf};

use contactstore::{
    Direction, EntityUpdate, ErrorCode, IdentifierQuery, ImportOptions, MemoryScope, NewCall, Org,
    ResolveRequest,
};
use proptest::prelude::*;
use serde_json::json;

// Random operations in A, B unchanged ----------------------------------------------

/// Identities both orgs know.
const PEOPLE: u8 = 6;

fn phone(k: u8) -> String {
    format!("+1415555{:04}", 300 + u16::from(k))
}

fn email(k: u8) -> String {
    format!("person{k}@example.com")
}

#[derive(Debug, Clone)]
enum Op {
    Resolve {
        k: u8,
        email: bool,
        persona: bool,
    },
    Summary {
        k: u8,
        text: String,
    },
    Entity {
        k: u8,
    },
    Call {
        k: u8,
    },
    Merge {
        a: u8,
        b: u8,
    },
    Erase {
        k: u8,
    },
    Import {
        k: u8,
        merge: bool,
    },
    /// Uses one of B's contact ids in A: it must be unknown there.
    ReachIntoB {
        k: u8,
        how: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..PEOPLE;
    prop_oneof![
        4 => (k.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(k, email, persona)| Op::Resolve { k, email, persona }),
        2 => (k.clone(), "[a-z ]{0,12}").prop_map(|(k, text)| Op::Summary { k, text }),
        1 => k.clone().prop_map(|k| Op::Entity { k }),
        1 => k.clone().prop_map(|k| Op::Call { k }),
        2 => (k.clone(), k.clone()).prop_map(|(a, b)| Op::Merge { a, b }),
        1 => k.clone().prop_map(|k| Op::Erase { k }),
        1 => (k.clone(), any::<bool>()).prop_map(|(k, merge)| Op::Import { k, merge }),
        2 => (k, 0..6u8).prop_map(|(k, how)| Op::ReachIntoB { k, how }),
    ]
}

/// Org B: every person with a phone, an email, a memory, an entity and a call.
fn seed(org: &Org<'_>) -> Vec<String> {
    (0..PEOPLE)
        .map(|k| {
            let id = org
                .resolve(&ResolveRequest {
                    identifiers: IdentifierQuery {
                        phone_number: Some(phone(k)),
                        email: Some(email(k)),
                        ..Default::default()
                    },
                    name: Some(format!("B person {k}")),
                    persona_id: Some("persona-1".into()),
                    metadata: Some(json!({"org": "b"})),
                    ..Default::default()
                })
                .unwrap()
                .contact
                .id;
            apply_entity(org, &id);
            apply_call(org, &id, k);
            id
        })
        .collect()
}

fn apply_entity(org: &Org<'_>, id: &str) {
    org.upsert_entity(
        id,
        &MemoryScope::persona("persona-1"),
        &EntityUpdate {
            entity_type: "order".into(),
            entity_id: "order-1".into(),
            status: Some("open".into()),
            ..Default::default()
        },
    )
    .unwrap();
}

fn apply_call(org: &Org<'_>, id: &str, k: u8) {
    org.record_call(
        id,
        &NewCall {
            direction: Direction::Inbound,
            agent_number: Some("+14155550100".into()),
            contact_number: Some(phone(k)),
            started_at: None,
            duration_seconds: Some(10),
            status: None,
            summary: None,
            metadata: Default::default(),
        },
    )
    .unwrap();
}

fn export(org: &Org<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    org.export(&mut out).unwrap();
    out
}

/// The id of A's contact for person `k`, if A has one.
fn in_a(a: &Org<'_>, k: u8) -> Option<String> {
    a.find(&IdentifierQuery::phone(phone(k)))
        .unwrap()
        .map(|c| c.contact.id)
}

fn run(a: &Org<'_>, b_ids: &[String], op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::Resolve {
            k,
            email: with_email,
            persona,
        } => {
            a.resolve(&ResolveRequest {
                identifiers: IdentifierQuery {
                    phone_number: Some(phone(*k)),
                    email: with_email.then(|| email(*k)),
                    ..Default::default()
                },
                name: Some(format!("A person {k}")),
                persona_id: persona.then(|| "persona-1".to_owned()),
                metadata: Some(json!({"org": "a"})),
                ..Default::default()
            })
            .unwrap();
        }
        Op::Summary { k, text } => {
            if let Some(id) = in_a(a, *k) {
                a.set_summary(&id, &MemoryScope::persona("persona-1"), text)
                    .unwrap();
            }
        }
        Op::Entity { k } => {
            if let Some(id) = in_a(a, *k) {
                apply_entity(a, &id);
            }
        }
        Op::Call { k } => {
            if let Some(id) = in_a(a, *k) {
                apply_call(a, &id, *k);
            }
        }
        Op::Merge { a: x, b: y } => {
            if let (Some(p), Some(d)) = (in_a(a, *x), in_a(a, *y)) {
                match a.merge(&p, &d) {
                    Ok(_) => {}
                    Err(e) => prop_assert_eq!(e.code(), ErrorCode::BadRequest, "{}", e),
                }
            }
        }
        Op::Erase { k } => {
            if let Some(id) = in_a(a, *k) {
                a.erase(&id).unwrap();
            }
        }
        Op::Import { k, merge } => {
            let line = json!({
                "name": format!("Imported {k}"),
                "identifiers": [
                    {"identifier_type": "phone_number", "identifier_value": phone(*k)},
                    {"identifier_type": "email", "identifier_value": email(*k)},
                ],
                "memories": [{"persona_id": "persona-1", "summary": "imported"}],
            })
            .to_string();
            let options = if *merge {
                ImportOptions::default().on_conflict(contactstore::OnConflict::Merge)
            } else {
                ImportOptions::default()
            };
            a.import(&mut line.as_bytes(), &options, &mut |_| {})
                .unwrap();
        }
        Op::ReachIntoB { k, how } => {
            let theirs = &b_ids[usize::from(*k)];
            let scope = MemoryScope::persona("persona-1");
            let mine = in_a(a, *k).unwrap_or_else(|| theirs.clone());
            let outcome = match how {
                0 => a.get(theirs).map(drop),
                1 => a.merge(&mine, theirs).map(drop),
                2 => a.merge(theirs, &mine).map(drop),
                3 => a.set_summary(theirs, &scope, "from A").map(drop),
                4 => a.erase(theirs).map(drop),
                _ => a.calls(theirs).map(drop),
            };
            let code = outcome.map_err(|e| e.code());
            // `mine` may be B's id itself when A has no such person: still not found,
            // not refused as a merge with itself (that would tell B's id exists).
            prop_assert!(matches!(code, Err(ErrorCode::NotFound)), "{op:?}: {code:?}");
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn operations_in_one_org_leave_another_org_with_the_same_identifiers_unchanged(
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let store = common::store();
        let b = store.org("org-b").unwrap();
        let b_ids = seed(&b);
        let before = export(&b);
        let a = store.org("org-a").unwrap();
        for op in &ops {
            run(&a, &b_ids, op)?;
        }
        prop_assert!(export(&b) == before, "B changed");
        // And every one of B's identifiers still reaches B's own contact.
        for k in 0..PEOPLE {
            let found = b.find(&IdentifierQuery::email(email(k))).unwrap().unwrap();
            prop_assert_eq!(&found.contact.id, &b_ids[usize::from(k)]);
        }
    }
}

// Every statement has an org condition -----------------------------------------------

/// Tables holding contact data.
const CONTACT_TABLES: &[&str] = &[
    "contact",
    "identifier",
    "memory",
    "memory_entity",
    "activity",
    "merge_redirect",
    "merge_journal",
    "migration_finding",
];

/// Statements allowed to touch contact data without an org condition, and why.
const ALL_ORGS_STATEMENTS: &[(&str, &str, &str)] = &[
    (
        "renormalize.rs",
        "PHONE_IDENTIFIERS_OF_ALL_ORGS",
        "the schema 3 upgrade normalizes every stored phone identifier again, once, inside \
         the migration's transaction",
    ),
    (
        "renormalize.rs",
        "AGENT_MEMORIES_OF_ALL_ORGS",
        "the schema 3 upgrade normalizes every stored agent number again",
    ),
    (
        "renormalize.rs",
        "ACTIVITY_NUMBERS_OF_ALL_ORGS",
        "the schema 3 upgrade normalizes every stored call/SMS number again",
    ),
    (
        "findings.rs",
        "FINDINGS_OF_ALL_ORGS",
        "the all-orgs handle's listing of upgrade findings (AllOrgs::migration_findings)",
    ),
    (
        "contacts.rs",
        "CONTACT_BY_ID_ANY_ORG",
        "finds a contact by id for the all-orgs handle's merge (OrgScope::All only)",
    ),
    (
        "merges.rs",
        "REDIRECT_ANY_ORG",
        "follows a merged id for the all-orgs handle's merge (OrgScope::All only)",
    ),
    (
        "documents.rs",
        "CONTACTS_OF_ALL_ORGS",
        "the all-orgs handle's export (OrgScope::All only)",
    ),
    (
        "identifiers.rs",
        "IDENTIFIERS_BY_CONTACT_IN_ALL_ORGS",
        "a walk of the all-orgs handle's export (OrgScope::All only)",
    ),
    (
        "memories.rs",
        "MEMORIES_BY_CONTACT_IN_ALL_ORGS",
        "a walk of the all-orgs handle's export (OrgScope::All only)",
    ),
    (
        "memories.rs",
        "ENTITIES_BY_CONTACT_IN_ALL_ORGS",
        "a walk of the all-orgs handle's export (OrgScope::All only)",
    ),
    (
        "activity.rs",
        "ACTIVITIES_BY_CONTACT_IN_ALL_ORGS",
        "a walk of the all-orgs handle's export (OrgScope::All only)",
    ),
    (
        "check.rs",
        "IDENTIFIERS_WITHOUT_CONTACT",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "postgres/check.rs",
        "MEMORIES_WITHOUT_CONTACT",
        "an invariant of `check`, which covers the whole database (every org); it lists \
         org and record ids, never contact data",
    ),
    (
        "postgres/check.rs",
        "ENTITIES_WITHOUT_MEMORY",
        "an invariant of `check`, which covers the whole database (every org); it lists \
         org and record ids, never contact data",
    ),
    (
        "sqlite/memories.rs",
        "MEMORIES_WITHOUT_CONTACT",
        "an invariant of `check` (and what the upgrade to schema 7 refuses), which covers \
         the whole file (every org); it lists org and record ids, never contact data",
    ),
    (
        "sqlite/memories.rs",
        "ENTITIES_WITHOUT_MEMORY",
        "an invariant of `check` (and what the upgrade to schema 7 refuses), which covers \
         the whole file (every org); it lists org and record ids, never contact data",
    ),
    (
        "check.rs",
        "ACTIVITIES_WITHOUT_CONTACT",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "check.rs",
        "MERGED_IDS_WITH_A_CONTACT",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "check.rs",
        "REDIRECTS_WITHOUT_SURVIVOR",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "check.rs",
        "MERGES_WITHOUT_REDIRECT",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "check.rs",
        "REDIRECTS_WITHOUT_MERGE",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "check.rs",
        "UNDONE_MERGES_WITH_SNAPSHOT",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "check.rs",
        "SEVERAL_PRIMARIES",
        "an invariant of `check`, which covers the whole file (every org); it lists org \
         and record ids, never contact data",
    ),
    (
        "contacts.rs",
        "CONTACT_ID_TAKEN",
        "contact ids are unique across orgs (contact_by_id): import asks whether an id \
         is free, and whose it is, to keep or replace it; no contact data is read or shown",
    ),
];

/// A string literal of the crate's source.
#[derive(Debug)]
struct Literal {
    file: String,
    line: usize,
    /// The constant it initializes, if any.
    name: Option<String>,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of `source` outside comments and `#[cfg(test)]` modules, with
/// escapes and line continuations resolved.
fn literals(file: &str, source: &str) -> Vec<Literal> {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(end) => &source[..end],
        None => source,
    };
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut last_const: Option<(String, usize)> = None;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => line += 1,
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                i += 2;
                continue;
            }
            '\'' => {
                // A char literal ('"', '\'', '\n', 'x') or a lifetime ('a).
                if next == Some('\\') {
                    i += 3;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 2;
                }
            }
            'r' if matches!(next, Some('"') | Some('#'))
                && !chars
                    .get(i.wrapping_sub(1))
                    .is_some_and(|p| p.is_alphanumeric() || *p == '_') =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) == Some(&'"') {
                    let start_line = line;
                    let mut text = String::new();
                    j += 1;
                    loop {
                        let closes = chars.get(j) == Some(&'"')
                            && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#'));
                        if closes || j >= chars.len() {
                            break;
                        }
                        line += usize::from(chars[j] == '\n');
                        text.push(chars[j]);
                        j += 1;
                    }
                    out.push(literal(file, start_line, &mut last_const, text));
                    i = j + 1 + hashes;
                    continue;
                }
            }
            '"' => {
                let start_line = line;
                let mut text = String::new();
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    if chars[j] == '\\' {
                        j += 1;
                        match chars.get(j) {
                            Some('\n') => {
                                line += 1;
                                j += 1;
                                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                                    line += usize::from(chars[j] == '\n');
                                    j += 1;
                                }
                                continue;
                            }
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            Some(other) => text.push(*other),
                            None => break,
                        }
                    } else {
                        line += usize::from(chars[j] == '\n');
                        text.push(chars[j]);
                    }
                    j += 1;
                }
                out.push(literal(file, start_line, &mut last_const, text));
                i = j + 1;
                continue;
            }
            _ => {}
        }
        // `const NAME: &str =` names the literal that follows.
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if starts_word && chars[i..].starts_with(&['c', 'o', 'n', 's', 't', ' ']) {
            let rest: String = chars[i + 6..chars.len().min(i + 100)].iter().collect();
            let declaration = rest.split('=').next().unwrap_or("");
            if let Some((name, ty)) = declaration.split_once(':') {
                if ty.trim() == "&str" || ty.trim() == "&'static str" {
                    last_const = Some((name.trim().to_owned(), line));
                }
            }
        }
        i += 1;
    }
    out
}

fn literal(
    file: &str,
    line: usize,
    last_const: &mut Option<(String, usize)>,
    text: String,
) -> Literal {
    // A constant's literal starts on its line or the next.
    let name = match last_const.take() {
        Some((name, at)) if line <= at + 1 => Some(name),
        _ => None,
    };
    Literal {
        file: file.to_owned(),
        line,
        name,
        text,
    }
}

/// The SQL statements among the crate's literals.
fn statements() -> Vec<Literal> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let file = path.strip_prefix(&src).unwrap().display().to_string();
        let source = std::fs::read_to_string(&path).unwrap();
        out.extend(literals(&file, &source).into_iter().filter(|l| {
            let first = l.text.split_whitespace().next().unwrap_or("");
            ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE"].contains(&first)
        }));
    }
    out
}

fn words(sql: &str) -> Vec<String> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '?'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How many contact tables a statement names after FROM, JOIN, UPDATE or INTO, and
/// how many org conditions it has (`org_id = ?N` or a join on `org_id`).
fn tables_and_org_conditions(sql: &str) -> (usize, usize, bool) {
    let w = words(sql);
    let mut tables = 0;
    let mut conditions = 0;
    for (i, word) in w.iter().enumerate() {
        let before = i.checked_sub(1).map(|p| w[p].to_uppercase());
        if CONTACT_TABLES.contains(&word.as_str())
            && matches!(before.as_deref(), Some("FROM" | "JOIN" | "UPDATE" | "INTO"))
        {
            tables += 1;
        }
    }
    let compact: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    for (at, _) in compact.match_indices("org_id = ") {
        let rhs = &compact[at + "org_id = ".len()..];
        // `?N` on SQLite, `$N` on PostgreSQL.
        if rhs.starts_with('?')
            || rhs.starts_with('$')
            || rhs
                .split(' ')
                .next()
                .is_some_and(|r| r.ends_with(".org_id"))
        {
            conditions += 1;
        }
    }
    let insert_with_org = compact.starts_with("INSERT") && {
        let columns = compact.split('(').nth(1).unwrap_or("");
        columns
            .split(')')
            .next()
            .unwrap_or("")
            .split(',')
            .any(|c| c.trim() == "org_id")
    };
    (tables, conditions, insert_with_org)
}

#[test]
fn every_statement_touching_contact_data_has_an_org_condition() {
    let statements = statements();
    assert!(
        statements.len() > 40,
        "the scan found only {} statements",
        statements.len()
    );
    let mut allowed_seen = Vec::new();
    let mut offenders = Vec::new();
    for s in &statements {
        let (tables, conditions, insert_with_org) = tables_and_org_conditions(&s.text);
        if tables == 0 {
            continue;
        }
        let ok = if s.text.trim_start().starts_with("INSERT") {
            insert_with_org && conditions + 1 >= tables
        } else {
            conditions >= tables
        };
        let allowed = ALL_ORGS_STATEMENTS
            .iter()
            .find(|(file, name, _)| s.file.ends_with(file) && s.name.as_deref() == Some(*name));
        match (ok, allowed) {
            (true, None) => {}
            (false, Some((file, name, _))) => allowed_seen.push((*file, *name)),
            (true, Some((_, name, _))) => offenders.push(format!(
                "{name} has an org condition now: drop it from the list"
            )),
            (false, None) => offenders.push(format!(
                "{}:{} {}: {}",
                s.file,
                s.line,
                s.name.as_deref().unwrap_or("(inline)"),
                s.text.split_whitespace().collect::<Vec<_>>().join(" ")
            )),
        }
        assert!(
            !s.text.contains('{'),
            "{}:{}: statements are never built with format!",
            s.file,
            s.line
        );
    }
    println!(
        "isolation: {} statements scanned, {} touch contact data, {} allowed without an org \
         condition",
        statements.len(),
        statements
            .iter()
            .filter(|s| tables_and_org_conditions(&s.text).0 > 0)
            .count(),
        ALL_ORGS_STATEMENTS.len()
    );
    assert_eq!(offenders, Vec::<String>::new());
    // An entry's file suffix may match both engines' module of the same name.
    allowed_seen.sort();
    allowed_seen.dedup();
    let mut listed: Vec<(&str, &str)> = ALL_ORGS_STATEMENTS
        .iter()
        .map(|(file, name, _)| (*file, *name))
        .collect();
    listed.sort();
    assert_eq!(allowed_seen, listed, "every allowed statement still exists");
}

#[test]
fn the_statement_scan_catches_a_statement_without_an_org_condition() {
    let source = r#"
        const GOOD: &str = "SELECT id FROM contact WHERE org_id = ?1 AND id = ?2";
        // "SELECT id FROM contact" in a comment is not a statement.
        const BAD: &str = "UPDATE memory SET summary = ?2 \
             WHERE id = ?1";
        fn f() { let c = '"'; conn.execute("DELETE FROM identifier WHERE contact_id = ?1", []); }
        const JOINED: &str = "SELECT 1 FROM memory m JOIN memory_entity e ON e.org_id = m.org_id \
             WHERE m.id = ?1";
    "#;
    let found = literals("x.rs", source);
    let verdicts: Vec<(Option<&str>, bool)> = found
        .iter()
        .map(|l| {
            let (tables, conditions, _) = tables_and_org_conditions(&l.text);
            (l.name.as_deref(), conditions >= tables)
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            (Some("GOOD"), true),
            (Some("BAD"), false),
            (None, false),
            (Some("JOINED"), false),
        ]
    );
    assert_eq!(
        found[1].text,
        "UPDATE memory SET summary = ?2 WHERE id = ?1"
    );
}
