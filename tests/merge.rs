//! Merge: every rule of contract §3, the refusals, redirects and atomicity.

mod common;

use std::time::Duration;

use common::{dump, TempDb};
use contactstore::{
    Channel, ContactStore, Direction, EntityRef, EntityUpdate, Error, ErrorCode, IdentifierQuery,
    IdentifierType, ImportOptions, MemoryScope, Message, NewCall, NewSmsConversation, OnConflict,
    OpenItem, Priority, ResolveRequest, Role, Settings, Timestamp,
};
use serde_json::{json, Value};

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn msg(at: &str, content: &str) -> Message {
    Message {
        role: Role::User,
        content: content.into(),
        channel: Channel::Voice,
        timestamp: ts(at),
    }
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn export(store: &ContactStore) -> Vec<u8> {
    let mut out = Vec::new();
    store.all_orgs().export(&mut out).unwrap();
    out
}

/// Two contacts of org "acme" with overlapping data; returns (primary, duplicate).
fn two_contacts(store: &ContactStore) -> (String, String) {
    let org = store.org("acme").unwrap();
    let primary = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550192".into()),
                ..Default::default()
            },
            metadata: Some(json!({"source": "inbound_call", "tier": "gold"})),
            persona_id: Some("persona-1".into()),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id;
    std::thread::sleep(Duration::from_millis(2));
    let duplicate = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550100".into()),
                email: Some("sarah@example.com".into()),
                external_id: Some("crm-8812".into()),
            },
            name: Some("Sarah Chen".into()),
            metadata: Some(json!({"source": "web_signup", "email_verified": true})),
            persona_id: Some("persona-1".into()),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id;
    (primary, duplicate)
}

#[test]
fn merge_applies_every_rule() {
    let store = common::store_with(Settings::default().recent_messages_cap(4));
    let org = store.org("acme").unwrap();
    let (p, d) = two_contacts(&store);
    let persona = MemoryScope::persona("persona-1");
    let agent = MemoryScope::agent("+14155550111");

    org.set_summary(&p, &persona, "Asked about order #8821.")
        .unwrap();
    org.set_summary(&d, &persona, "Signed up on the web.")
        .unwrap();
    org.patch_facts(&p, &persona, &object(json!({"name": "Sarah", "tz": "PT"})))
        .unwrap();
    org.patch_facts(
        &d,
        &persona,
        &object(json!({"name": "S. Chen", "lang": "en"})),
    )
    .unwrap();
    org.add_messages(
        &p,
        &persona,
        &[
            msg("2025-07-20T10:00:00Z", "p1"),
            msg("2025-07-22T10:00:00Z", "p2"),
        ],
    )
    .unwrap();
    org.add_messages(
        &d,
        &persona,
        &[
            msg("2025-07-21T10:00:00Z", "d1"),
            msg("2025-07-22T10:00:00Z", "p2"), // an exact duplicate
            msg("2025-07-23T10:00:00Z", "d2"),
            msg("2025-07-19T10:00:00Z", "d0"),
        ],
    )
    .unwrap();
    let item = |d: &str, at: &str| OpenItem {
        item_type: "follow_up".into(),
        description: d.into(),
        created_at: ts(at),
        priority: Priority::High,
        related_to: Some(EntityRef {
            entity_type: "order".into(),
            entity_id: "order-8821".into(),
        }),
    };
    org.add_open_item(
        &p,
        &persona,
        &item("Confirm delivery", "2025-07-22T00:00:00Z"),
    )
    .unwrap();
    org.add_open_item(
        &d,
        &persona,
        &item("Confirm delivery", "2025-07-22T00:00:00Z"),
    )
    .unwrap();
    org.add_open_item(&d, &persona, &item("Send coupon", "2025-07-21T00:00:00Z"))
        .unwrap();
    let entity = |status: &str, at: &str, facts: Value, notes: &str| EntityUpdate {
        entity_type: "order".into(),
        entity_id: "order-8821".into(),
        facts: object(facts),
        status: Some(status.into()),
        last_discussed_at: Some(ts(at)),
        notes: Some(notes.into()),
    };
    org.upsert_entity(
        &p,
        &persona,
        &entity(
            "processing",
            "2025-07-21T00:00:00Z",
            json!({"carrier": "UPS", "status": "processing"}),
            "fragile",
        ),
    )
    .unwrap();
    org.upsert_entity(
        &d,
        &persona,
        &entity(
            "in_transit",
            "2025-07-23T00:00:00Z",
            json!({"status": "in_transit", "eta": "Fri"}),
            "leave at door",
        ),
    )
    .unwrap();
    org.upsert_entity(
        &d,
        &persona,
        &EntityUpdate {
            entity_type: "booking".into(),
            entity_id: "b-1".into(),
            ..Default::default()
        },
    )
    .unwrap();
    org.set_summary(&d, &agent, "Only the duplicate has this scope.")
        .unwrap();
    for ticket in ["t-1", "t-2"] {
        org.upsert_entity(
            &d,
            &agent,
            &EntityUpdate {
                entity_type: "ticket".into(),
                entity_id: ticket.into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    org.record_call(
        &d,
        &NewCall {
            direction: Direction::Inbound,
            agent_number: None,
            contact_number: None,
            started_at: None,
            duration_seconds: Some(30),
            status: None,
            summary: None,
            metadata: Default::default(),
        },
    )
    .unwrap();
    org.record_sms(
        &d,
        &NewSmsConversation {
            direction: Direction::Outbound,
            agent_number: None,
            contact_number: None,
            started_at: None,
            message_count: 2,
            status: None,
            summary: None,
            metadata: Default::default(),
        },
    )
    .unwrap();
    let p_before = org.get(&p).unwrap();
    let d_before = org.get(&d).unwrap();
    std::thread::sleep(Duration::from_millis(2));

    let merged = org.merge(&p, &d).unwrap();

    // The result says what moved.
    assert_eq!(merged.contact.id, p);
    assert_eq!(merged.moved.identifiers, 3);
    assert_eq!(merged.moved.memories_moved, 1);
    assert_eq!(merged.moved.memories_combined, 1);
    // The booking the combined memory gained, and the two tickets of the memory that
    // moved whole.
    assert_eq!(merged.moved.entities, 3);
    assert_eq!(merged.moved.calls, 1);
    assert_eq!(merged.moved.sms_conversations, 1);

    let after = org.get(&p).unwrap();
    // identifiers: the union; the primary keeps its phone primary; the others become
    // primary of their (new) types.
    let idents: Vec<(IdentifierType, &str, bool)> = after
        .identifiers
        .iter()
        .map(|i| (i.identifier_type, i.identifier_value.as_str(), i.is_primary))
        .collect();
    assert_eq!(
        idents,
        vec![
            (IdentifierType::PhoneNumber, "+14155550192", true),
            (IdentifierType::PhoneNumber, "+14155550100", false),
            (IdentifierType::Email, "sarah@example.com", true),
            (IdentifierType::ExternalId, "crm-8812", true),
        ]
    );
    assert!(after.identifiers.iter().all(|i| i.contact_id == p));
    // metadata: union, primary wins.
    assert_eq!(
        Value::Object(after.contact.metadata.clone()),
        json!({"source": "inbound_call", "tier": "gold", "email_verified": true})
    );
    // name: the primary's was empty, so the duplicate's.
    assert_eq!(after.contact.name.as_deref(), Some("Sarah Chen"));
    // created_at: the earlier; updated_at: now.
    assert_eq!(
        after.contact.created_at,
        p_before.contact.created_at.min(d_before.contact.created_at)
    );
    assert!(after.contact.updated_at > p_before.contact.updated_at);
    assert_eq!(merged.contact, after.contact);

    // memory
    assert_eq!(after.memories.len(), 2);
    let m = after
        .memories
        .iter()
        .find(|m| m.persona_id.as_deref() == Some("persona-1"))
        .unwrap();
    assert_eq!(
        m.summary,
        "Asked about order #8821.\n\nSigned up on the web."
    );
    assert_eq!(
        Value::Object(m.facts.clone()),
        json!({"name": "Sarah", "tz": "PT", "lang": "en"})
    );
    let contents: Vec<&str> = m
        .recent_messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    // Union without the exact duplicate, by time, newest 4 (d0 is cut).
    assert_eq!(contents, ["p1", "d1", "p2", "d2"]);
    let items: Vec<&str> = m
        .open_items
        .iter()
        .map(|i| i.description.as_str())
        .collect();
    assert_eq!(items, ["Send coupon", "Confirm delivery"]);
    let order = m
        .entities
        .iter()
        .find(|e| e.entity_id == "order-8821")
        .unwrap();
    assert_eq!(
        order.status.as_deref(),
        Some("in_transit"),
        "the later discussion wins"
    );
    assert_eq!(
        Value::Object(order.facts.clone()),
        json!({"carrier": "UPS", "status": "in_transit", "eta": "Fri"})
    );
    assert_eq!(order.notes.as_deref(), Some("fragile\n\nleave at door"));
    assert!(m.entities.iter().any(|e| e.entity_id == "b-1"));
    let moved = after
        .memories
        .iter()
        .find(|m| m.agent_number.as_deref() == Some("+14155550111"))
        .unwrap();
    assert_eq!(moved.summary, "Only the duplicate has this scope.");
    assert_eq!(moved.entities.len(), 2, "{:?}", moved.entities);
    assert_eq!(
        moved.id,
        d_before
            .memories
            .iter()
            .find(|m| m.agent_number.is_some())
            .unwrap()
            .id
    );

    // calls and SMS reassigned
    assert_eq!(org.calls(&p).unwrap().len(), 1);
    assert_eq!(org.sms_conversations(&p).unwrap().len(), 1);

    // the duplicate is gone, redirects, and its identifiers find the primary
    assert_eq!(org.get(&d).unwrap().contact.id, p);
    for q in [
        IdentifierQuery::email("sarah@example.com"),
        IdentifierQuery::external_id("crm-8812"),
        IdentifierQuery::phone("+14155550100"),
    ] {
        assert_eq!(org.find(&q).unwrap().unwrap().contact.id, p);
    }
    let dump = dump_of(&store);
    assert!(!dump
        .iter()
        .any(|r| r.starts_with("contact:") && r.contains(&d)));
}

fn dump_of(store: &ContactStore) -> Vec<String> {
    // In-memory stores: compare exports instead of files.
    String::from_utf8(export(store))
        .unwrap()
        .lines()
        .map(|l| format!("contact: {l}"))
        .collect()
}

#[test]
fn refusals_use_the_hosted_apis_messages_and_change_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let (p, d) = two_contacts(&store);
    let other = store
        .org("other")
        .unwrap()
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id;
    let before = dump(&db.path);
    let org = store.org("acme").unwrap();

    let err = org.merge(&p, &p).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (ErrorCode::BadRequest, "Cannot merge a contact with itself")
    );
    // An id that names nothing is not found, even merged with itself.
    let err = org.merge("nope", "nope").unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (ErrorCode::NotFound, "Contact not found")
    );
    for (a, b) in [
        (p.as_str(), "nope"),
        ("nope", d.as_str()),
        (&p, &other),
        (&other, &p),
    ] {
        let err = org.merge(a, b).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            (ErrorCode::NotFound, "Contact not found")
        );
    }
    let err = store.all_orgs().merge(&p, &other).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (
            ErrorCode::BadRequest,
            "Cannot merge contacts from different orgs"
        )
    );
    assert!(matches!(
        store.all_orgs().merge("x", &p),
        Err(Error::NotFound)
    ));
    assert_eq!(dump(&db.path), before);

    // After a merge the duplicate's id is no contact to merge away: a stale id must
    // not delete the live contact it redirects to.
    org.merge(&p, &d).unwrap();
    let err = org.merge(&p, &d).unwrap_err();
    assert_eq!(err.to_string(), "Contact not found");
    let other_live = org
        .resolve(&ResolveRequest::email("x@example.com"))
        .unwrap()
        .contact
        .id;
    assert_eq!(
        org.merge(&other_live, &d).unwrap_err().to_string(),
        "Contact not found"
    );
    // As primary, a merged-away id names the survivor: merging it with itself is refused.
    assert_eq!(
        org.merge(&d, &p).unwrap_err().to_string(),
        "Cannot merge a contact with itself"
    );
    // The all-orgs handle merges within one org, following the primary's redirect.
    let third = org
        .resolve(&ResolveRequest::email("third@example.com"))
        .unwrap()
        .contact
        .id;
    store.all_orgs().merge(&d, &third).unwrap();
    assert_eq!(org.get(&third).unwrap().contact.id, p);
}

#[test]
fn redirect_chains_resolve_in_one_step() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let id = |n: u32| {
        org.resolve(&ResolveRequest::phone(format!("+1415555{n:04}")))
            .unwrap()
            .contact
            .id
    };
    let (a, b, c, e) = (id(1), id(2), id(3), id(4));
    org.merge(&b, &a).unwrap(); // A into B
    org.merge(&c, &b).unwrap(); // B into C
    org.merge(&e, &c).unwrap(); // C into E
    for old in [&a, &b, &c] {
        let got = org.get(old).unwrap();
        assert_eq!(got.contact.id, e);
        assert_eq!(got.identifiers.len(), 4);
    }
    // Every merged id points straight at the survivor: reads never walk the chain.
    let targets: Vec<String> =
        common::sql_rows(&db.path, "SELECT DISTINCT surviving_id FROM merge_redirect")
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
    assert_eq!(targets, vec![e.clone()]);
    // The journal has one row per merge, with counts.
    let journal: Vec<(String, String, String)> = common::sql_rows(
        &db.path,
        "SELECT primary_id, duplicate_id, moved FROM merge_journal ORDER BY seq",
    )
    .into_iter()
    .map(|r| {
        let text = |i: usize| r[i].clone().unwrap();
        (text(0), text(1), text(2))
    })
    .collect();
    assert_eq!(journal.len(), 3);
    assert_eq!((&journal[1].0, &journal[1].1), (&c, &b));
    let moved: Value = serde_json::from_str(&journal[1].2).unwrap();
    assert_eq!(moved["identifiers"], 2);
    assert_eq!(moved["redirects"], 1);
    // Another org cannot follow them.
    assert_eq!(
        store.org("other").unwrap().get(&a).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

/// A failure injected by a trigger at several points of the merge (identifiers moved,
/// memories combined, contact deleted, redirect written, journal written) rolls back
/// everything: the export is byte-for-byte the same.
#[test]
fn a_merge_failing_in_its_middle_changes_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let (p, d) = two_contacts(&store);
    let persona = MemoryScope::persona("persona-1");
    org.add_messages(&d, &persona, &[msg("2025-07-21T10:00:00Z", "d1")])
        .unwrap();
    org.set_summary(&d, &MemoryScope::agent("+14155550111"), "moves")
        .unwrap();
    org.record_call(
        &d,
        &NewCall {
            direction: Direction::Inbound,
            agent_number: None,
            contact_number: None,
            started_at: Some(ts("2025-07-20T00:00:00Z")),
            duration_seconds: None,
            status: None,
            summary: None,
            metadata: Default::default(),
        },
    )
    .unwrap();
    let before = export(&store);
    let before_rows = dump(&db.path);
    let failure_points = [
        "BEFORE UPDATE ON activity",
        "AFTER UPDATE ON memory",
        "BEFORE DELETE ON memory",
        "BEFORE DELETE ON contact",
        "BEFORE INSERT ON merge_redirect",
        "BEFORE INSERT ON merge_journal",
    ];
    for point in failure_points {
        common::inject_failure(&db.path, point);
        let err = org.merge(&p, &d).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InternalError, "{point}");
        common::clear_failure(&db.path, point);
        assert!(
            String::from_utf8(export(&store)).unwrap()
                == String::from_utf8(before.clone()).unwrap(),
            "{point} left a partial merge"
        );
        assert!(dump(&db.path) == before_rows, "{point} left rows behind");
    }
    assert_eq!(export(&store), before);
    org.merge(&p, &d).unwrap();
}

#[test]
fn cli_merge_prints_the_merged_contact() {
    use std::process::Command;
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let (p, d) = two_contacts(&store);
    drop(store);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
            .arg("--db")
            .arg(&db.path)
            .args(["--org", "acme"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    let (code, v) = run(&["merge", &p, &d]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["id"], p.as_str());
    assert_eq!(v["data"]["name"], "Sarah Chen");
    assert_eq!(v["data"]["moved"]["identifiers"], 3);
    let (code, v) = run(&["merge", &p, &p]);
    assert_eq!(code, 2);
    assert_eq!(
        v["errors"][0]["message"],
        "Cannot merge a contact with itself"
    );
    let (code, v) = run(&["merge", &p, "00000000-0000-0000-0000-000000000000"]);
    assert_eq!(code, 3);
    assert_eq!(v["errors"][0]["message"], "Contact not found");
}

#[test]
fn import_on_conflict_merge_merges_into_the_owner() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let existing = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550192".into()),
                ..Default::default()
            },
            name: Some("Sarah".into()),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id;
    let other = org
        .resolve(&ResolveRequest::email("other@example.com"))
        .unwrap()
        .contact
        .id;
    let lines = [
        // Known phone, new email and memory: merged into `existing`.
        r#"{"name":"Ignored","metadata":{"crm":true},"identifiers":[{"identifier_type":"phone_number","identifier_value":"(415) 555-0192"},{"identifier_type":"email","identifier_value":"sarah@example.com"}],"memories":[{"persona_id":"p","summary":"from crm"}]}"#,
        // Identifiers of two different contacts: still rejected.
        r#"{"identifiers":[{"identifier_type":"phone_number","identifier_value":"+14155550192"},{"identifier_type":"email","identifier_value":"other@example.com"}]}"#,
        // Nothing known: imported.
        r#"{"identifiers":[{"identifier_type":"email","identifier_value":"new@example.com"}]}"#,
    ]
    .join("\n");
    let summary = org
        .import(
            &mut lines.as_bytes(),
            &ImportOptions::default().on_conflict(OnConflict::Merge),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        (summary.imported, summary.merged, summary.rejected),
        (1, 1, 1),
        "{summary:?}"
    );
    assert_eq!(summary.errors[0].line, 2);
    let got = org.get(&existing).unwrap();
    assert_eq!(got.contact.name.as_deref(), Some("Sarah"));
    assert_eq!(got.contact.metadata["crm"], true);
    assert_eq!(got.identifiers.len(), 2);
    assert_eq!(got.memories[0].summary, "from crm");
    assert_eq!(org.get(&other).unwrap().identifiers.len(), 1);

    // Re-importing an export with merge: every line is already there, unchanged (not
    // merged again), and nothing moves.
    let mut out = Vec::new();
    org.export(&mut out).unwrap();
    let summary = org
        .import(
            &mut out.as_slice(),
            &ImportOptions::default().on_conflict(OnConflict::Merge),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!((summary.unchanged, summary.merged), (3, 0), "{summary:?}");
    assert_eq!(org.get(&existing).unwrap().memories[0].summary, "from crm");
    let mut again = Vec::new();
    org.export(&mut again).unwrap();
    assert_eq!(again, out);
}
