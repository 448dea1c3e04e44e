//! Erasure (issue 5, deliverable 6): `erase` deletes a contact and everything naming
//! it, and leaves no copy of it in the database, `-wal` or `-shm` files.

mod common;
mod reliability;

use std::time::Duration;

use common::{dump, TempDb, WriteWatch};
use contactstore::{
    Channel, ContactStore, Direction, EntityUpdate, Erased, IdentifierQuery, MemoryScope, Message,
    NewCall, NewSmsConversation, OpenItem, Org, Priority, ResolveRequest, Role, Settings,
    Timestamp,
};
use reliability::files_containing;
use rusqlite::Connection;
use serde_json::json;

/// A string found nowhere else: every field of the planted contact carries it.
fn plant_tag() -> String {
    format!("plant{}", uuid::Uuid::new_v4().simple())
}

const PLANTED_PHONE: &str = "+14155550142";

/// A contact carrying `tag` in every field that takes text, with a memory, an entity,
/// an open item, messages, a call and an SMS conversation. Returns its id.
fn plant(org: &Org<'_>, tag: &str) -> String {
    let id = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some(PLANTED_PHONE.into()),
                email: Some(format!("{tag}@example.com")),
                external_id: Some(format!("crm-{tag}")),
            },
            name: Some(format!("Name {tag}")),
            persona_id: Some("persona-1".into()),
            metadata: Some(json!({"note": tag, tag: "key"})),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id;
    let scope = MemoryScope::persona("persona-1");
    // Replaced once, so an old version of the row was freed inside the file.
    org.set_summary(&id, &scope, &format!("first summary {tag}"))
        .unwrap();
    org.set_summary(&id, &scope, &format!("Summary {tag}"))
        .unwrap();
    org.add_messages(
        &id,
        &scope,
        &[Message {
            role: Role::User,
            content: format!("Message {tag}"),
            channel: Channel::Sms,
            timestamp: Timestamp::parse("2025-07-23T09:10:00Z").unwrap(),
        }],
    )
    .unwrap();
    org.add_open_item(
        &id,
        &scope,
        &OpenItem {
            item_type: "follow_up".into(),
            description: format!("Item {tag}"),
            created_at: Timestamp::parse("2025-07-23T09:11:00Z").unwrap(),
            priority: Priority::High,
            related_to: None,
        },
    )
    .unwrap();
    org.upsert_entity(
        &id,
        &scope,
        &EntityUpdate {
            entity_type: "order".into(),
            entity_id: format!("order-{tag}"),
            facts: json!({"carrier": tag}).as_object().unwrap().clone(),
            status: Some("in_transit".into()),
            notes: Some(format!("Notes {tag}")),
            ..Default::default()
        },
    )
    .unwrap();
    org.record_call(
        &id,
        &NewCall {
            direction: Direction::Inbound,
            agent_number: Some("+14155550100".into()),
            contact_number: Some(PLANTED_PHONE.into()),
            started_at: None,
            duration_seconds: Some(42),
            status: Some("completed".into()),
            summary: Some(format!("Call {tag}")),
            metadata: json!({"call": tag}).as_object().unwrap().clone(),
        },
    )
    .unwrap();
    org.record_sms(
        &id,
        &NewSmsConversation {
            direction: Direction::Outbound,
            agent_number: Some("+14155550100".into()),
            contact_number: Some(PLANTED_PHONE.into()),
            started_at: None,
            message_count: 3,
            status: Some("open".into()),
            summary: Some(format!("Sms {tag}")),
            metadata: json!({"sms": tag}).as_object().unwrap().clone(),
        },
    )
    .unwrap();
    id
}

/// Another contact, to show erasure touches nothing else.
fn bystander(org: &Org<'_>) -> String {
    org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("+14155550199".into()),
            ..Default::default()
        },
        name: Some("Bystander".into()),
        persona_id: Some("persona-1".into()),
        ..Default::default()
    })
    .unwrap()
    .contact
    .id
}

fn rows_naming(db: &std::path::Path, ids: &[&str]) -> Vec<String> {
    dump(db)
        .into_iter()
        .filter(|row| ids.iter().any(|id| row.contains(id)))
        .collect()
}

#[test]
fn an_erased_contact_is_found_nowhere_in_the_database_wal_or_shm_files() {
    let db = TempDb::sqlite();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let other = bystander(&org);
    let tag = plant_tag();
    let id = plant(&org, &tag);
    // A second contact of the same person, merged in: its id, redirect and journal
    // row name the planted contact too.
    let merged_tag = plant_tag();
    let merged = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                email: Some(format!("{merged_tag}@example.com")),
                ..Default::default()
            },
            name: Some(format!("Alias {merged_tag}")),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id;
    org.merge(&id, &merged).unwrap();

    // The change log and the merge's snapshot hold the person's data too.
    let logged = |table: &str, needle: &str| {
        dump(&db.path)
            .into_iter()
            .filter(|row| row.starts_with(table) && row.contains(needle))
            .count()
    };
    assert!(
        logged("change_event", &tag) > 3,
        "the log holds the planted contact's writes"
    );
    assert!(logged("change_event", PLANTED_PHONE) > 0);
    assert!(
        logged("merge_journal", &merged_tag) == 1,
        "the merge snapshot holds the alias"
    );
    // Positive control: the scan finds every needle before the erasure.
    let personal = [tag.as_str(), merged_tag.as_str(), PLANTED_PHONE];
    let needles = [
        tag.as_str(),
        merged_tag.as_str(),
        PLANTED_PHONE,
        id.as_str(),
        merged.as_str(),
    ];
    let mut found_before = 0;
    for needle in needles {
        let files = files_containing(&db.path, needle.as_bytes());
        assert!(
            !files.is_empty(),
            "the scan must find {needle} before the erasure"
        );
        found_before += files.len();
    }

    let erased = org.erase(&id).unwrap();
    assert_eq!(
        erased,
        Erased {
            contact_id: id.clone(),
            merged_ids: vec![merged.clone()],
            identifiers: 4,
            memories: 1,
            entities: 1,
            calls: 1,
            sms_conversations: 1,
            redirects: 1,
            journal_rows: 1,
            changes: erased.changes,
            wal_truncated: true,
        }
    );
    assert!(erased.changes >= 7, "{erased:?}");
    // Nowhere while the store is open (the WAL is truncated to nothing)…
    for needle in personal {
        assert_eq!(
            files_containing(&db.path, needle.as_bytes()),
            Vec::<String>::new(),
            "{needle} survived the erasure"
        );
    }
    assert_eq!(reliability::wal_size(&db.path), 0, "the WAL is truncated");
    // …but for the ids in the one tombstone a consumer of the log deletes by.
    let left = rows_naming(&db.path, &[&id, &merged]);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("change_event") && left[0].contains("contact.erased"));
    let page = org.changes(0, None).unwrap();
    let tombstone = page.changes.last().unwrap();
    assert_eq!(tombstone.kind, contactstore::ChangeKind::ContactErased);
    assert_eq!(tombstone.contact_id, id);
    assert_eq!(tombstone.detail["merged_ids"], json!([merged]));
    assert!(page
        .changes
        .iter()
        .all(|c| c.contact_id != merged && c.related_id.is_none()));
    println!(
        "erase: {} planted strings (text, phone, ids) found {found_before} times in the \
         database and WAL before erasure (change log and merge snapshot included); after, \
         the personal ones 0 times in the database, -wal and -shm, the ids only in the \
         contact.erased tombstone",
        needles.len()
    );
    // …the bystander is intact, the file is sound…
    assert_eq!(
        org.get(&other).unwrap().contact.name.as_deref(),
        Some("Bystander")
    );
    assert_eq!(reliability::check_problems(&db.path), Vec::<String>::new());
    // …and nowhere after it is closed.
    drop(store);
    for needle in personal {
        assert!(files_containing(&db.path, needle.as_bytes()).is_empty());
    }
}

#[test]
fn an_erased_contact_is_not_found_by_id_merged_id_or_identifier() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let tag = plant_tag();
    let id = plant(&org, &tag);
    let dup = org
        .resolve(&ResolveRequest::email("alias@example.com"))
        .unwrap()
        .contact
        .id;
    org.merge(&id, &dup).unwrap();
    org.erase(&id).unwrap();
    for gone in [&id, &dup] {
        assert_eq!(org.get(gone).unwrap_err().code().as_str(), "NOT_FOUND");
        assert_eq!(org.erase(gone).unwrap_err().code().as_str(), "NOT_FOUND");
        assert_eq!(org.calls(gone).unwrap_err().code().as_str(), "NOT_FOUND");
    }
    for query in [
        IdentifierQuery::phone(PLANTED_PHONE),
        IdentifierQuery::email("alias@example.com"),
        IdentifierQuery::external_id(format!("crm-{tag}")),
    ] {
        assert_eq!(org.find(&query).unwrap(), None);
    }
    // The identity is free again: resolving it creates a new contact.
    let again = org.resolve(&ResolveRequest::phone(PLANTED_PHONE)).unwrap();
    assert!(again.created);
    assert_ne!(again.contact.id, id);
}

#[test]
fn erasing_a_merged_away_id_erases_the_contact_it_reaches() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let a = org
        .resolve(&ResolveRequest::phone("+14155550101"))
        .unwrap()
        .contact
        .id;
    let b = org
        .resolve(&ResolveRequest::phone("+14155550102"))
        .unwrap()
        .contact
        .id;
    let c = org
        .resolve(&ResolveRequest::phone("+14155550103"))
        .unwrap()
        .contact
        .id;
    org.merge(&b, &a).unwrap(); // a → b
    org.merge(&c, &b).unwrap(); // b → c, and a → c (redirects are kept flat)
    let erased = org.erase(&a).unwrap();
    assert_eq!(erased.contact_id, c);
    let mut merged_ids = vec![a.clone(), b.clone()];
    merged_ids.sort();
    assert_eq!(erased.merged_ids, merged_ids);
    assert_eq!(
        (erased.identifiers, erased.redirects, erased.journal_rows),
        (3, 2, 2)
    );
    for id in [&a, &b, &c] {
        assert_eq!(org.get(id).unwrap_err().code().as_str(), "NOT_FOUND");
    }
}

#[test]
fn erasing_an_unknown_or_another_orgs_contact_is_not_found_and_writes_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let theirs = store
        .org("globex")
        .unwrap()
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id;
    let acme = store.org("acme").unwrap();
    acme.resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap();
    let before = dump(&db.path);
    let watch = WriteWatch::new(&db.path);
    for id in [
        theirs.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "",
        "\0",
    ] {
        let err = acme.erase(id).unwrap_err();
        assert_eq!(err.code().as_str(), "NOT_FOUND", "{id:?}");
        assert_eq!(err.to_string(), "Contact not found");
    }
    assert!(!watch.changed());
    assert_eq!(dump(&db.path), before);
    assert!(store.org("globex").unwrap().get(&theirs).is_ok());
}

#[test]
fn a_reader_holding_an_old_snapshot_keeps_the_wal_but_not_the_erasure_back() {
    let db = TempDb::sqlite();
    let settings = Settings::default().busy_timeout(Duration::from_millis(200));
    let store = ContactStore::open_with(&db.path, settings).unwrap();
    let org = store.org("acme").unwrap();
    let id = plant(&org, &plant_tag());
    // Another connection reads inside a transaction started before the erasure.
    let reader = Connection::open(&db.path).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT count(*) FROM contact", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let erased = org.erase(&id).unwrap();
    assert!(!erased.wal_truncated, "the reader's snapshot pins the WAL");
    assert_eq!(org.get(&id).unwrap_err().code().as_str(), "NOT_FOUND");
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // The next erasure truncates it.
    let next = org
        .resolve(&ResolveRequest::phone("+14155550123"))
        .unwrap()
        .contact
        .id;
    assert!(org.erase(&next).unwrap().wal_truncated);
    assert_eq!(reliability::wal_size(&db.path), 0);
}

#[cfg(feature = "cli")]
#[test]
fn the_erase_command_and_its_delete_alias_print_envelopes() {
    use std::process::Command;
    let db = TempDb::new();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
            .arg("--db")
            .arg(&db.path)
            .args(args)
            .env_remove("CONTACTSTORE_DB")
            .env_remove("CONTACTSTORE_ORG")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v)
    };
    let (_, created) = run(&["resolve", "--phone", "+14155550192"]);
    let id = created["data"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, other) = run(&["resolve", "--phone", "+14155550193"]);
    let other = other["data"]["contact"]["id"].as_str().unwrap().to_owned();

    let (code, v) = run(&["erase", &id]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["errors"], serde_json::Value::Null);
    assert_eq!(v["data"]["contact_id"], id.as_str());
    assert_eq!(v["data"]["identifiers"], 1);
    assert_eq!(v["data"]["wal_truncated"], true);

    let (code, v) = run(&["erase", &id]);
    assert_eq!(code, 3);
    assert_eq!(v["errors"][0]["error"], "NOT_FOUND");
    assert_eq!(v["errors"][0]["message"], "Contact not found");

    let (code, v) = run(&["delete", &other]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["contact_id"], other.as_str());
    let (code, _) = run(&["get", &other]);
    assert_eq!(code, 3);
}
