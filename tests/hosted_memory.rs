//! The hosted API's memory and contact calls through the library (issue 12): memory
//! records by id, get-or-create, context, facts merge, summary replace, the message
//! window, reset; contact patch and the offset list; hosted data (`call` channels)
//! kept verbatim; `memory_history`.

mod common;

use contactstore::{
    Channel, ContactPatch, ErrorCode, HistoryKind, IdentifierQuery, ImportOptions, MemoryScope,
    Message, Org, ResolveRequest, Role, Timestamp,
};
use serde_json::{json, Value};

fn msg(at: &str, content: &str, channel: Channel) -> Message {
    Message {
        role: Role::User,
        content: content.into(),
        channel,
        timestamp: Timestamp::parse(at).unwrap(),
    }
}

/// The id of the contact of +14155550192, created in `org`.
fn known_caller(org: &Org<'_>) -> String {
    org.resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id
}

fn persona() -> MemoryScope {
    MemoryScope::persona("persona-12345678")
}

#[test]
fn open_memory_is_get_or_create_and_records_its_creation() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = known_caller(&org);
    let first = org.open_memory(&id, &persona()).unwrap();
    assert!(first.created);
    assert_eq!(first.memory.org_id, "acme");
    assert_eq!(first.memory.summary, None);
    assert_eq!(first.memory.persona_id.as_deref(), Some("persona-12345678"));
    assert_eq!(first.memory.agent_number, None);
    assert_eq!(first.memory.memory_history.len(), 1);
    assert_eq!(first.memory.memory_history[0].kind, HistoryKind::Created);
    let again = org.open_memory(&id, &persona()).unwrap();
    assert!(!again.created);
    assert_eq!(again.memory.id, first.memory.id);
    let json = serde_json::to_value(&first).unwrap();
    for field in [
        "id",
        "org_id",
        "contact_id",
        "persona_id",
        "agent_number",
        "summary",
        "facts",
        "recent_messages",
        "open_items",
        "memory_history",
        "created_at",
        "updated_at",
    ] {
        assert!(json["memory"].get(field).is_some(), "{field}: {json}");
    }
    assert_eq!(json["created"], true);
    // Without a scope, or for an unknown contact.
    let err = org.open_memory(&id, &MemoryScope::default()).unwrap_err();
    assert_eq!(err.to_string(), "persona_id or agent_number is required");
    assert_eq!(
        org.open_memory("nope", &persona()).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn memory_ids_of_another_org_are_not_found() {
    let store = common::store();
    let acme = store.org("acme").unwrap();
    let globex = store.org("globex").unwrap();
    let id = known_caller(&acme);
    let memory = acme.open_memory(&id, &persona()).unwrap().memory.id;
    assert_eq!(acme.memory(&memory).unwrap().id, memory);
    for err in [
        globex.memory(&memory).unwrap_err(),
        globex
            .merge_facts(&memory, json!({"a": 1}).as_object().unwrap())
            .unwrap_err(),
        globex.replace_summary(&memory, "x").unwrap_err(),
        globex.recent_messages(&memory).unwrap_err(),
        globex
            .add_messages_by_id(&memory, &[msg("2025-07-22T10:30:00Z", "hi", Channel::Call)])
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), ErrorCode::NotFound);
        assert_eq!(err.to_string(), "Memory not found");
    }
    assert_eq!(
        acme.memory(&memory).unwrap().facts.len(),
        0,
        "nothing was written"
    );
}

#[test]
fn facts_merge_the_hosted_way_keeps_keys_and_stores_null() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = known_caller(&org);
    let memory = org.open_memory(&id, &persona()).unwrap().memory.id;
    org.merge_facts(
        &memory,
        json!({"name": "Sarah", "plan": "basic"})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    let record = org
        .merge_facts(
            &memory,
            json!({"plan": "premium", "timezone": null})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        Value::Object(record.facts.clone()),
        json!({"name": "Sarah", "plan": "premium", "timezone": null})
    );
    let last = record.memory_history.last().unwrap();
    assert_eq!(last.kind, HistoryKind::FactsUpdate);
    assert_eq!(last.value, json!({"plan": "premium", "timezone": null}));
    assert_eq!(
        last.previous,
        Some(json!({"plan": "basic", "timezone": null}))
    );
    // The library's own patch removes a key set to null.
    let patched = org
        .patch_facts(
            &id,
            &persona(),
            json!({"timezone": null}).as_object().unwrap(),
        )
        .unwrap();
    assert!(!patched.facts.contains_key("timezone"));
    // Re-merging the same facts changes nothing and records nothing.
    let before = org.memory(&memory).unwrap();
    let same = org
        .merge_facts(&memory, json!({"plan": "premium"}).as_object().unwrap())
        .unwrap();
    assert_eq!(same.memory_history, before.memory_history);
    assert_eq!(same.updated_at, before.updated_at);
}

#[test]
fn summary_replace_sets_summary_updated_at_and_keeps_the_old_text_in_history() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = known_caller(&org);
    let memory = org.open_memory(&id, &persona()).unwrap().memory;
    assert_eq!(memory.summary_updated_at, None);
    org.replace_summary(&memory.id, "Asked about order #8821.")
        .unwrap();
    let record = org
        .replace_summary(&memory.id, "Order #8821 shipped.")
        .unwrap();
    assert_eq!(record.summary.as_deref(), Some("Order #8821 shipped."));
    assert!(record.summary_updated_at.is_some());
    assert_eq!(record.summary_updated_at, Some(record.updated_at));
    let last = record.memory_history.last().unwrap();
    assert_eq!(last.kind, HistoryKind::SummaryUpdate);
    assert_eq!(last.value, json!("Order #8821 shipped."));
    assert_eq!(last.previous, Some(json!("Asked about order #8821.")));
    let too_long = "x".repeat(contactstore::limits::MAX_TEXT_CHARS + 1);
    assert_eq!(
        org.replace_summary(&memory.id, &too_long)
            .unwrap_err()
            .code(),
        ErrorCode::BadRequest
    );
}

#[test]
fn the_context_uses_the_hosted_camel_case_and_never_writes() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = known_caller(&org);
    let empty = org.memory_context(&id, &persona()).unwrap();
    assert!(empty.recent_messages.is_empty() && empty.summary.is_none());
    assert!(
        org.get(&id).unwrap().memories.is_empty(),
        "reading the context created nothing"
    );
    org.add_messages(
        &id,
        &persona(),
        &[
            msg("2025-07-23T09:10:05Z", "Yes, it shipped.", Channel::Sms),
            msg(
                "2025-07-23T09:10:00Z",
                "Has my order shipped yet?",
                Channel::Sms,
            ),
        ],
    )
    .unwrap();
    org.set_summary(&id, &persona(), "Order #8821 in transit.")
        .unwrap();
    let context = serde_json::to_value(org.memory_context(&id, &persona()).unwrap()).unwrap();
    let keys: Vec<&str> = context
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "contactFacts",
        "contact_id",
        "entities",
        "openItems",
        "recentMessages",
        "summary",
    ];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    assert_eq!(
        context["recentMessages"][0]["content"],
        "Has my order shipped yet?"
    );
    assert_eq!(context["summary"], "Order #8821 in transit.");
    let err = org
        .memory_context(&id, &MemoryScope::default())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
}

#[test]
fn reset_wipes_one_scope_irreversibly_and_is_idempotent() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = known_caller(&org);
    let other = MemoryScope::agent("+14155550100");
    org.set_summary(&id, &persona(), "secret summary").unwrap();
    org.patch_facts(&id, &persona(), json!({"k": "v"}).as_object().unwrap())
        .unwrap();
    org.upsert_entity(
        &id,
        &persona(),
        &contactstore::EntityUpdate {
            entity_type: "order".into(),
            entity_id: "order-1".into(),
            ..Default::default()
        },
    )
    .unwrap();
    org.set_summary(&id, &other, "kept").unwrap();
    assert!(org.reset_memory(&id, &persona()).unwrap());
    let memory = org.memory_context(&id, &persona()).unwrap();
    assert!(
        memory.summary.is_none() && memory.contact_facts.is_empty() && memory.entities.is_empty()
    );
    let got = org.get(&id).unwrap();
    let reset = got
        .memories
        .iter()
        .find(|m| m.persona_id.is_some())
        .unwrap();
    assert_eq!(
        reset.memory_history.len(),
        1,
        "the history held the old values too"
    );
    assert_eq!(reset.memory_history[0].kind, HistoryKind::Reset);
    assert_eq!(
        org.memory_context(&id, &other).unwrap().summary.as_deref(),
        Some("kept")
    );
    let mut exported = Vec::new();
    org.export(&mut exported).unwrap();
    assert!(!String::from_utf8(exported)
        .unwrap()
        .contains("secret summary"));
    // Again: still a success, nothing changes; a scope never written: false.
    let before = org.get(&id).unwrap();
    assert!(org.reset_memory(&id, &persona()).unwrap());
    assert_eq!(org.get(&id).unwrap(), before);
    assert!(!org
        .reset_memory(&id, &MemoryScope::persona("never"))
        .unwrap());
    assert_eq!(
        org.reset_memory("nope", &persona()).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn hosted_channels_round_trip_byte_for_byte() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let line = r#"{"identifiers":[{"identifier_type":"phone_number","identifier_value":"+14155550192"}],"memories":[{"persona_id":"persona-12345678","recent_messages":[{"role":"user","content":"Hi, I'm calling about my order","channel":"call","timestamp":"2025-07-22T10:30:00.000Z"},{"role":"assistant","content":"Sure.","channel":"voice","timestamp":"2025-07-22T10:30:05.000Z"},{"role":"user","content":"It's order #12345","channel":"sms","timestamp":"2025-07-22T11:00:00.000Z"}]}]}"#;
    let summary = org
        .import(&mut line.as_bytes(), &ImportOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(summary.imported, 1, "{summary:?}");
    let mut first = Vec::new();
    org.export(&mut first).unwrap();
    let text = String::from_utf8(first.clone()).unwrap();
    assert!(text.contains(r#""channel":"call""#) && text.contains(r#""channel":"voice""#));
    let copy = common::store();
    copy.org("acme")
        .unwrap()
        .import(
            &mut first.as_slice(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    let mut second = Vec::new();
    copy.org("acme").unwrap().export(&mut second).unwrap();
    assert_eq!(first, second);
    let found = org
        .find(&IdentifierQuery::phone("+14155550192"))
        .unwrap()
        .unwrap();
    assert_eq!(found.memories[0].recent_messages[0].channel, Channel::Call);
}

#[test]
fn the_message_window_and_writes_by_memory_id() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = known_caller(&org);
    let memory = org.open_memory(&id, &persona()).unwrap().memory.id;
    org.add_messages_by_id(
        &memory,
        &[
            msg("2025-07-22T11:00:00Z", "third", Channel::Sms),
            msg("2025-07-22T10:30:00Z", "first", Channel::Call),
        ],
    )
    .unwrap();
    org.add_messages_by_id(
        &memory,
        &[msg("2025-07-22T10:30:05Z", "second", Channel::Call)],
    )
    .unwrap();
    let window: Vec<String> = org
        .recent_messages(&memory)
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(window, ["first", "second", "third"]);
    let record = org.memory(&memory).unwrap();
    let kinds: Vec<HistoryKind> = record.memory_history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            HistoryKind::Created,
            HistoryKind::MessagesAdded,
            HistoryKind::MessagesAdded
        ]
    );
    assert_eq!(record.memory_history[1].value, json!(2));
    // The history keeps the newest entries only.
    for i in 0..(contactstore::limits::MAX_MEMORY_HISTORY + 5) {
        org.replace_summary(&memory, &format!("summary {i}"))
            .unwrap();
    }
    let history = org.memory(&memory).unwrap().memory_history;
    assert_eq!(history.len(), contactstore::limits::MAX_MEMORY_HISTORY);
    assert_eq!(
        history.last().unwrap().value,
        json!(format!(
            "summary {}",
            contactstore::limits::MAX_MEMORY_HISTORY + 4
        ))
    );
}

#[test]
fn patch_contact_adds_or_updates_identifiers_and_merges_metadata() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let id = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery::phone("+14155550192"),
            metadata: Some(json!({"source": "call", "tier": "gold"})),
            ..Default::default()
        })
        .unwrap()
        .contact
        .id;
    let other = org
        .resolve(&ResolveRequest::email("taken@example.com"))
        .unwrap()
        .contact
        .id;
    let patch = |v: Value| serde_json::from_value::<ContactPatch>(v).unwrap();
    let c = org
        .patch_contact(
            &id,
            &patch(json!({
                "name": "John Smith",
                "email": "John@Example.com",
                "metadata": {"source": "web_signup", "verified": true, "tier": null}
            })),
        )
        .unwrap();
    assert_eq!(c.name.as_deref(), Some("John Smith"));
    assert_eq!(
        Value::Object(c.metadata),
        json!({"source": "web_signup", "verified": true, "tier": null})
    );
    // A second email becomes the primary; the first stays.
    org.patch_contact(&id, &patch(json!({"email": "john@work.example"})))
        .unwrap();
    let got = org.get(&id).unwrap();
    let emails: Vec<(&str, bool)> = got
        .identifiers
        .iter()
        .filter(|i| i.identifier_type == contactstore::IdentifierType::Email)
        .map(|i| (i.identifier_value.as_str(), i.is_primary))
        .collect();
    assert_eq!(
        emails,
        [("john@work.example", true), ("john@example.com", false)]
    );
    // Another contact's email is refused, and nothing changes.
    let before = org.get(&id).unwrap();
    let err = org
        .patch_contact(
            &id,
            &patch(json!({"name": "X", "email": "taken@example.com"})),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid email: already belongs to another contact"
    );
    assert_eq!(org.get(&id).unwrap(), before);
    assert_eq!(org.get(&other).unwrap().identifiers.len(), 1);
    // A merged-away id reaches the survivor; another org's id is not found.
    org.merge(&id, &other).unwrap();
    let c = org
        .patch_contact(&other, &patch(json!({"name": "Via old id"})))
        .unwrap();
    assert_eq!(
        (c.id.as_str(), c.name.as_deref()),
        (id.as_str(), Some("Via old id"))
    );
    let err = store
        .org("globex")
        .unwrap()
        .patch_contact(&id, &patch(json!({"name": "Y"})))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
}

#[test]
fn the_offset_list_pages_with_the_hosted_pagination() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    for i in 0..5 {
        org.resolve(&ResolveRequest::email(format!("user{i}@example.com")))
            .unwrap();
    }
    let first = org.contacts_at_offset(0, Some(2)).unwrap();
    assert_eq!(first.contacts.len(), 2);
    assert_eq!(
        serde_json::to_value(first.pagination).unwrap(),
        json!({"total": 5, "limit": 2, "offset": 0, "has_more": true})
    );
    assert!(first.contacts.iter().all(|c| c.identifiers.len() == 1));
    let last = org.contacts_at_offset(4, Some(2)).unwrap();
    assert_eq!((last.contacts.len(), last.pagination.has_more), (1, false));
    assert_eq!(org.contacts_at_offset(9, None).unwrap().contacts.len(), 0);
    assert_eq!(
        org.contacts_at_offset(0, None).unwrap().pagination.limit,
        50
    );
    for bad in [0, 201] {
        let err = org.contacts_at_offset(0, Some(bad)).unwrap_err();
        assert_eq!(err.to_string(), "Invalid limit: must be between 1 and 200");
    }
    let mut seen: Vec<String> = Vec::new();
    for offset in [0, 2, 4] {
        seen.extend(
            org.contacts_at_offset(offset, Some(2))
                .unwrap()
                .contacts
                .into_iter()
                .map(|c| c.contact.id),
        );
    }
    seen.dedup();
    assert_eq!(seen.len(), 5, "pages neither repeat nor skip");
}
