//! Operating a store (issue 18, deliverables 3 and 4): online backups while another
//! writer keeps going, and the check that names what is wrong with a damaged copy —
//! without ever writing to the file it checks.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{dump, generated, TempDb, WriteWatch};
use contactstore::{
    CheckReport, ContactStore, ErrorCode, IdentifierQuery, ImportOptions, ResolveRequest,
    SCHEMA_VERSION,
};
use rusqlite::Connection;
use serde_json::json;

fn failed(report: &CheckReport) -> Vec<&str> {
    report.failures().map(|c| c.check.as_str()).collect()
}

fn outcome<'r>(report: &'r CheckReport, name: &str) -> &'r contactstore::CheckOutcome {
    report
        .checks
        .iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:?}"))
}

/// A store of a few hundred contacts with merges, memory and calls, closed.
fn populated() -> TempDb {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    store
        .all_orgs()
        .import(
            &mut generated(300).as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    let org = store.org("org-a").unwrap();
    for pair in [(0, 3), (6, 9)] {
        let id = |i: usize| {
            org.find(&IdentifierQuery::phone(format!("(415) 555-{:04}", i)))
                .unwrap()
                .unwrap()
                .contact
                .id
        };
        org.merge(&id(pair.0), &id(pair.1)).unwrap();
    }
    db
}

// Backup ----------------------------------------------------------------------------------

#[test]
fn a_backup_under_a_writer_is_sound_and_holds_every_write_acknowledged_before_it() {
    let db = TempDb::new();
    {
        // Some bulk first, so that the copy takes long enough for writes to land during
        // it.
        let store = ContactStore::open(&db.path).unwrap();
        store
            .all_orgs()
            .import(
                &mut generated(3_000).as_bytes(),
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
    }
    let acknowledged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, acknowledged, stop) = (db.path.clone(), acknowledged.clone(), stop.clone());
        std::thread::spawn(move || {
            let store = ContactStore::open(&path).unwrap();
            let org = store.org("acme").unwrap();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                // One transaction: the contact, its identifier and its memory.
                org.resolve(&ResolveRequest {
                    identifiers: IdentifierQuery::external_id(format!("w-{n}")),
                    persona_id: Some("persona-1".into()),
                    ..Default::default()
                })
                .unwrap();
                n += 1;
                acknowledged.store(n, Ordering::SeqCst);
            }
            n
        })
    };
    while acknowledged.load(Ordering::SeqCst) < 100 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let copy = db.dir.path().join("backup.db");
    let store = ContactStore::open(&db.path).unwrap();
    let before = acknowledged.load(Ordering::SeqCst);
    let started = Instant::now();
    let summary = store.backup_to(&copy).unwrap();
    let took = started.elapsed();
    let during = acknowledged.load(Ordering::SeqCst) - before;
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::SeqCst);
    let total = writer.join().unwrap();

    assert_eq!(summary.bytes, std::fs::metadata(&copy).unwrap().len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let report = ContactStore::check_file(&copy).unwrap();
    assert!(report.healthy, "{report:?}");
    // The copy is one snapshot: the writer's contacts in it are exactly w-0 … w-(k-1)
    // for some k, each with its memory; k covers every write acknowledged before the
    // backup started.
    let copied = ContactStore::open(&copy).unwrap();
    let org = copied.org("acme").unwrap();
    let present = |n: u64| {
        org.find(&IdentifierQuery::external_id(format!("w-{n}")))
            .unwrap()
            .map(|c| c.memories.len())
    };
    let mut k = 0;
    while let Some(memories) = present(k) {
        assert_eq!(memories, 1, "w-{k} without its memory");
        k += 1;
    }
    assert!(
        k >= before,
        "the copy holds {k} of {before} acknowledged writes"
    );
    for n in k..total {
        assert_eq!(present(n), None, "w-{n} after a gap: not one snapshot");
    }
    assert_eq!(
        copied
            .all_orgs()
            .export(&mut std::io::sink())
            .unwrap()
            .exported,
        3_000 + k
    );
    println!(
        "operate: backup of {} bytes in {:.0} ms under a writer: {before} writes acknowledged \
         before it, {during} during it, the copy holds the first {k} of {total}; check healthy",
        summary.bytes,
        took.as_secs_f64() * 1000.0
    );
    assert!(during > 0, "the writer was held up for the whole backup");
    // The copy opens as a store like any other: WAL, writable.
    drop(copied);
    let copied = ContactStore::open(&copy).unwrap();
    copied
        .org("acme")
        .unwrap()
        .resolve(&ResolveRequest::external_id("after"))
        .unwrap();
    let conn = Connection::open(&copy).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_backup_never_overwrites_a_file() {
    let db = populated();
    let store = ContactStore::open(&db.path).unwrap();
    for existing in [b"precious".as_slice(), b""] {
        let dest = db.dir.path().join("taken.db");
        std::fs::write(&dest, existing).unwrap();
        let err = store.backup_to(&dest).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest);
        assert_eq!(
            err.to_string(),
            "Invalid destination: already exists (a backup never overwrites a file)"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), existing);
        std::fs::remove_file(&dest).unwrap();
    }
    // A directory that does not exist: an I/O error, and nothing is left behind.
    let nowhere = db.dir.path().join("missing").join("copy.db");
    let err = store.backup_to(&nowhere).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InternalError, "{err:?}");
    assert!(!nowhere.exists());
}

#[test]
fn a_backup_copies_every_row_and_nothing_erased() {
    let db = populated();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("org-b").unwrap();
    let gone = org
        .resolve(&ResolveRequest::external_id("erase-me-zq7"))
        .unwrap()
        .contact
        .id;
    org.erase(&gone).unwrap();
    let copy = db.dir.path().join("copy.db");
    store.backup_to(&copy).unwrap();
    drop(store);
    assert_eq!(dump(&copy), dump(&db.path));
    let bytes = std::fs::read(&copy).unwrap();
    assert!(!bytes.windows(12).any(|w| w == b"erase-me-zq7"));
    // An in-memory store backs up too.
    let memory = common::store();
    memory
        .org("acme")
        .unwrap()
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap();
    let copy = db.dir.path().join("from-memory.db");
    memory.backup_to(&copy).unwrap();
    let reopened = ContactStore::open(&copy).unwrap();
    assert!(reopened
        .org("acme")
        .unwrap()
        .find(&IdentifierQuery::phone("+14155550192"))
        .unwrap()
        .is_some());
}

// Check -----------------------------------------------------------------------------------

#[test]
fn a_sound_store_is_healthy_and_checking_it_writes_nothing() {
    let db = populated();
    let bytes = std::fs::read(&db.path).unwrap();
    let watch = WriteWatch::new(&db.path);
    let report = ContactStore::check_file(&db.path).unwrap();
    assert!(report.healthy, "{report:?}");
    assert_eq!(report.schema_version, SCHEMA_VERSION);
    let names: Vec<&str> = report.checks.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(
        names,
        [
            "header",
            "integrity_check",
            "foreign_key_check",
            "identifiers_have_contacts",
            "memories_have_contacts",
            "entities_have_memories",
            "activities_have_contacts",
            "merged_ids_have_no_contact",
            "redirects_reach_a_contact",
            "merges_have_redirects",
            "undone_merges_keep_no_snapshot",
            "redirects_have_merges",
            "one_primary_per_type",
        ]
    );
    assert!(report.warnings.is_empty(), "{report:?}");
    assert!(!watch.changed());
    assert_eq!(std::fs::read(&db.path).unwrap(), bytes);
    // On an open store, the same report.
    let store = ContactStore::open(&db.path).unwrap();
    assert_eq!(store.check().unwrap(), report);
}

/// Writes to a copy with SQLite directly, without the foreign keys that would refuse
/// the damage.
fn damage(path: &std::path::Path, sql: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn a_dangling_identifier_is_named() {
    let db = populated();
    damage(
        &db.path,
        "INSERT INTO identifier (org_id, identifier_type, identifier_value, contact_id, id, \
         is_primary) VALUES ('org-a', 3, 'ghost', '0198c6a0-dead-7000-8000-000000000000', \
         'ident-ghost', 1)",
    );
    let report = ContactStore::check_file(&db.path).unwrap();
    assert!(!report.healthy);
    assert_eq!(
        failed(&report),
        ["foreign_key_check", "identifiers_have_contacts"]
    );
    let c = outcome(&report, "identifiers_have_contacts");
    assert_eq!(
        (c.problems, c.details.as_slice()),
        (1, ["org org-a: ident-ghost".to_owned()].as_slice())
    );
    assert_eq!(
        outcome(&report, "foreign_key_check").details,
        ["a row of identifier names a missing contact"]
    );
}

#[test]
fn a_broken_redirect_is_named() {
    // A redirect to a contact that is gone, and one without its journal row.
    let db = populated();
    damage(
        &db.path,
        "UPDATE merge_redirect SET surviving_id = '0198c6a0-dead-7000-8000-000000000000' \
         WHERE merged_id = (SELECT merged_id FROM merge_redirect LIMIT 1)",
    );
    let report = ContactStore::check_file(&db.path).unwrap();
    assert_eq!(
        failed(&report),
        ["foreign_key_check", "redirects_reach_a_contact"]
    );
    assert_eq!(outcome(&report, "redirects_reach_a_contact").problems, 1);

    let db = populated();
    damage(
        &db.path,
        "DELETE FROM merge_journal WHERE seq = (SELECT min(seq) FROM merge_journal)",
    );
    let report = ContactStore::check_file(&db.path).unwrap();
    assert_eq!(failed(&report), ["redirects_have_merges"]);
    let c = outcome(&report, "redirects_have_merges");
    assert!(c.details[0].starts_with("org org-a: "), "{c:?}");
}

/// Flips bytes of the file as a failing disk would; the WAL is folded in first, so the
/// damage is in the pages SQLite reads.
fn flip(path: &std::path::Path, at: impl FnOnce(&[u8], &Connection) -> usize) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let offset = at(&bytes, &conn);
    drop(conn);
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_page_byte_is_named() {
    // A bit of a stored identifier: its row no longer matches the index entries of
    // the same row.
    let db = populated();
    flip(&db.path, |bytes, _| {
        bytes
            .windows(7)
            .position(|w| w == b"crm-150")
            .expect("the value is in the file")
            + 4
    });
    let report = ContactStore::check_file(&db.path).unwrap();
    assert!(!report.healthy);
    let c = outcome(&report, "integrity_check");
    assert!(!c.ok && c.problems > 0, "{report:?}");
    println!("operate: flipped record byte: {:?}", c.details);

    // A bit of a page header: the index's root page is no longer an index page.
    let db = populated();
    flip(&db.path, |_, conn| {
        let (root, page_size): (i64, i64) = conn
            .query_row(
                "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_schema \
                 WHERE name = 'identifier_by_contact'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        usize::try_from((root - 1) * page_size).unwrap()
    });
    let report = ContactStore::check_file(&db.path).unwrap();
    assert!(!report.healthy);
    let c = outcome(&report, "integrity_check");
    assert!(!c.ok, "{report:?}");
    println!("operate: flipped page-type byte: {:?}", c.details);
}

#[test]
fn an_older_schema_is_checked_without_being_upgraded() {
    let db = TempDb::new();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v1.db"),
        &db.path,
    )
    .unwrap();
    let bytes = std::fs::read(&db.path).unwrap();
    let report = ContactStore::check_file(&db.path).unwrap();
    assert!(report.healthy, "{report:?}");
    assert_eq!(report.schema_version, 1);
    assert_eq!(
        report.checks.len(),
        3,
        "the invariants are of the current schema"
    );
    assert_eq!(report.warnings[0].warning, "older_schema");
    assert_eq!(std::fs::read(&db.path).unwrap(), bytes, "no migration ran");
}

#[test]
fn a_newer_schema_or_a_missing_file_is_refused() {
    let db = populated();
    Connection::open(&db.path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let bytes = std::fs::read(&db.path).unwrap();
    let err = ContactStore::check_file(&db.path).unwrap_err();
    assert!(
        matches!(err, contactstore::Error::IncompatibleVersion { found, .. } if found == SCHEMA_VERSION + 1),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&db.path).unwrap(), bytes);
    let missing = db.dir.path().join("missing.db");
    assert!(ContactStore::check_file(&missing).is_err());
    assert!(!missing.exists(), "checking created the file");
}

#[test]
fn migration_findings_are_warnings() {
    let db = populated();
    let conn = Connection::open(&db.path).unwrap();
    let contact: String = conn
        .query_row(
            "SELECT id FROM contact WHERE org_id = 'org-a' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "INSERT INTO migration_finding VALUES ('org-a', ?1, 'ident-x', 'phone_number', 3, \
         'invalid', NULL)",
        [&contact],
    )
    .unwrap();
    drop(conn);
    let report = ContactStore::check_file(&db.path).unwrap();
    assert!(report.healthy, "{report:?}");
    assert_eq!(report.warnings.len(), 1);
    let warning = &report.warnings[0];
    assert_eq!(warning.warning, "migration_finding");
    let finding = warning.finding.as_ref().unwrap();
    assert_eq!(
        (finding.record_id.as_str(), finding.finding.as_str()),
        ("ident-x", "invalid")
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["warnings"][0]["finding"]["contact_id"], json!(contact));
}
