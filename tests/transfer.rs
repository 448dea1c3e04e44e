//! JSON Lines import and export.

mod common;

use common::{dump, generated, TempDb};
use contactstore::{ContactStore, ErrorCode, IdentifierQuery, ImportOptions, ImportSummary};
use serde_json::{json, Value};

fn seed() -> Value {
    serde_json::from_str(include_str!("fixtures/seed-contact.json")).unwrap()
}

fn import_all(store: &ContactStore, text: &str) -> ImportSummary {
    store
        .all_orgs()
        .import(&mut text.as_bytes(), &ImportOptions::default(), &mut |_| {})
        .unwrap()
}

fn export_all(store: &ContactStore) -> Vec<u8> {
    let mut out = Vec::new();
    store.all_orgs().export(&mut out).unwrap();
    out
}

/// Drops fields the reference does not have (extra fields are allowed).
fn without_extras(mut v: Value) -> Value {
    if let Some(memories) = v["memories"].as_array_mut() {
        for m in memories {
            let m = m.as_object_mut().unwrap();
            m.remove("created_at");
            m.remove("updated_at");
            m.remove("summary_updated_at");
            m.remove("memory_history");
        }
    }
    v
}

#[test]
fn the_reference_contact_imports_and_reads_back_field_for_field() {
    let store = common::store();
    let line = serde_json::to_string(&seed()).unwrap();
    let summary = import_all(&store, &line);
    assert_eq!((summary.imported, summary.rejected), (1, 0), "{summary:?}");

    let org = store.org("11111111-2222-3333-4444-555555555555").unwrap();
    let got = org.get("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee").unwrap();
    assert_eq!(without_extras(serde_json::to_value(&got).unwrap()), seed());
    // And it is found by its identifier.
    let found = org
        .find(&IdentifierQuery::phone("(415) 555-0192"))
        .unwrap()
        .unwrap();
    assert_eq!(found.contact.id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
}

#[test]
fn importing_into_one_org_ignores_the_documents_org() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let line = serde_json::to_string(&seed()).unwrap();
    let summary = org
        .import(&mut line.as_bytes(), &ImportOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(summary.imported, 1);
    assert_eq!(
        org.get("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
            .unwrap()
            .contact
            .org_id,
        "acme"
    );
}

/// A few hundred varied contacts in three orgs, as JSON Lines.
#[test]
fn export_import_export_is_byte_identical() {
    let source = common::store();
    let summary = import_all(&source, &generated(300));
    assert_eq!(
        (summary.imported, summary.rejected),
        (300, 0),
        "{:?}",
        summary.errors
    );
    let first = export_all(&source);
    assert_eq!(first.iter().filter(|&&b| b == b'\n').count(), 300);

    let db = TempDb::new();
    let copy = ContactStore::open(&db.path).unwrap();
    let summary = import_all(&copy, std::str::from_utf8(&first).unwrap());
    assert_eq!(summary.imported, 300);
    let second = export_all(&copy);
    assert!(
        first == second,
        "export → import → export changed the bytes"
    );

    // One org's export is the subset of the all-orgs export with that org.
    let mut org_b = Vec::new();
    copy.org("org-b").unwrap().export(&mut org_b).unwrap();
    let expected: Vec<&str> = std::str::from_utf8(&first)
        .unwrap()
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).unwrap()["org_id"] == "org-b")
        .collect();
    assert_eq!(expected.len(), 100);
    assert_eq!(
        std::str::from_utf8(&org_b)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        expected
    );
}

/// SQLite → the run's engine → SQLite: on a PostgreSQL run, the export of an SQLite
/// store imported into PostgreSQL exports the same bytes, and so does that export
/// imported into SQLite again — after merges, memory writes, calls, an unmerge and an
/// erase made the data less regular than an import's. (On an SQLite run the middle
/// store is SQLite too.)
#[test]
fn export_is_byte_identical_across_engines() {
    let sqlite = ContactStore::open_in_memory().unwrap();
    let summary = import_all(&sqlite, &generated(240));
    assert_eq!((summary.imported, summary.rejected), (240, 0));
    // Writes after the import: merges (metadata, names, memories combined), memory
    // writes with key orders and numbers as clients send them, an unmerge, an erase.
    let org = sqlite.org("org-a").unwrap();
    let page = org
        .list(&contactstore::ListOptions {
            limit: Some(12),
            ..Default::default()
        })
        .unwrap();
    let ids: Vec<String> = page.contacts.iter().map(|c| c.contact.id.clone()).collect();
    org.merge(&ids[0], &ids[1]).unwrap();
    org.merge(&ids[2], &ids[3]).unwrap();
    org.merge(&ids[0], &ids[4]).unwrap();
    org.unmerge(&ids[4]).unwrap();
    org.erase(&ids[5]).unwrap();
    let scope = contactstore::MemoryScope::persona("persona-x");
    let facts: contactstore::JsonObject = serde_json::from_str(
        r#"{"zeta": 1.50, "alpha": {"b": [1, 2.0, 1e3], "a": "é\u00e9"}, "": null}"#,
    )
    .unwrap();
    org.patch_facts(&ids[6], &scope, &facts).unwrap();
    org.set_summary(&ids[6], &scope, "Ünïcode ☎ \"quoted\"")
        .unwrap();
    let first = export_all(&sqlite);

    let middle = common::store();
    let summary = import_all(&middle, std::str::from_utf8(&first).unwrap());
    assert_eq!(summary.rejected, 0, "{:?}", summary.errors);
    let second = export_all(&middle);
    assert!(
        first == second,
        "SQLite → the run's engine changed the bytes"
    );

    let back = ContactStore::open_in_memory().unwrap();
    import_all(&back, std::str::from_utf8(&second).unwrap());
    let third = export_all(&back);
    assert!(first == third, "… → SQLite changed the bytes");
}

#[test]
fn bad_lines_are_reported_and_leave_nothing_while_good_lines_land() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    org.resolve(&contactstore::ResolveRequest::email("taken@example.com"))
        .unwrap();
    let good = |n: u32| {
        format!(
            r#"{{"name":"Good {n}","identifiers":[{{"identifier_type":"phone_number","identifier_value":"+1415555{n:04}"}}]}}"#
        )
    };
    let lines = [
        good(1),
        "{not json".to_owned(),
        good(2),
        r#"{"identifiers":[{"identifier_type":"fax","identifier_value":"+14155550000"}]}"#.to_owned(),
        // A conflicting identifier: its phone must not land either.
        r#"{"identifiers":[{"identifier_type":"phone_number","identifier_value":"+14155559999"},{"identifier_type":"email","identifier_value":"TAKEN@example.com"}]}"#.to_owned(),
        String::new(),
        good(3),
        // Conflicts with a line of the same import.
        good(1).replace("Good 1", "Someone else"),
        // The very content of an earlier line: already there, unchanged.
        good(2),
    ];
    let text = lines.join("\n");
    let summary = org
        .import(&mut text.as_bytes(), &ImportOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(summary.lines, 9);
    assert_eq!(summary.imported, 3);
    assert_eq!(summary.rejected, 4);
    assert_eq!(summary.unchanged, 1);
    let rejected: Vec<(u64, &str)> = summary
        .errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (2, "Invalid document: is not valid JSON"),
            (
                4,
                "Invalid identifier_type: must be phone_number, email or external_id"
            ),
            (5, "Invalid email: already belongs to another contact"),
            (
                8,
                "Invalid phone_number: already belongs to another contact"
            ),
        ]
    );
    assert!(summary.errors.iter().all(|e| e.error == "BAD_REQUEST"));
    assert!(org
        .find(&IdentifierQuery::phone("+14155559999"))
        .unwrap()
        .is_none());
    for n in 1..=3 {
        let found = org
            .find(&IdentifierQuery::phone(format!("+1415555{n:04}")))
            .unwrap()
            .unwrap();
        assert_eq!(
            found.contact.name.as_deref(),
            Some(format!("Good {n}").as_str())
        );
    }
    let contacts = dump(&db.path)
        .iter()
        .filter(|r| r.starts_with("contact:"))
        .count();
    assert_eq!(contacts, 4);
}

#[test]
fn an_existing_contact_id_is_rejected() {
    let store = common::store();
    let line = serde_json::to_string(&seed()).unwrap();
    import_all(&store, &line);
    let mut changed = seed();
    changed["identifiers"][0]["identifier_value"] = json!("+14155550100");
    let summary = import_all(&store, &serde_json::to_string(&changed).unwrap());
    assert_eq!(summary.rejected, 1);
    assert_eq!(
        summary.errors[0].message,
        "Invalid id: belongs to a contact that already exists"
    );
    assert_eq!(summary.errors[0].error, ErrorCode::BadRequest.as_str());
}

#[test]
fn progress_is_reported_with_lines_and_bytes() {
    let store = common::store();
    let text = generated(40);
    let mut last = (0, 0);
    store
        .all_orgs()
        .import(&mut text.as_bytes(), &ImportOptions::default(), &mut |p| {
            last = (p.lines, p.bytes)
        })
        .unwrap();
    assert_eq!(last, (40, text.len() as u64));
}

#[test]
fn merge_mode_keeps_new_identifiers_of_a_type_the_owner_has() {
    use contactstore::OnConflict;
    let store = common::store();
    let org = store.org("acme").unwrap();
    let owner = org
        .resolve(&contactstore::ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id;
    let line = r#"{"id":"0198c6a0-0000-7000-8000-000000000001","identifiers":[{"identifier_type":"phone_number","identifier_value":"+14155550192"},{"identifier_type":"phone_number","identifier_value":"+14155550100"}]}"#;
    let summary = org
        .import(
            &mut line.as_bytes(),
            &ImportOptions::default().on_conflict(OnConflict::Merge),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.merged, 1, "{summary:?}");
    let got = org.get(&owner).unwrap();
    let phones: Vec<&str> = got
        .identifiers
        .iter()
        .map(|i| i.identifier_value.as_str())
        .collect();
    assert_eq!(phones, vec!["+14155550192", "+14155550100"]);
    // The document's id now leads to the contact it was merged into; no trace of the
    // temporary contact remains in the journal.
    assert_eq!(
        org.get("0198c6a0-0000-7000-8000-000000000001")
            .unwrap()
            .contact
            .id,
        owner
    );
}

#[test]
fn ids_in_use_elsewhere_or_merged_away_are_handled() {
    let store = common::store();
    let a = store.org("org-a").unwrap();
    let b = store.org("org-b").unwrap();
    let mut export = Vec::new();
    a.resolve(&contactstore::ResolveRequest::email("a@example.com"))
        .unwrap();
    a.export(&mut export).unwrap();
    let original: Value = serde_json::from_slice(&export).unwrap();

    // Org A's export imported into org B of the same file: the id is another org's, so
    // the contact gets a fresh one (and nothing about org A is revealed).
    let summary = b
        .import(
            &mut export.as_slice(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!((summary.imported, summary.rejected), (1, 0), "{summary:?}");
    let copy = b
        .find(&IdentifierQuery::email("a@example.com"))
        .unwrap()
        .unwrap();
    assert_ne!(copy.contact.id, original["id"].as_str().unwrap());

    // An id that was merged away in this org is not reused.
    let keep = a
        .resolve(&contactstore::ResolveRequest::email("keep@example.com"))
        .unwrap()
        .contact
        .id;
    let gone = original["id"].as_str().unwrap().to_owned();
    a.merge(&keep, &gone).unwrap();
    let mut doc = original.clone();
    doc["identifiers"][0]["identifier_value"] = json!("new@example.com");
    let line = serde_json::to_string(&doc).unwrap();
    let summary = a
        .import(&mut line.as_bytes(), &ImportOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(summary.rejected, 1);
    assert_eq!(
        summary.errors[0].message,
        "Invalid id: belongs to a contact that was merged away"
    );
}

/// A reader that hands out one line, then waits for a signal before the end.
struct SlowInput {
    first: Option<Vec<u8>>,
    go: std::sync::mpsc::Receiver<()>,
    buf: Vec<u8>,
}

impl std::io::Read for SlowInput {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let data = std::io::BufRead::fill_buf(self)?;
            let n = data.len().min(out.len());
            out[..n].copy_from_slice(&data[..n]);
            n
        };
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl std::io::BufRead for SlowInput {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.buf.is_empty() {
            if let Some(first) = self.first.take() {
                self.buf = first;
            } else {
                let _ = self.go.recv(); // then end of input
            }
        }
        Ok(&self.buf)
    }
    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
    }
}

#[test]
fn a_slow_import_does_not_keep_other_writers_out() {
    let db = TempDb::new();
    let (go, wait) = std::sync::mpsc::channel();
    let path = db.path.clone();
    let importer = std::thread::spawn(move || {
        let store = ContactStore::open(&path).unwrap();
        let mut input = SlowInput {
            first: Some(
                br#"{"identifiers":[{"identifier_type":"email","identifier_value":"first@example.com"}]}
"#
                .to_vec(),
            ),
            go: wait,
            buf: Vec::new(),
        };
        store
            .org("acme")
            .unwrap()
            .import(&mut input, &ImportOptions::default(), &mut |_| {})
            .unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    // While the import waits for its next line, another process can write.
    let other = ContactStore::open_with(
        &db.path,
        contactstore::Settings::default().busy_timeout(std::time::Duration::from_millis(500)),
    )
    .unwrap();
    let r = other
        .org("acme")
        .unwrap()
        .resolve(&contactstore::ResolveRequest::email("other@example.com"));
    assert!(r.is_ok(), "{r:?}");
    go.send(()).unwrap();
    assert_eq!(importer.join().unwrap().imported, 1);
    assert!(other
        .org("acme")
        .unwrap()
        .find(&IdentifierQuery::email("first@example.com"))
        .unwrap()
        .is_some());
}

/// On PostgreSQL other hosts' writes run beside an import; a batch the server ended
/// for a conflict with one of them could not be run again (its lines are consumed),
/// so an import batch never conflicts: it holds the writers' lock as SQLite's import
/// holds the file's. Here three writers create contacts in the same org, same tables
/// and index pages, for the whole import; every line lands and no call fails.
#[test]
fn an_import_beside_other_writers_lands_every_line_and_fails_none_of_them() {
    let db = TempDb::new();
    let lines: String = (0..3_000)
        .map(|n| {
            format!(
                "{{\"name\":\"Imported {n}\",\"identifiers\":[{{\"identifier_type\":\"email\",\
                 \"identifier_value\":\"imported{n}@example.com\"}}]}}\n"
            )
        })
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let path = db.path.clone();
            let done = std::sync::Arc::clone(&done);
            std::thread::spawn(move || {
                let store = ContactStore::open(&path).unwrap();
                let org = store.org("acme").unwrap();
                let mut written = 0u64;
                while !done.load(std::sync::atomic::Ordering::Relaxed) || written < 20 {
                    org.resolve(&contactstore::ResolveRequest::email(format!(
                        "writer{w}-{written}@example.com"
                    )))
                    .unwrap_or_else(|e| panic!("writer {w}: {e}"));
                    written += 1;
                }
                written
            })
        })
        .collect();
    let store = ContactStore::open(&db.path).unwrap();
    let summary = store
        .org("acme")
        .unwrap()
        .import(
            &mut std::io::Cursor::new(lines.into_bytes()),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("import beside writers: {e}"));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let written: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(summary.imported, 3_000, "{summary:?}");
    let exported = export_all(&store);
    let contacts = exported
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(contacts as u64, 3_000 + written, "{written} written beside");
}

/// Every way an import line is refused: its number and message are reported, it leaves
/// nothing behind, and the good line after it lands.
#[test]
fn each_refused_line_is_reported_and_leaves_nothing() {
    let email = |n: usize| {
        format!(r#"[{{"identifier_type":"email","identifier_value":"u{n}@example.com"}}]"#)
    };
    let many_identifiers: Vec<String> = (0..101)
        .map(|i| format!(r#"{{"identifier_type":"external_id","identifier_value":"x{i}"}}"#))
        .collect();
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                r#"{{"identifiers":{},"memories":[{{"id":"mem-1","persona_id":"a"}}],"calls":[{{"id":"mem-1","direction":"inbound","started_at":"2025-07-20T00:00:00Z"}}]}}"#,
                email(1)
            ),
            "Invalid document: uses one record id twice",
        ),
        (
            format!(
                r#"{{"identifiers":{},"memories":[{{"id":"mem-taken","persona_id":"a"}}]}}"#,
                email(2)
            ),
            "Invalid memory id: belongs to a record that already exists",
        ),
        (
            format!(
                r#"{{"identifiers":{},"calls":[{{"id":"call-taken","direction":"inbound","started_at":"2025-07-20T00:00:00Z"}}]}}"#,
                email(3)
            ),
            "Invalid call id: belongs to a record that already exists",
        ),
        (
            format!(r#"{{"identifiers":[{}]}}"#, many_identifiers.join(",")),
            "Invalid identifiers: has too many entries",
        ),
        (
            format!(
                r#"{{"identifiers":{},"memories":[{{"persona_id":"a"}},{{"persona_id":"a"}}]}}"#,
                email(4)
            ),
            "Invalid memories: two memories have the same scope",
        ),
        (
            format!(
                r#"{{"identifiers":{},"memories":[{{"persona_id":"a","entities":[{{"entity_type":"o","entity_id":"1"}},{{"entity_type":"o","entity_id":"1"}}]}}]}}"#,
                email(5)
            ),
            "Invalid entities: two entities have the same type and id",
        ),
        (
            format!(
                r#"{{"identifiers":{},"memories":[{{"summary":"x"}}]}}"#,
                email(7)
            ),
            "Invalid memories: each memory needs a persona_id or agent_number",
        ),
        (
            format!(
                r#"{{"name":"{}","identifiers":{}}}"#,
                "x".repeat(contactstore::limits::MAX_LINE_BYTES),
                email(6)
            ),
            "Invalid document: line is too long",
        ),
    ];
    let store = common::store();
    let org = store.org("acme").unwrap();
    let setup = r#"{"identifiers":[{"identifier_type":"email","identifier_value":"setup@example.com"}],"memories":[{"id":"mem-taken","persona_id":"a"}],"calls":[{"id":"call-taken","direction":"inbound","started_at":"2025-07-20T00:00:00Z"}]}"#;
    org.import(
        &mut setup.as_bytes(),
        &ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let mut before = Vec::new();
    org.export(&mut before).unwrap();
    for (i, (line, message)) in cases.iter().enumerate() {
        let good = format!(
            r#"{{"identifiers":[{{"identifier_type":"external_id","identifier_value":"good-{i}"}}]}}"#
        );
        let text = format!("{line}\n{good}\n");
        let summary = org
            .import(&mut text.as_bytes(), &ImportOptions::default(), &mut |_| {})
            .unwrap();
        assert_eq!((summary.imported, summary.rejected), (1, 1), "{message}");
        assert_eq!(summary.errors[0].line, 1);
        assert_eq!(summary.errors[0].message, *message);
        let good_contact = org
            .find(&IdentifierQuery::external_id(format!("good-{i}")))
            .unwrap()
            .unwrap();
        // Remove the good line's contact again, then the file is as before.
        org.erase(&good_contact.contact.id).unwrap();
        let mut after = Vec::new();
        org.export(&mut after).unwrap();
        assert!(after == before, "{message} left something behind");
    }
    // Invalid UTF-8 is refused the same way.
    let mut bytes = b"{\"name\":\"\xff\"}\n".to_vec();
    bytes.extend_from_slice(
        br#"{"identifiers":[{"identifier_type":"external_id","identifier_value":"utf"}]}"#,
    );
    let summary = org
        .import(
            &mut bytes.as_slice(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.errors[0].message, "Invalid document: is not UTF-8");
    assert_eq!(summary.imported, 1);
}

#[test]
fn an_all_orgs_import_refuses_a_line_without_its_org() {
    let store = common::store();
    let text = concat!(
        r#"{"identifiers":[{"identifier_type":"email","identifier_value":"a@example.com"}]}"#,
        "\n",
        r#"{"org_id":"acme","identifiers":[{"identifier_type":"email","identifier_value":"b@example.com"}]}"#,
        "\n"
    );
    let summary = import_all(&store, text);
    assert_eq!((summary.imported, summary.rejected), (1, 1));
    assert_eq!(summary.errors[0].line, 1);
    assert_eq!(
        summary.errors[0].message,
        "Invalid org_id: is required when importing all orgs"
    );
    let exported = String::from_utf8(export_all(&store)).unwrap();
    assert_eq!(exported.lines().count(), 1);
    assert!(!exported.contains("a@example.com"));
}
