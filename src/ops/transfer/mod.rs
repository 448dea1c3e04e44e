//! JSON Lines import and export (contract §6): one contact document a line — the get
//! shape plus `calls` and `sms_conversations`.
//!
//! Export is deterministic (contacts by org and id; everything inside in the orders
//! documented on the model types), so export → import into an empty file → export gives
//! the same bytes. Import ([`import`]) parses lines on a second thread ([`parse`]) and
//! writes them in batches; a line the store already holds is left alone
//! ([`unchanged`]), so a file can be imported again after a crash.

mod import;
mod parse;
mod unchanged;

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::storage::{Db, OrgScope};

pub(crate) use import::import;

/// What import does with a line whose identifier belongs to an existing contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnConflict {
    /// Reject the line (the default).
    #[default]
    Reject,
    /// Merge the line into the contact that owns its strongest known identifier (or has
    /// its id): the document is imported as a new contact and merged into that one
    /// with the merge rules. A line whose identifiers belong to several contacts is
    /// still rejected.
    Merge,
}

/// Options of an import.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// What to do with a line whose identifier belongs to an existing contact.
    pub on_conflict: OnConflict,
}

impl ImportOptions {
    /// Sets the conflict policy.
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_conflict = on_conflict;
        self
    }
}

/// How an import went.
///
/// Every non-blank line is counted once: `imported + merged + unchanged + rejected` is
/// the number of lines that are not blank.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Lines read (blank lines included). When a failure stopped the import
    /// ([`ImportError`]), the last line committed: every line up to it is settled.
    pub lines: u64,
    /// Contacts created.
    pub imported: u64,
    /// Lines merged into existing contacts (`--on-conflict merge`).
    pub merged: u64,
    /// Lines whose content the store already held (an earlier run of the same file, an
    /// export of this store): nothing was written for them.
    #[serde(default)]
    pub unchanged: u64,
    /// Lines rejected (each left nothing behind).
    pub rejected: u64,
    /// The first [`MAX_REPORTED_ERRORS`](crate::limits::MAX_REPORTED_ERRORS) rejected
    /// lines with their errors.
    pub errors: Vec<LineError>,
}

/// An import that a failure stopped — a storage failure (a full disk, a lock held past
/// the busy timeout) or an error reading the input — with what it had done by then.
///
/// Lines are committed in batches; `summary` counts the committed ones, and
/// `summary.lines` is the last line committed ([`ImportError::last_committed_line`]):
/// every line up to it has landed, was unchanged or was rejected, and nothing after it
/// was kept. Running the same file again lands exactly the rest (the lines already
/// there count as unchanged). `?` turns it into the plain [`Error`].
#[derive(Debug)]
pub struct ImportError {
    /// What the committed transactions did.
    pub summary: ImportSummary,
    /// The failure that stopped the import.
    pub error: Error,
}

impl ImportError {
    /// The last line whose outcome was committed (0 when none was).
    pub fn last_committed_line(&self) -> u64 {
        self.summary.lines
    }

    /// The contract's code of the failure.
    pub fn code(&self) -> ErrorCode {
        self.error.code()
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "import stopped after line {}: {}",
            self.summary.lines, self.error
        )
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<ImportError> for Error {
    fn from(e: ImportError) -> Error {
        e.error
    }
}

/// A rejected import line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// The error code (`BAD_REQUEST`, …).
    pub error: String,
    /// What was wrong, without the values.
    pub message: String,
}

/// Progress of a running import, reported after each batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportProgress {
    /// Lines processed so far.
    pub lines: u64,
    /// Bytes of input consumed so far.
    pub bytes: u64,
}

/// How an export went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    /// Contacts written.
    pub exported: u64,
}

/// Writes the scope's contacts as JSON Lines, in one read transaction.
pub(crate) fn export(db: &Db, orgs: OrgScope<'_>, out: &mut dyn Write) -> Result<ExportSummary> {
    db.read(|tx| {
        let mut exported = 0;
        let mut line = Vec::with_capacity(4096);
        tx.each_document(orgs, &mut |document| {
            line.clear();
            serde_json::to_writer(&mut line, &document)
                .map_err(|_| Error::Io(std::io::ErrorKind::InvalidData))?;
            line.push(b'\n');
            out.write_all(&line)?;
            exported += 1;
            Ok(())
        })?;
        out.flush()?;
        Ok(ExportSummary { exported })
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;
    use crate::settings::Settings;

    const ORGS: [&str; 2] = ["org-a", "org-b"];
    /// Few distinct times, so that sort keys tie and the tie-breakers decide.
    const TIMES: [&str; 3] = [
        "2025-01-01T00:00:00.000Z",
        "2025-01-01T00:00:01.000Z",
        "2025-01-02T00:00:00.000Z",
    ];

    fn time() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(&TIMES[..])
    }

    fn identifier() -> impl Strategy<Value = (&'static str, String, bool)> {
        (0..3usize, 0..6u32, any::<bool>()).prop_map(|(kind, k, primary)| match kind {
            0 => ("phone_number", format!("+1415555{:04}", 100 + k), primary),
            1 => ("email", format!("p{k}@example.com"), primary),
            _ => ("external_id", format!("crm-{k}"), primary),
        })
    }

    fn entity() -> impl Strategy<Value = Value> {
        (0..2usize, 0..4u32, proptest::option::of(time())).prop_map(|(t, k, at)| {
            let entity_type = ["order", "booking"][t];
            json!({"entity_type": entity_type, "entity_id": format!("e-{k}"),
                   "facts": {"k": k}, "status": null, "last_discussed_at": at, "notes": null})
        })
    }

    fn memory() -> impl Strategy<Value = (Value, Vec<Value>)> {
        (time(), proptest::collection::vec(entity(), 0..4)).prop_map(|(created, mut entities)| {
            // One entity per (type, id) in a memory.
            let mut seen = std::collections::HashSet::new();
            entities.retain(|e| {
                seen.insert((e["entity_type"].to_string(), e["entity_id"].to_string()))
            });
            (
                json!({"summary": "s", "created_at": created, "updated_at": created}),
                entities,
            )
        })
    }

    fn activity() -> impl Strategy<Value = (bool, Value)> {
        (any::<bool>(), time(), 0..3u32).prop_map(|(call, at, k)| {
            (
                call,
                json!({"direction": "inbound", "started_at": at, "status": format!("s{k}")}),
            )
        })
    }

    /// A document to import: ids are given so that they tie-break in a known way.
    fn document() -> impl Strategy<Value = (usize, Value)> {
        (
            0..ORGS.len(),
            proptest::collection::vec(identifier(), 1..4),
            proptest::collection::vec(memory(), 0..3),
            proptest::collection::vec(activity(), 0..4),
        )
            .prop_map(|(org, identifiers, memories, activities)| {
                let mut seen_primary = std::collections::HashSet::new();
                let identifiers: Vec<Value> = identifiers
                    .into_iter()
                    .map(|(kind, value, primary)| {
                        let primary = primary && seen_primary.insert(kind);
                        json!({"identifier_type": kind, "identifier_value": value,
                               "is_primary": primary})
                    })
                    .collect();
                let memories: Vec<Value> = memories
                    .into_iter()
                    .enumerate()
                    .map(|(i, (mut m, entities))| {
                        m["persona_id"] = json!(format!("persona-{i}"));
                        m["entities"] = json!(entities);
                        m
                    })
                    .collect();
                let (calls, sms): (Vec<_>, Vec<_>) = activities.into_iter().partition(|a| a.0);
                let with_ids = |list: Vec<(bool, Value)>, kind: &str| -> Vec<Value> {
                    list.into_iter()
                        .map(|(_, mut a)| {
                            a["id"] = json!(format!("{kind}-{}", uuid::Uuid::new_v4()));
                            if kind == "sms" {
                                a["message_count"] = json!(1);
                            }
                            a
                        })
                        .collect()
                };
                (
                    org,
                    json!({"name": "N", "identifiers": identifiers, "memories": memories,
                           "calls": with_ids(calls, "call"),
                           "sms_conversations": with_ids(sms, "sms")}),
                )
            })
    }

    /// Each document of the scope as one contact's read gives it, the contacts listed
    /// by another statement (by org, then id, as export orders them).
    fn one_by_one(db: &Db, orgs: OrgScope<'_>) -> Vec<u8> {
        db.read(|tx| {
            let mut ids = Vec::new();
            for org in ORGS {
                if orgs == OrgScope::One(org) || orgs == OrgScope::All {
                    for c in tx.named_contacts_after(org, "", usize::MAX)? {
                        ids.push((org.to_owned(), c.id));
                    }
                }
            }
            let mut out = Vec::new();
            for (org, id) in ids {
                let d = tx.document(&org, &id)?.expect("a listed contact");
                serde_json::to_writer(&mut out, &d).unwrap();
                out.push(b'\n');
            }
            Ok(out)
        })
        .unwrap()
    }

    proptest! {
        /// The merge join and the per-contact reads write the same bytes, for one org
        /// and for all of them.
        #[test]
        fn export_writes_what_one_contact_reads_give(
            documents in proptest::collection::vec(document(), 1..12)
        ) {
            let db = Db::open(None, Settings::default()).unwrap();
            let mut imported = 0;
            for (org, document) in &documents {
                let line = format!("{document}\n");
                imported += import(&db, OrgScope::One(ORGS[*org]), &mut line.as_bytes(),
                       &ImportOptions::default(), &mut |_| {}).unwrap().imported;
            }
            // Lines whose identifiers another line took are refused; the first never is.
            prop_assert!(imported >= 1);
            for orgs in [OrgScope::One(ORGS[0]), OrgScope::One(ORGS[1]), OrgScope::All] {
                let mut joined = Vec::new();
                export(&db, orgs, &mut joined).unwrap();
                prop_assert_eq!(
                    String::from_utf8(joined).unwrap(),
                    String::from_utf8(one_by_one(&db, orgs)).unwrap()
                );
            }
        }
    }
}
