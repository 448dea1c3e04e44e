//! Imports that can be run again (issue 18, deliverable 1): a line whose content the
//! store already holds counts as `unchanged` and writes nothing, so a file imported
//! again after a crash lands exactly the lines that were missing; a failure that stops
//! an import still reports what was committed, up to which line.
//!
//! The kill test: an import (a child process) is killed with SIGKILL at a random
//! moment, the file is imported again, and the store equals one that imported the
//! file once (the exports are byte-identical), with `unchanged + imported = lines`.
//! `cargo test --test rerun -- --nocapture` prints its figures; `CONTACTSTORE_LONG=1`
//! kills 40 times instead of 4.

mod common;
mod reliability;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{generated, TempDb, WriteWatch};
use contactstore::{
    ContactStore, Direction, EntityUpdate, ErrorCode, IdentifierQuery, ImportError, ImportOptions,
    ImportSummary, MemoryScope, Message, NewCall, OnConflict, ResolveRequest, Settings,
};
use reliability::{check_problems, long_run, Rng};
use serde_json::{json, Value};

fn import(store: &ContactStore, text: &str, options: &ImportOptions) -> ImportSummary {
    store
        .all_orgs()
        .import(&mut text.as_bytes(), options, &mut |_| {})
        .unwrap()
}

fn import_into(org: &contactstore::Org<'_>, text: &str, options: &ImportOptions) -> ImportSummary {
    org.import(&mut text.as_bytes(), options, &mut |_| {})
        .unwrap()
}

fn export(store: &ContactStore) -> Vec<u8> {
    let mut out = Vec::new();
    store.all_orgs().export(&mut out).unwrap();
    out
}

fn merge_mode() -> ImportOptions {
    ImportOptions::default().on_conflict(OnConflict::Merge)
}

/// A store with a bit of everything — memory with messages and entities, calls,
/// a merge — exported: the file an operator re-imports.
fn exported_store() -> String {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let scope = MemoryScope::persona("persona-1");
    for i in 0..20 {
        let id = org
            .resolve(&ResolveRequest {
                identifiers: IdentifierQuery {
                    phone_number: Some(format!("+1415555{:04}", i)),
                    email: (i % 2 == 0).then(|| format!("p{i}@example.com")),
                    ..Default::default()
                },
                name: Some(format!("Person {i}")),
                persona_id: Some("persona-1".into()),
                ..Default::default()
            })
            .unwrap()
            .contact
            .id;
        org.add_messages(
            &id,
            &scope,
            &[Message {
                role: contactstore::Role::User,
                content: format!("hello {i}"),
                channel: contactstore::Channel::Sms,
                timestamp: contactstore::Timestamp::parse("2025-07-23T09:10:00Z").unwrap(),
            }],
        )
        .unwrap();
        org.upsert_entity(
            &id,
            &scope,
            &EntityUpdate {
                entity_type: "order".into(),
                entity_id: format!("order-{i}"),
                status: Some("open".into()),
                ..Default::default()
            },
        )
        .unwrap();
        org.record_call(
            &id,
            &NewCall {
                direction: Direction::Inbound,
                agent_number: Some("+14155550100".into()),
                contact_number: None,
                started_at: None,
                duration_seconds: Some(i),
                status: None,
                summary: None,
                metadata: Default::default(),
            },
        )
        .unwrap();
    }
    let a = org
        .find(&IdentifierQuery::phone("+14155550000"))
        .unwrap()
        .unwrap();
    let b = org
        .find(&IdentifierQuery::phone("+14155550001"))
        .unwrap()
        .unwrap();
    org.merge(&a.contact.id, &b.contact.id).unwrap();
    String::from_utf8(export(&store)).unwrap()
}

#[test]
fn an_export_imported_again_is_unchanged_and_writes_nothing() {
    let file = exported_store();
    let lines = file.lines().count() as u64;
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let first = import(&store, &file, &ImportOptions::default());
    assert_eq!((first.imported, first.rejected), (lines, 0), "{first:?}");
    let before = export(&store);
    for options in [ImportOptions::default(), merge_mode()] {
        let watch = WriteWatch::new(&db.path);
        let again = import(&store, &file, &options);
        assert_eq!(
            (
                again.lines,
                again.unchanged,
                again.imported,
                again.merged,
                again.rejected
            ),
            (lines, lines, 0, 0, 0),
            "{again:?}"
        );
        assert!(!watch.changed(), "an unchanged line wrote");
    }
    assert_eq!(export(&store), before);
    assert_eq!(before, file.as_bytes(), "export → import → export");
}

/// Lines without ids or `updated_at` (the importer chose them the first time): the
/// stored values stand in for them, and the lines are unchanged.
#[test]
fn lines_without_ids_or_timestamps_are_unchanged_the_second_time() {
    let file = generated(60);
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let first = import(&store, &file, &ImportOptions::default());
    assert_eq!((first.imported, first.rejected), (60, 0), "{first:?}");
    let before = export(&store);
    let watch = WriteWatch::new(&db.path);
    let again = import(&store, &file, &ImportOptions::default());
    assert_eq!(
        (again.unchanged, again.imported, again.rejected),
        (60, 0, 0),
        "{again:?}"
    );
    assert!(!watch.changed());
    assert_eq!(export(&store), before);
}

/// Only the same content is unchanged: a line that would change its contact is still
/// refused, whether it names the contact by id or by identifiers.
#[test]
fn a_line_that_differs_from_its_stored_contact_is_rejected() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let phone = json!([{"identifier_type": "phone_number", "identifier_value": "+14155550192"}]);
    let by_id = "0198c6a0-0000-7000-8000-000000000001";
    let line = |v: Value| v.to_string() + "\n";
    let first = line(json!({"id": by_id, "name": "Sarah", "identifiers": phone}));
    let summary = org
        .import(
            &mut first.as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.imported, 1);
    let cases = [
        (
            json!({"id": by_id, "name": "Sara", "identifiers": phone}),
            "Invalid id: belongs to a contact that already exists",
        ),
        (
            json!({"id": by_id, "name": "Sarah", "identifiers": phone, "created_at": "2020-01-01T00:00:00Z"}),
            "Invalid id: belongs to a contact that already exists",
        ),
        // Without an id: the name is content (absent is null), so it differs.
        (
            json!({"identifiers": phone}),
            "Invalid phone_number: already belongs to another contact",
        ),
        (
            json!({"name": "Sarah", "identifiers": phone, "metadata": {"tier": "gold"}}),
            "Invalid phone_number: already belongs to another contact",
        ),
        // One more identifier than the contact has.
        (
            json!({"name": "Sarah", "identifiers": [phone[0], {"identifier_type": "email", "identifier_value": "s@example.com"}]}),
            "Invalid phone_number: already belongs to another contact",
        ),
    ];
    for (doc, message) in cases {
        let text = line(doc);
        let summary = org
            .import(&mut text.as_bytes(), &ImportOptions::default(), &mut |_| {})
            .unwrap();
        assert_eq!((summary.rejected, summary.unchanged), (1, 0), "{text}");
        assert_eq!(summary.errors[0].message, message, "{text}");
    }
    // The same content, with or without the id, is unchanged.
    for doc in [
        json!({"id": by_id, "name": "Sarah", "identifiers": phone}),
        json!({"name": "Sarah", "identifiers": phone}),
        json!({"name": "Sarah", "identifiers": [{"identifier_type": "phone_number", "identifier_value": "(415) 555-0192"}]}),
    ] {
        let text = line(doc);
        let summary = org
            .import(&mut text.as_bytes(), &ImportOptions::default(), &mut |_| {})
            .unwrap();
        assert_eq!(summary.unchanged, 1, "{text}: {summary:?}");
    }
}

/// `--on-conflict merge` run twice: the lines that landed — imported, or merged into a
/// contact that was there before — are unchanged the second time, not merged again
/// (which would join summaries twice and add calls again).
#[test]
fn merge_mode_runs_again_report_landed_lines_as_unchanged() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let existing = org
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id;
    let call =
        json!([{"id": "call-1", "direction": "inbound", "started_at": "2025-07-20T00:00:00Z"}]);
    let text = [
        // Merges into the existing contact.
        json!({"id": "0198c6a0-0000-7000-8000-000000000001", "name": "Sarah",
               "identifiers": [{"identifier_type": "phone_number", "identifier_value": "+14155550192"},
                               {"identifier_type": "email", "identifier_value": "s@example.com"}],
               "memories": [{"persona_id": "p", "summary": "Asked about order 12"}],
               "calls": call}),
        // New.
        json!({"id": "0198c6a0-0000-7000-8000-000000000002", "name": "Bob",
               "identifiers": [{"identifier_type": "email", "identifier_value": "b@example.com"}]}),
        // New, without an id.
        json!({"name": "Carol",
               "identifiers": [{"identifier_type": "external_id", "identifier_value": "crm-3"}]}),
    ]
    .map(|v| v.to_string() + "\n")
    .concat();
    let first = import_into(&org, &text, &merge_mode());
    assert_eq!((first.merged, first.imported), (1, 2), "{first:?}");
    let before = export(&store);
    let watch = WriteWatch::new(&db.path);
    let again = import_into(&org, &text, &merge_mode());
    assert_eq!(
        (
            again.unchanged,
            again.merged,
            again.imported,
            again.rejected
        ),
        (3, 0, 0, 0),
        "{again:?}"
    );
    assert!(!watch.changed(), "a second merge-mode run wrote");
    assert_eq!(export(&store), before);
    let merged = org.get(&existing).unwrap();
    assert_eq!(merged.memories[0].summary, "Asked about order 12");
    assert_eq!(org.calls(&existing).unwrap().len(), 1);
    assert_eq!(check_problems(&db.path), Vec::<String>::new());
}

/// A merge-mode line whose id is its own target's, with new content, is merged into
/// that contact; the journal and the redirect of the merge still agree (the document's
/// id is taken, so both keep the temporary id) and the check stays healthy.
#[test]
fn merging_a_changed_line_into_its_own_contact_keeps_journal_and_redirects_agreeing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let line = |metadata: Value| {
        json!({"org_id": "acme", "id": "0198c6a0-0000-7000-8000-000000000009",
               "name": "Sarah", "metadata": metadata,
               "identifiers": [{"identifier_type": "email", "identifier_value": "s@example.com"}]})
        .to_string()
    };
    import(&store, &line(json!({})), &ImportOptions::default());
    let summary = import(&store, &line(json!({"tier": "gold"})), &merge_mode());
    assert_eq!(summary.merged, 1, "{summary:?}");
    let got = store
        .org("acme")
        .unwrap()
        .get("0198c6a0-0000-7000-8000-000000000009")
        .unwrap();
    assert_eq!(got.contact.metadata["tier"], "gold");
    assert_eq!(check_problems(&db.path), Vec::<String>::new());
}

/// A file that fills the disk part way: the import stops with the summary of the lines
/// committed before it, up to which line — and those lines are exactly what the store
/// holds. With room again, the same file lands the rest.
#[test]
fn a_storage_failure_reports_the_committed_lines_and_a_second_run_lands_the_rest() {
    // A full disk: SQLite's size limit on a file.
    let db = TempDb::sqlite();
    drop(ContactStore::open(&db.path).unwrap());
    let size = std::fs::metadata(&db.path).unwrap().len();
    // Lines of about 10 KB: a commit each MiB of input (about 100 lines), and room for
    // about 150 of 200.
    let text: String = (0..200)
        .map(|i| {
            json!({"id": format!("0198c6a0-0000-7000-8000-{i:012}"),
                   "created_at": "2025-07-20T00:00:00Z",
                   "identifiers": [{"identifier_type": "external_id", "identifier_value": format!("line-{i}")}],
                   "metadata": {"pad": "x".repeat(10_000)}})
            .to_string()
                + "\n"
        })
        .collect();
    let limited = Settings::default().size_limit(size + 1_800_000);
    let store = ContactStore::open_with(&db.path, limited).unwrap();
    let err: ImportError = store
        .org("default")
        .unwrap()
        .import(&mut text.as_bytes(), &ImportOptions::default(), &mut |_| {})
        .expect_err("the disk fills up");
    let last = err.last_committed_line();
    println!(
        "rerun: disk full after line {last} of 200 committed: {}",
        err.error
    );
    assert_eq!(err.code(), ErrorCode::InternalError);
    assert!(
        matches!(&err.error, contactstore::Error::Storage(s)
        if s.sqlite_code() == Some(rusqlite::ErrorCode::DiskFull)),
        "{err:?}"
    );
    assert!(last > 0 && last < 200, "{err:?}");
    assert_eq!(err.summary.lines, last);
    assert_eq!(err.summary.imported, last, "{:?}", err.summary);
    assert_eq!(
        err.to_string(),
        format!("import stopped after line {last}: {}", err.error)
    );
    let as_error: contactstore::Error = err.into();
    assert_eq!(as_error.code(), ErrorCode::InternalError);
    // The store holds lines 1..=last and nothing after.
    let org = store.org("default").unwrap();
    for i in 0..200u64 {
        let found = org
            .find(&IdentifierQuery::external_id(format!("line-{i}")))
            .unwrap();
        assert_eq!(found.is_some(), i < last, "line {}", i + 1);
    }
    drop(store);
    let store = ContactStore::open(&db.path).unwrap();
    let again = import_into(
        &store.org("default").unwrap(),
        &text,
        &ImportOptions::default(),
    );
    assert_eq!(
        (again.unchanged, again.imported),
        (last, 200 - last),
        "{again:?}"
    );
    assert_eq!(check_problems(&db.path), Vec::<String>::new());
}

/// Input that fails to read part way: the lines before the failure are committed, and
/// the summary says up to which.
#[test]
fn an_input_error_commits_the_lines_before_it() {
    struct Failing(std::io::Cursor<Vec<u8>>);
    impl std::io::Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            match std::io::Read::read(&mut self.0, out)? {
                0 => Err(std::io::Error::other("the disk went away")),
                n => Ok(n),
            }
        }
    }
    let text = generated(30);
    let mut input = BufReader::new(Failing(std::io::Cursor::new(text.into_bytes())));
    let store = common::store();
    let err = store
        .all_orgs()
        .import(&mut input, &ImportOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(matches!(err.error, contactstore::Error::Io(_)), "{err:?}");
    assert_eq!(
        (err.summary.lines, err.summary.imported),
        (30, 30),
        "{err:?}"
    );
    assert_eq!(
        String::from_utf8(export(&store)).unwrap().lines().count(),
        30
    );
}

// The kill test --------------------------------------------------------------------------

/// Child entry: imports `CHILD_FILE` into `CHILD_DB`, printing READY once the store is
/// open and DONE with the summary at the end. Run only by the test below.
#[test]
#[ignore = "child process entry"]
fn child_import_until_killed() {
    let path = std::env::var("CHILD_DB").expect("CHILD_DB");
    let file = std::env::var("CHILD_FILE").expect("CHILD_FILE");
    let store = ContactStore::open(&path).expect("open");
    println!("READY");
    let mut input = BufReader::new(std::fs::File::open(file).expect("the file"));
    let summary = store
        .all_orgs()
        .import(&mut input, &ImportOptions::default(), &mut |_| {})
        .expect("import");
    println!("DONE {summary:?}");
}

/// Starts the child import and kills it `delay` after it reported READY, unless it
/// finished first; true when it finished.
fn import_and_kill(db: &std::path::Path, file: &std::path::Path, delay: Duration) -> bool {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_import_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CHILD_DB", db)
        .env("CHILD_FILE", file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (lines, seen) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let ready = seen.iter().any(|line| line.contains("READY"));
    assert!(ready, "the child did not start");
    let deadline = Instant::now() + delay;
    let mut finished = false;
    while let Ok(line) = seen.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains("DONE") {
            finished = true;
            break;
        }
    }
    // SIGKILL on unix: no destructor, no commit, no checkpoint runs in the child.
    let _ = child.kill();
    let _ = child.wait();
    reader.join().unwrap();
    finished
}

#[test]
fn an_import_killed_at_a_random_moment_and_run_again_equals_one_run() {
    let kills = if long_run() { 40 } else { 4 };
    let seed = Rng::seed();
    println!("rerun: seed {seed} (CONTACTSTORE_SEED replays it)");
    let mut rng = Rng::new(seed);
    // The file: an export (ids and timestamps on every record), about 3 MiB.
    let source = common::store();
    import(&source, &generated(3_000), &ImportOptions::default());
    let expected = export(&source);
    let lines = expected.iter().filter(|&&b| b == b'\n').count() as u64;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.jsonl");
    std::fs::write(&file, &expected).unwrap();
    // How long one import takes here, in a child like the ones killed.
    let timing = TempDb::new();
    let started = Instant::now();
    assert!(import_and_kill(
        &timing.path,
        &file,
        Duration::from_secs(60)
    ));
    let full = started.elapsed();

    let (mut partial, mut finished) = (0u64, 0u64);
    for round in 0..kills {
        let db = TempDb::new();
        // Spread over the import's duration, jittered.
        let at = (round as f64 + rng.below(1_000) as f64 / 1_000.0) / kills as f64;
        let delay = full.mul_f64(at);
        if import_and_kill(&db.path, &file, delay) {
            finished += 1;
        }
        assert_eq!(
            check_problems(&db.path),
            Vec::<String>::new(),
            "after the kill"
        );
        let store = ContactStore::open(&db.path).unwrap();
        let mut input = BufReader::new(std::fs::File::open(&file).unwrap());
        let again = store
            .all_orgs()
            .import(&mut input, &ImportOptions::default(), &mut |_| {})
            .unwrap();
        assert_eq!(again.lines, lines);
        assert_eq!(
            (
                again.unchanged + again.imported,
                again.merged,
                again.rejected
            ),
            (lines, 0, 0),
            "{again:?}"
        );
        if again.unchanged > 0 && again.imported > 0 {
            partial += 1;
        }
        assert!(
            export(&store) == expected,
            "round {round}: the exports differ"
        );
        println!(
            "rerun: round {round}: killed after {:.0} ms, then {} unchanged + {} imported",
            delay.as_secs_f64() * 1000.0,
            again.unchanged,
            again.imported
        );
    }
    println!(
        "rerun: {kills} kills of an import of {lines} lines ({:.1} s unkilled): {partial} mid-way, \
         {finished} after it finished; every re-run equal to one import",
        full.as_secs_f64()
    );
    assert!(partial > 0, "no kill landed mid-import");
}

// The property ------------------------------------------------------------------------

mod property {
    use super::*;
    use proptest::prelude::*;

    /// Exported documents of a generated store: every id and timestamp present.
    fn pool() -> &'static [Value] {
        static POOL: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
        POOL.get_or_init(|| {
            let store = common::store();
            import(&store, &generated(12), &ImportOptions::default());
            String::from_utf8(export(&store))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
    }

    /// The document with the fields `strip` names removed (what the importer fills in:
    /// ids and timestamps), and, when `rename`, another name (a different content).
    fn variant(doc: &Value, strip: u8, rename: bool) -> Value {
        let mut d = doc.clone();
        let o = d.as_object_mut().unwrap();
        for (bit, key) in [(0, "id"), (1, "created_at"), (2, "updated_at")] {
            if strip & (1 << bit) != 0 {
                o.remove(key);
            }
        }
        let records = [
            (3, "identifiers", &["id"][..]),
            (4, "memories", &["id", "created_at", "updated_at"][..]),
            (5, "calls", &["id"][..]),
            (6, "sms_conversations", &["id"][..]),
        ];
        for (bit, list, keys) in records {
            if strip & (1 << bit) != 0 {
                for r in o[list].as_array_mut().unwrap() {
                    for key in keys {
                        r.as_object_mut().unwrap().remove(*key);
                    }
                }
            }
        }
        if rename {
            o.insert("name".into(), json!("Someone else"));
        }
        d
    }

    proptest! {
        /// Whatever a file holds — documents with or without their ids and timestamps,
        /// repeated, conflicting — a second run of it writes nothing: every line that
        /// landed or was unchanged is unchanged, every rejected line is rejected again.
        #[test]
        fn a_second_run_of_any_file_writes_nothing(
            lines in proptest::collection::vec((0..12usize, any::<u8>(), proptest::bool::weighted(0.15)), 1..16)
        ) {
            let text: String = lines
                .iter()
                .map(|(k, strip, rename)| variant(&pool()[*k], *strip, *rename).to_string() + "\n")
                .collect();
            let db = TempDb::new();
            let store = ContactStore::open(&db.path).unwrap();
            let first = import(&store, &text, &ImportOptions::default());
            let before = export(&store);
            let watch = WriteWatch::new(&db.path);
            let second = import(&store, &text, &ImportOptions::default());
            prop_assert_eq!(
                (second.imported, second.merged, second.unchanged, second.rejected),
                (0, 0, first.imported + first.unchanged, first.rejected),
                "{:?} then {:?}", first, second
            );
            prop_assert!(!watch.changed());
            prop_assert!(export(&store) == before);
        }
    }
}
