//! The crate's SQL statements, read from its source: every `const NAME: &str = "…";`
//! whose text is one SELECT, INSERT, UPDATE, DELETE or WITH statement. Shared by the
//! query-plan tests of both engines.

use std::path::{Path, PathBuf};

/// Statements of both engines that read a whole table by design: the all-orgs
/// listing of contacts, the findings an upgrade left (a table empty otherwise), and
/// `check`'s invariants, which read every row.
pub const FULL_SCANS_OF_BOTH: &[&str] = &[
    "CONTACTS_OF_ALL_ORGS",
    "FINDINGS_OF_ALL_ORGS",
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

/// `(file, name, sql)` for every statement constant in the `.rs` files under `src/`
/// for which `include` holds of the file's path relative to `src/`
/// (`storage/postgres/contacts.rs`).
pub fn statements(include: impl Fn(&Path) -> bool) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = vec![];
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && include(path.strip_prefix(&src).unwrap_or(&path))
            {
                files.push(path);
            }
        }
    }
    files.sort();
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
