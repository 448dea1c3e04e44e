//! Memory writes, calls and SMS conversations through the public API.

mod common;

use std::time::Duration;

use common::{dump, TempDb, WriteWatch};
use contactstore::{
    Channel, ContactStore, Direction, EntityRef, EntityUpdate, ErrorCode, MemoryScope, Message,
    NewCall, NewSmsConversation, OpenItem, Priority, ResolveRequest, Role, Settings, Timestamp,
};
use serde_json::json;

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn message(second: u32, content: &str) -> Message {
    Message {
        role: Role::User,
        content: content.into(),
        channel: Channel::Sms,
        timestamp: ts(&format!("2025-07-23T09:10:{second:02}Z")),
    }
}

fn setup(store: &ContactStore) -> String {
    store
        .org("acme")
        .unwrap()
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id
}

#[test]
fn writes_create_the_scope_and_bump_updated_at() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let before = org.get(&id).unwrap().contact.updated_at;
    std::thread::sleep(Duration::from_millis(3));

    let scope = MemoryScope::persona("persona-1");
    let m = org
        .set_summary(&id, &scope, "Called about order #8821.")
        .unwrap();
    assert_eq!(m.summary, "Called about order #8821.");
    assert_eq!(m.persona_id.as_deref(), Some("persona-1"));
    assert_eq!(m.contact_id, id);
    let after = org.get(&id).unwrap();
    assert!(after.contact.updated_at > before);
    assert_eq!(after.memories.len(), 1);
    assert_eq!(after.memories[0].updated_at, m.updated_at);

    // The same summary again changes nothing.
    std::thread::sleep(Duration::from_millis(3));
    let same = org
        .set_summary(&id, &scope, "Called about order #8821.")
        .unwrap();
    assert_eq!(same.updated_at, m.updated_at);
    assert_eq!(
        org.get(&id).unwrap().contact.updated_at,
        after.contact.updated_at
    );

    // An agent-number scope is a different memory; the number is normalized.
    let by_agent = org
        .ensure_memory(&id, &MemoryScope::agent("(415) 555-0100"))
        .unwrap();
    assert_eq!(by_agent.agent_number.as_deref(), Some("+14155550100"));
    assert_ne!(by_agent.id, m.id);
    let again = org
        .ensure_memory(&id, &MemoryScope::agent("+14155550100"))
        .unwrap();
    assert_eq!(again.id, by_agent.id);
}

#[test]
fn facts_are_patched_and_null_removes() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let scope = MemoryScope::persona("p");
    let patch = |v: serde_json::Value| v.as_object().unwrap().clone();
    org.patch_facts(&id, &scope, &patch(json!({"name": "Sarah", "tz": "UTC"})))
        .unwrap();
    let m = org
        .patch_facts(
            &id,
            &scope,
            &patch(json!({"tz": null, "preferred_contact": "sms"})),
        )
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(m.facts),
        json!({"name": "Sarah", "preferred_contact": "sms"})
    );
}

#[test]
fn recent_messages_are_ordered_and_capped() {
    let store = common::store_with(Settings::default().recent_messages_cap(3));
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let scope = MemoryScope::persona("p");
    org.add_messages(&id, &scope, &[message(5, "b"), message(1, "a")])
        .unwrap();
    let m = org
        .add_messages(&id, &scope, &[message(9, "d"), message(7, "c")])
        .unwrap();
    let contents: Vec<&str> = m
        .recent_messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(contents, ["b", "c", "d"], "the oldest is dropped");
}

#[test]
fn default_cap_keeps_the_newest_fifty() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let scope = MemoryScope::persona("p");
    let messages: Vec<Message> = (0..60).map(|i| message(i % 60, &format!("m{i}"))).collect();
    let m = org.add_messages(&id, &scope, &messages).unwrap();
    assert_eq!(m.recent_messages.len(), 50);
    assert_eq!(m.recent_messages[0].content, "m10");
    assert_eq!(m.recent_messages[49].content, "m59");
}

#[test]
fn open_items_are_added_once_and_closed() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let scope = MemoryScope::persona("p");
    let item = |description: &str, at: &str| OpenItem {
        item_type: "follow_up".into(),
        description: description.into(),
        created_at: ts(at),
        priority: Priority::Medium,
        related_to: Some(EntityRef {
            entity_type: "order".into(),
            entity_id: "order-8821".into(),
        }),
    };
    org.add_open_item(
        &id,
        &scope,
        &item("Confirm delivery", "2025-07-23T09:10:00Z"),
    )
    .unwrap();
    org.add_open_item(&id, &scope, &item("Call back", "2025-07-22T09:10:00Z"))
        .unwrap();
    let m = org
        .add_open_item(
            &id,
            &scope,
            &item("Confirm delivery", "2025-07-23T09:10:00Z"),
        )
        .unwrap();
    let descriptions: Vec<&str> = m
        .open_items
        .iter()
        .map(|i| i.description.as_str())
        .collect();
    assert_eq!(
        descriptions,
        ["Call back", "Confirm delivery"],
        "by created_at, no duplicate"
    );

    let m = org
        .close_open_items(&id, &scope, "follow_up", "Call back")
        .unwrap();
    assert_eq!(m.open_items.len(), 1);
    let unchanged = org
        .close_open_items(&id, &scope, "follow_up", "Call back")
        .unwrap();
    assert_eq!(unchanged.updated_at, m.updated_at);
}

#[test]
fn entities_are_upserted_by_type_and_id() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let scope = MemoryScope::persona("p");
    let facts = |v: serde_json::Value| v.as_object().unwrap().clone();
    org.upsert_entity(
        &id,
        &scope,
        &EntityUpdate {
            entity_type: "order".into(),
            entity_id: "order-8821".into(),
            facts: facts(json!({"carrier": "UPS", "status": "processing"})),
            status: Some("processing".into()),
            last_discussed_at: Some(ts("2025-07-22T10:00:00Z")),
            notes: None,
        },
    )
    .unwrap();
    org.upsert_entity(
        &id,
        &scope,
        &EntityUpdate {
            entity_type: "booking".into(),
            entity_id: "b-1".into(),
            last_discussed_at: Some(ts("2025-07-20T10:00:00Z")),
            ..Default::default()
        },
    )
    .unwrap();
    let m = org
        .upsert_entity(
            &id,
            &scope,
            &EntityUpdate {
                entity_type: "order".into(),
                entity_id: "order-8821".into(),
                facts: facts(json!({"status": "in_transit", "carrier": null})),
                status: Some("in_transit".into()),
                last_discussed_at: Some(ts("2025-07-23T09:10:00Z")),
                notes: Some("Left at the door".into()),
            },
        )
        .unwrap();
    assert_eq!(m.entities.len(), 2);
    let order = &m.entities[0];
    assert_eq!(
        order.entity_id, "order-8821",
        "most recently discussed first"
    );
    assert_eq!(
        serde_json::Value::Object(order.facts.clone()),
        json!({"status": "in_transit"})
    );
    assert_eq!(order.status.as_deref(), Some("in_transit"));
    assert_eq!(order.notes.as_deref(), Some("Left at the door"));
    assert_eq!(m.entities[1].entity_id, "b-1");
}

#[test]
fn bad_memory_input_is_a_bad_request_that_writes_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let before = dump(&db.path);
    let watch = WriteWatch::new(&db.path);
    let scope = MemoryScope::persona("p");

    // Loosely typed input (CLI, HTTP, import) is validated field by field.
    for (role, channel, timestamp, field) in [
        ("robot", "sms", Some("2025-07-23T09:10:00Z"), "role"),
        ("user", "fax", None, "channel"),
        ("user", "sms", Some("23/07/2025"), "timestamp"),
    ] {
        let err = Message::from_parts(role, "hi", channel, timestamp).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest);
        assert!(err.to_string().contains(field), "{err}");
    }
    assert_eq!(
        "p9".parse::<Priority>().unwrap_err().code(),
        ErrorCode::BadRequest
    );

    let long = "x".repeat(64 * 1024 + 1);
    let errors = [
        org.set_summary(&id, &scope, &long).unwrap_err(),
        org.set_summary(&id, &MemoryScope::default(), "x")
            .unwrap_err(),
        org.set_summary(&id, &MemoryScope::agent("anonymous"), "x")
            .unwrap_err(),
        org.add_messages(
            &id,
            &scope,
            &[Message {
                content: long.clone(),
                ..message(1, "")
            }],
        )
        .unwrap_err(),
        org.upsert_entity(&id, &scope, &EntityUpdate::default())
            .unwrap_err(),
        org.add_open_item(
            &id,
            &scope,
            &OpenItem {
                item_type: " ".into(),
                description: "d".into(),
                created_at: ts("2025-07-23T09:10:00Z"),
                priority: Priority::Low,
                related_to: None,
            },
        )
        .unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.code(), ErrorCode::BadRequest, "{err}");
    }
    // Unknown contact and another org's contact: NOT_FOUND.
    assert_eq!(
        org.set_summary("nope", &scope, "x").unwrap_err().code(),
        ErrorCode::NotFound
    );
    let other = store.org("other").unwrap();
    assert_eq!(
        other.set_summary(&id, &scope, "x").unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert!(!watch.changed());
    assert_eq!(dump(&db.path), before);
}

#[test]
fn calls_and_sms_are_recorded_normalized_and_listed_newest_first() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let call = |at: &str| NewCall {
        direction: Direction::Inbound,
        agent_number: Some("(415) 555-0100".into()),
        contact_number: Some("415.555.0192".into()),
        started_at: Some(ts(at)),
        duration_seconds: Some(95),
        status: Some("completed".into()),
        summary: Some("Order status".into()),
        metadata: json!({"recording": false}).as_object().unwrap().clone(),
    };
    let first = org.record_call(&id, &call("2025-07-22T10:00:00Z")).unwrap();
    assert!(first.id.starts_with("call-"));
    assert_eq!(first.agent_number.as_deref(), Some("+14155550100"));
    assert_eq!(first.contact_number.as_deref(), Some("+14155550192"));
    let second = org.record_call(&id, &call("2025-07-23T10:00:00Z")).unwrap();
    let listed: Vec<String> = org.calls(&id).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(listed, vec![second.id, first.id]);

    let sms = org
        .record_sms(
            &id,
            &NewSmsConversation {
                direction: Direction::Outbound,
                agent_number: None,
                contact_number: Some("+14155550192".into()),
                started_at: None,
                message_count: 4,
                status: Some("closed".into()),
                summary: None,
                metadata: Default::default(),
            },
        )
        .unwrap();
    assert_eq!(org.sms_conversations(&id).unwrap(), vec![sms]);

    let bad = NewCall {
        duration_seconds: Some(-1),
        ..call("2025-07-22T10:00:00Z")
    };
    assert_eq!(
        org.record_call(&id, &bad).unwrap_err().code(),
        ErrorCode::BadRequest
    );
    let bad = NewCall {
        contact_number: Some("anonymous".into()),
        ..call("2025-07-22T10:00:00Z")
    };
    let err = org.record_call(&id, &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid contact_number: is not a phone number"
    );
    assert_eq!(org.calls(&id).unwrap().len(), 2);
    assert_eq!(
        store.org("other").unwrap().calls(&id).unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        "sideways".parse::<Direction>().unwrap_err().code(),
        ErrorCode::BadRequest
    );
}

#[test]
fn a_retried_message_is_stored_once_and_changes_nothing() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = setup(&store);
    let scope = MemoryScope::persona("p");
    let first = org
        .add_messages(&id, &scope, &[message(1, "hi"), message(1, "hi")])
        .unwrap();
    assert_eq!(first.recent_messages.len(), 1);
    std::thread::sleep(Duration::from_millis(3));
    let again = org.add_messages(&id, &scope, &[message(1, "hi")]).unwrap();
    assert_eq!(again.recent_messages.len(), 1);
    assert_eq!(again.updated_at, first.updated_at, "nothing changed");
    // A different message at the same time is a new message.
    let more = org
        .add_messages(&id, &scope, &[message(1, "hello")])
        .unwrap();
    assert_eq!(more.recent_messages.len(), 2);
}
