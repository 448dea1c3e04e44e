//! Faults (issue 5, deliverable 3): a full disk and a read-only file during resolve,
//! memory writes, merge, calls and import. Each write fails with a typed
//! INTERNAL_ERROR, nothing panics, and the file is exactly as before.

mod common;
mod reliability;

use std::path::Path;
use std::process::Command;

use common::{dump, tagged, TempDb, WriteWatch};
use contactstore::{
    Channel, ContactStore, Direction, EntityUpdate, Error, ErrorCode, IdentifierQuery,
    ImportOptions, MemoryScope, Message, NewCall, NewSmsConversation, Org, ResolveRequest, Role,
    Settings, Timestamp,
};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

/// Text big enough to need pages of its own (the limits allow 64 KiB).
fn big(tag: &str) -> String {
    format!("{tag}:").repeat(60_000 / (tag.len() + 1))
}

/// A metadata object of about `bytes` bytes with keys no other object has.
fn big_object(prefix: &str, bytes: usize) -> Map<String, Value> {
    (0..bytes / 1_000)
        .map(|i| (format!("{prefix}-{i}"), Value::String("x".repeat(990))))
        .collect()
}

/// Two contacts with ~30 KiB of metadata each, memories, a call; the ids of A and B.
fn seed(org: &Org<'_>) -> (String, String) {
    let mut ids = Vec::new();
    for (name, phone) in [("a", "+14155550101"), ("b", "+14155550102")] {
        let id = org
            .resolve(&ResolveRequest {
                identifiers: IdentifierQuery {
                    phone_number: Some(phone.into()),
                    ..Default::default()
                },
                name: Some(format!("Contact {name}")),
                persona_id: Some("persona-1".into()),
                metadata: Some(Value::Object(big_object(name, 30_000))),
                ..Default::default()
            })
            .unwrap()
            .contact
            .id;
        org.set_summary(&id, &MemoryScope::persona("persona-1"), "short")
            .unwrap();
        ids.push(id);
    }
    (ids.remove(0), ids.remove(0))
}

/// Every kind of write, each needing new pages. Returns each one's name and outcome.
fn attempt_every_write(org: &Org<'_>, a: &str, b: &str) -> Vec<(&'static str, Result<(), Error>)> {
    let scope = MemoryScope::persona("persona-1");
    let import_lines: String = (0..3)
        .map(|i| {
            json!({
                "name": format!("Imported {i}"),
                "metadata": big_object(&format!("import-{i}"), 40_000),
                "identifiers": [{"identifier_type": "email", "identifier_value": format!("import{i}@example.com")}],
            })
            .to_string()
                + "\n"
        })
        .collect();
    vec![
        (
            "resolve (new contact)",
            org.resolve(&ResolveRequest {
                identifiers: IdentifierQuery {
                    phone_number: Some("+14155550199".into()),
                    ..Default::default()
                },
                metadata: Some(Value::Object(big_object("new", 60_000))),
                ..Default::default()
            })
            .map(drop),
        ),
        (
            "resolve (known contact, new identifier and metadata)",
            org.resolve(&ResolveRequest {
                identifiers: IdentifierQuery {
                    phone_number: Some("+14155550101".into()),
                    email: Some("a@example.com".into()),
                    ..Default::default()
                },
                metadata: Some(Value::Object(big_object("more", 60_000))),
                ..Default::default()
            })
            .map(drop),
        ),
        (
            "memory: set summary",
            org.set_summary(a, &scope, &big("summary")).map(drop),
        ),
        (
            "memory: add message",
            org.add_messages(
                a,
                &scope,
                &[Message {
                    role: Role::User,
                    content: big("message"),
                    channel: Channel::Voice,
                    timestamp: Timestamp::now(),
                }],
            )
            .map(drop),
        ),
        (
            "memory: upsert entity",
            org.upsert_entity(
                a,
                &scope,
                &EntityUpdate {
                    entity_type: "order".into(),
                    entity_id: "order-1".into(),
                    notes: Some(big("notes")),
                    ..Default::default()
                },
            )
            .map(drop),
        ),
        (
            "memory: a new scope",
            org.set_summary(a, &MemoryScope::persona("persona-2"), &big("s2"))
                .map(drop),
        ),
        ("merge", org.merge(a, b).map(drop)),
        (
            "call",
            org.record_call(
                a,
                &NewCall {
                    direction: Direction::Inbound,
                    agent_number: None,
                    contact_number: None,
                    started_at: None,
                    duration_seconds: Some(1),
                    status: None,
                    summary: Some(big("call")),
                    metadata: Map::new(),
                },
            )
            .map(drop),
        ),
        (
            "sms",
            org.record_sms(
                b,
                &NewSmsConversation {
                    direction: Direction::Outbound,
                    agent_number: None,
                    contact_number: None,
                    started_at: None,
                    message_count: 1,
                    status: None,
                    summary: Some(big("sms")),
                    metadata: Map::new(),
                },
            )
            .map(drop),
        ),
        (
            "import",
            org.import(
                &mut import_lines.as_bytes(),
                &ImportOptions::default(),
                &mut |_| {},
            )
            .map(drop)
            .map_err(Error::from),
        ),
    ]
}

/// Asserts every outcome is an INTERNAL_ERROR storage failure with SQLite's `code`,
/// whose message names no value.
fn assert_typed_storage_errors(outcomes: &[(&str, Result<(), Error>)], code: rusqlite::ErrorCode) {
    for (op, outcome) in outcomes {
        match outcome {
            Err(e @ Error::Storage(s)) => {
                assert_eq!(e.code(), ErrorCode::InternalError, "{op}");
                assert_eq!(s.sqlite_code(), Some(code), "{op}: {e}");
                let message = e.to_string();
                assert!(message.starts_with("storage failure: "), "{op}: {message}");
                assert!(!message.contains("+1415"), "{op}: {message}");
            }
            other => panic!("{op}: expected a storage failure, got {other:?}"),
        }
    }
}

/// Seeds a file and compacts it, so that it has no free pages left.
fn seeded_file() -> (TempDb, String, String) {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let (a, b) = seed(&store.org("acme").unwrap());
    drop(store);
    let conn = Connection::open(&db.path).unwrap();
    conn.execute_batch("VACUUM").unwrap();
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0);
    (db, a, b)
}

#[test]
fn a_full_disk_fails_every_write_with_a_typed_error_and_changes_nothing() {
    let (db, a, b) = seeded_file();
    let before = dump(&db.path);
    // A limit below the file's size keeps it at its size: no page can be added.
    let full = Settings::default().size_limit(0);
    let store = ContactStore::open_with(&db.path, full).unwrap();
    let org = store.org("acme").unwrap();
    let watch = WriteWatch::new(&db.path);

    let outcomes = attempt_every_write(&org, &a, &b);
    assert_typed_storage_errors(&outcomes, rusqlite::ErrorCode::DiskFull);
    assert!(!watch.changed(), "a failed write committed something");
    assert_eq!(dump(&db.path), before);
    println!(
        "faults: full disk: {} writes (resolve, memory, merge, calls, SMS, import), {} typed \
         INTERNAL_ERROR (disk is full), 0 panics, 0 partial changes",
        outcomes.len(),
        outcomes.len()
    );
    // The store still reads, and still writes what fits.
    assert_eq!(
        org.get(&a).unwrap().contact.name.as_deref(),
        Some("Contact a")
    );
    assert!(org.erase(&b).is_ok(), "deleting needs no new pages");
    drop(store);

    // Room again: the same writes succeed, so they failed for the disk alone.
    let (db, a, b) = seeded_file();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    for (op, outcome) in attempt_every_write(&org, &a, &b) {
        assert!(outcome.is_ok(), "{op}: {outcome:?}");
    }
    drop(store);
    assert_eq!(reliability::check_problems(&db.path), Vec::<String>::new());
}

#[test]
fn a_file_that_fills_up_midway_through_an_import_keeps_none_of_it() {
    let (db, _, _) = seeded_file();
    let before = dump(&db.path);
    // Room for a few small lines, not for the big one at the end.
    let size = std::fs::metadata(&db.path).unwrap().len();
    let store = ContactStore::open_with(&db.path, Settings::default().size_limit(size + 16 * 4096))
        .unwrap();
    let org = store.org("acme").unwrap();
    let mut lines: String = (0..20)
        .map(|i| {
            json!({"identifiers": [{"identifier_type": "external_id", "identifier_value": format!("small-{i}")}]})
                .to_string()
                + "\n"
        })
        .collect();
    lines.push_str(
        &json!({
            "metadata": big_object("huge", 60_000),
            "memories": [{"persona_id": "p", "summary": big("summary")}],
            "identifiers": [{"identifier_type": "external_id", "identifier_value": "huge"}],
        })
        .to_string(),
    );
    let err = org
        .import(
            &mut lines.as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InternalError, "{err:?}");
    // Nothing was committed, and the summary says so.
    assert_eq!(
        err.summary,
        contactstore::ImportSummary::default(),
        "{err:?}"
    );
    assert_eq!(err.last_committed_line(), 0);
    assert_eq!(dump(&db.path), before);
}

/// Child entry of the read-only test: opens the read-only file and tries every write,
/// printing each outcome. Run only by the test below, in a child process.
#[test]
#[ignore = "child process entry"]
fn child_write_to_a_read_only_file() {
    let path = std::env::var("CHILD_DB").expect("CHILD_DB");
    let a = std::env::var("CHILD_A").expect("CHILD_A");
    let b = std::env::var("CHILD_B").expect("CHILD_B");
    assert!(
        std::fs::OpenOptions::new().write(true).open(&path).is_err(),
        "the file must not be writable here"
    );
    let store = match ContactStore::open(&path) {
        Ok(store) => store,
        Err(e) => {
            println!("OUTCOME open {} {e}", e.code());
            return;
        }
    };
    let org = store.org("acme").unwrap();
    println!(
        "OUTCOME read {}",
        org.get(&a)
            .map_or_else(|e| e.code().to_string(), |_| "ok".into())
    );
    for (op, outcome) in attempt_every_write(&org, &a, &b) {
        match outcome {
            Ok(()) => println!("OUTCOME {op}: ok"),
            Err(e) => {
                let sqlite = match &e {
                    Error::Storage(s) => format!("{:?}", s.sqlite_code()),
                    _ => "-".into(),
                };
                println!("OUTCOME {op}: {} {sqlite} {e}", e.code());
            }
        }
    }
}

/// Runs the child entry against `db`, as a user that cannot write the file: this user
/// if the file's permissions stop it, else (root) in a user namespace without
/// privileges over the file (`unshare --user`).
fn run_unprivileged(db: &Path, a: &str, b: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let privileged = std::fs::OpenOptions::new().write(true).open(db).is_ok();
    let mut cmd = if privileged {
        let mut cmd = Command::new("unshare");
        cmd.arg("--user").arg(&exe);
        cmd
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .args([
            "--exact",
            "child_write_to_a_read_only_file",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CHILD_DB", db)
        .env("CHILD_A", a)
        .env("CHILD_B", b)
        .output()
        .expect("run the child (root needs `unshare` from util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[cfg(unix)]
#[test]
fn a_read_only_file_fails_every_write_with_a_typed_error_and_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let (db, a, b) = seeded_file();
    let before = dump(&db.path);
    let bytes = std::fs::read(&db.path).unwrap();
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o444)).unwrap();

    let stdout = run_unprivileged(&db.path, &a, &b);
    let outcomes = tagged(&stdout, "OUTCOME ");
    assert_eq!(outcomes.len(), 11, "{stdout}");
    assert_eq!(outcomes[0], "read ok", "reads still work");
    for outcome in &outcomes[1..] {
        assert!(
            outcome
                .contains(": INTERNAL_ERROR Some(ReadOnly) storage failure: database is read-only"),
            "{outcome}"
        );
    }
    println!(
        "faults: read-only file: {} writes, {} typed INTERNAL_ERROR (database is read-only), \
         reads still served, 0 panics, 0 changes",
        outcomes.len() - 1,
        outcomes.len() - 1
    );
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        std::fs::read(&db.path).unwrap(),
        bytes,
        "the file is byte-identical"
    );
    assert_eq!(dump(&db.path), before);
}
