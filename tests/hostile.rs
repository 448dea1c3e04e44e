//! Hostile input (issue 5, deliverable 4): every input field of every operation, and
//! the import line parser, fed arbitrary Unicode, control characters, embedded NUL,
//! very long strings, deeply nested and huge JSON.
//!
//! The properties: nothing panics; every failure is a BAD_REQUEST (NOT_FOUND for ids),
//! never a storage error; a failure writes nothing (`PRAGMA data_version` of another
//! connection is unchanged); no message repeats the input.

mod common;

use std::cell::RefCell;
use std::mem::ManuallyDrop;

use common::{store_with_a_caller, TempDb, WriteWatch};
use contactstore::limits::MAX_JSON_DEPTH;
use contactstore::{
    normalize, ContactStore, Direction, EntityRef, EntityUpdate, Error, ErrorCode, IdentifierQuery,
    IdentifierType, ImportOptions, JsonObject, MemoryScope, Message, NewCall, NewSmsConversation,
    OpenItem, Org, PhoneRegion, Priority, ResolveRequest, Timestamp,
};
use proptest::prelude::*;
use serde_json::Value;

// Strategies ----------------------------------------------------------------------

/// Text as an attacker or a broken client sends it.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{0,12}",
        2 => (any::<String>(), any::<String>()).prop_map(|(a, b)| format!("{a}\0{b}")),
        1 => (any::<char>(), 100..70_000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
        2 => prop::sample::select(vec![
            "anonymous", "unknown", "12345", "+266696687", "(415) 555-0192 ext. 12",
            "tel:+1-415-555-0192", "011 44 20 7946 0958", "+14155550192", "Sarah@Example.com",
            "s@bücher.example", " ", "", "\u{202e}+14155550192", "\u{feff}+14155550192",
            "４１５５５５０１９２", "+1 415 555 0192\0", "a@b", "@", "x@[127.0.0.1]",
            "\"Sarah\" <s@example.com>", "persona-1", "crm-8812", "null", "{}", "[]",
            "\u{0}", "\u{10ffff}", "ß@ǅ.example", "a@xn--", "+0", "+", "--", "💥@💥.com",
        ])
        .prop_map(str::to_owned),
        2 => "\\+?[0-9 ()\\-.]{0,24}",
        2 => "[a-zA-Z0-9._%+\\-]{0,12}@[a-zA-Z0-9.\\-]{0,16}",
    ]
}

/// Short hostile text, for JSON keys and leaves (long strings come separately).
fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f]{0,4}",
        (any::<String>()).prop_map(|a| format!("{a}\0")),
    ]
}

/// `{"k": [[[…]]]}` with `depth` levels in all (the object counts as one).
fn nested(depth: usize) -> Value {
    let mut value = Value::Null;
    for _ in 1..depth {
        value = Value::Array(vec![value]);
    }
    Value::Object([("k".to_owned(), value)].into_iter().collect())
}

fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        short_text().prop_map(Value::from),
    ];
    let tree = leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(short_text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        8 => tree,
        // Around the nesting limit.
        1 => (MAX_JSON_DEPTH - 2..MAX_JSON_DEPTH + 3).prop_map(nested),
        // Huge: 70 KB to 200 KB.
        1 => (700..2_000usize).prop_map(|n| Value::Array(vec![Value::from("x".repeat(100)); n])),
    ]
}

fn hostile_object() -> impl Strategy<Value = JsonObject> {
    hostile_json().prop_map(|v| match v {
        Value::Object(map) => map,
        other => [("value".to_owned(), other)].into_iter().collect(),
    })
}

fn opt<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    prop::option::weighted(0.7, s)
}

// The store under attack ------------------------------------------------------------

/// Parses a facts argument as the command line does: JSON text that must be an object.
fn json_object(text: &str, field: &'static str) -> Result<JsonObject, Error> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::InvalidField {
            field,
            reason: "must be a JSON object",
        }),
        Err(_) => Err(Error::InvalidField {
            field,
            reason: "is not valid JSON",
        }),
    }
}

/// One file per test thread, with a known contact, shared by the cases of a property.
struct Fixture {
    db: TempDb,
    store: ContactStore,
    contact: String,
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fn with_store<T>(f: impl FnOnce(&Org<'_>, &str, &std::path::Path) -> T) -> T {
    FIXTURE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let fixture = slot.get_or_insert_with(|| {
            let db = TempDb::new();
            let store = ContactStore::open(&db.path).unwrap();
            let contact = store
                .org("acme")
                .unwrap()
                .resolve(&ResolveRequest {
                    identifiers: IdentifierQuery {
                        phone_number: Some("+14155550192".into()),
                        ..Default::default()
                    },
                    persona_id: Some("persona-1".into()),
                    ..Default::default()
                })
                .unwrap()
                .contact
                .id;
            Fixture { db, store, contact }
        });
        let org = fixture.store.org("acme").unwrap();
        f(&org, &fixture.contact, &fixture.db.path)
    })
}

/// Checks one outcome: failures are typed as the contract says, name no input, and
/// left the file as it was.
fn check<T: std::fmt::Debug>(
    outcome: Result<T, Error>,
    watch: &WriteWatch,
    inputs: &[&str],
    allowed: &[ErrorCode],
) -> Result<(), TestCaseError> {
    if let Err(e) = &outcome {
        prop_assert!(
            allowed.contains(&e.code()),
            "unexpected {:?}: {e} ({e:?})",
            e.code()
        );
        prop_assert!(!watch.changed(), "a failed operation wrote: {e}");
        let message = e.to_string();
        for input in inputs {
            let input = input.trim();
            prop_assert!(
                input.chars().count() < 8 || !message.contains(input),
                "the message repeats the input: {message}"
            );
        }
    }
    Ok(())
}

const BAD: &[ErrorCode] = &[ErrorCode::BadRequest];
const BAD_OR_MISSING: &[ErrorCode] = &[ErrorCode::BadRequest, ErrorCode::NotFound];

// Properties -----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn resolve_takes_any_input_without_panicking_or_storage_errors(
        phone in opt(hostile_text()),
        email in opt(hostile_text()),
        external_id in opt(hostile_text()),
        name in opt(hostile_text()),
        persona_id in opt(hostile_text()),
        agent_number in opt(hostile_text()),
        metadata in opt(hostile_json()),
    ) {
        let request = ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: phone,
                email,
                external_id,
            },
            name,
            persona_id,
            agent_number,
            metadata,
        };
        with_store(|org, _, path| {
            let watch = WriteWatch::new(path);
            let inputs: Vec<&str> = [
                &request.identifiers.phone_number, &request.identifiers.email,
                &request.identifiers.external_id, &request.name,
                &request.persona_id, &request.agent_number,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
            check(org.resolve(&request), &watch, &inputs, BAD)
        })?;
    }

    #[test]
    fn find_takes_any_identifiers_and_never_writes(
        phone_number in opt(hostile_text()),
        email in opt(hostile_text()),
        external_id in opt(hostile_text()),
    ) {
        let query = IdentifierQuery { phone_number, email, external_id };
        with_store(|org, _, path| {
            let watch = WriteWatch::new(path);
            let inputs: Vec<&str> = [&query.phone_number, &query.email, &query.external_id]
                .into_iter().flatten().map(String::as_str).collect();
            check(org.find(&query), &watch, &inputs, BAD)?;
            prop_assert!(!watch.changed(), "find wrote");
            Ok(())
        })?;
    }

    #[test]
    fn ids_of_any_shape_are_not_found(id in hostile_text(), other in hostile_text()) {
        with_store(|org, contact, path| {
            let watch = WriteWatch::new(path);
            let ids = [id.as_str(), other.as_str()];
            check(org.get(&id), &watch, &ids, &[ErrorCode::NotFound])?;
            check(org.calls(&id), &watch, &ids, &[ErrorCode::NotFound])?;
            check(org.sms_conversations(&id), &watch, &ids, &[ErrorCode::NotFound])?;
            check(org.merge(&id, &other), &watch, &ids, BAD_OR_MISSING)?;
            check(org.merge(contact, &id), &watch, &ids, &[ErrorCode::NotFound])?;
            check(org.merge(&id, contact), &watch, &ids, &[ErrorCode::NotFound])?;
            check(org.erase(&id), &watch, &ids, &[ErrorCode::NotFound])?;
            check(
                org.ensure_memory(&id, &MemoryScope::persona("persona-1")),
                &watch, &ids, &[ErrorCode::NotFound],
            )?;
            prop_assert!(!watch.changed());
            Ok(())
        })?;
    }

    #[test]
    fn memory_writes_take_any_input_without_panicking_or_storage_errors(
        persona_id in opt(hostile_text()),
        agent_number in opt(hostile_text()),
        text in hostile_text(),
        other_text in hostile_text(),
        role in hostile_text(),
        channel in hostile_text(),
        timestamp in opt(hostile_text()),
        facts in hostile_object(),
        known_scope in any::<bool>(),
        which in 0..7u8,
    ) {
        let scope = if known_scope {
            MemoryScope::persona("persona-1")
        } else {
            MemoryScope { persona_id, agent_number }
        };
        with_store(|org, contact, path| {
            let watch = WriteWatch::new(path);
            let mut inputs = vec![text.as_str(), other_text.as_str(), role.as_str(), channel.as_str()];
            inputs.extend(scope.persona_id.as_deref());
            inputs.extend(scope.agent_number.as_deref());
            inputs.extend(timestamp.as_deref());
            let outcome = match which {
                0 => org.set_summary(contact, &scope, &text),
                1 => org.patch_facts(contact, &scope, &facts),
                2 => Message::from_parts(&role, &text, &channel, timestamp.as_deref())
                    .and_then(|m| org.add_messages(contact, &scope, &[m])),
                3 => org.add_open_item(contact, &scope, &OpenItem {
                    item_type: text.clone(),
                    description: other_text.clone(),
                    created_at: Timestamp::now(),
                    priority: Priority::Low,
                    related_to: Some(EntityRef { entity_type: role.clone(), entity_id: channel.clone() }),
                }),
                4 => org.close_open_items(contact, &scope, &text, &other_text),
                5 => org.upsert_entity(contact, &scope, &EntityUpdate {
                    entity_type: text.clone(),
                    entity_id: other_text.clone(),
                    facts: facts.clone(),
                    status: Some(role.clone()),
                    last_discussed_at: None,
                    notes: Some(channel.clone()),
                }),
                _ => json_object(&text, "facts").and_then(|f| org.patch_facts(contact, &scope, &f)),
            };
            check(outcome, &watch, &inputs, BAD)
        })?;
    }

    #[test]
    fn calls_and_sms_take_any_input_without_panicking_or_storage_errors(
        agent_number in opt(hostile_text()),
        contact_number in opt(hostile_text()),
        status in opt(hostile_text()),
        summary in opt(hostile_text()),
        metadata in hostile_object(),
        count in any::<i64>(),
        direction in hostile_text(),
    ) {
        with_store(|org, contact, path| {
            let watch = WriteWatch::new(path);
            let inputs: Vec<&str> = [&agent_number, &contact_number, &status, &summary]
                .into_iter().flatten().map(String::as_str).collect();
            let call = NewCall {
                direction: Direction::Inbound,
                agent_number: agent_number.clone(),
                contact_number: contact_number.clone(),
                started_at: None,
                duration_seconds: Some(count),
                status: status.clone(),
                summary: summary.clone(),
                metadata: metadata.clone(),
            };
            check(org.record_call(contact, &call), &watch, &inputs, BAD)?;
            let watch = WriteWatch::new(path);
            let sms = NewSmsConversation {
                direction: Direction::Outbound,
                agent_number: call.agent_number.clone(),
                contact_number: call.contact_number.clone(),
                started_at: None,
                message_count: count,
                status: call.status.clone(),
                summary: call.summary.clone(),
                metadata: call.metadata.clone(),
            };
            check(org.record_sms(contact, &sms), &watch, &inputs, BAD)?;
            let watch = WriteWatch::new(path);
            check(direction.parse::<Direction>(), &watch, &[direction.as_str()], BAD)
        })?;
    }

    #[test]
    fn org_ids_of_any_shape_are_refused_or_kept_apart(org_id in hostile_text()) {
        with_store(|_, contact, path| {
            let store = ContactStore::open(path).unwrap();
            let watch = WriteWatch::new(path);
            match store.org(&org_id) {
                Err(e) => check::<()>(Err(e), &watch, &[org_id.as_str()], BAD),
                Ok(org) if org.id() == "acme" => Ok(()),
                Ok(org) => {
                    // Another org sees nothing of acme's.
                    check(org.get(contact), &watch, &[], &[ErrorCode::NotFound])?;
                    let found = org.find(&IdentifierQuery::phone("+14155550192"));
                    prop_assert!(matches!(found, Ok(None)), "{found:?}");
                    Ok(())
                }
            }
        })?;
    }

    #[test]
    fn import_takes_any_line_without_panicking(line in prop_oneof![
        3 => hostile_text(),
        2 => hostile_document(),
        1 => (1..50_000usize).prop_map(|depth| "[".repeat(depth) + &"]".repeat(depth)),
        1 => (1..50_000usize).prop_map(|depth| "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth)),
    ]) {
        with_store(|org, _, path| {
            let watch = WriteWatch::new(path);
            // One line: the text may hold newlines of its own, which split it.
            let text = line.replace(['\n', '\r'], " ");
            let summary = org.import(&mut text.as_bytes(), &ImportOptions::default(), &mut |_| {});
            prop_assert!(summary.is_ok(), "{summary:?}");
            let summary = summary.unwrap();
            for error in &summary.errors {
                prop_assert_eq!(&error.error, "BAD_REQUEST", "{:?}", error);
            }
            if summary.imported + summary.merged == 0 {
                prop_assert!(!watch.changed(), "a rejected line wrote: {summary:?}");
            }
            Ok(())
        })?;
    }

    #[test]
    fn normalization_takes_any_text_and_is_idempotent(
        text in hostile_text(),
        region in prop::sample::select(vec!["US", "GB", "DE", "IN", "BR", "JP", "LS", "AU"]),
    ) {
        let region: PhoneRegion = region.parse().unwrap();
        for kind in [IdentifierType::PhoneNumber, IdentifierType::Email, IdentifierType::ExternalId] {
            match normalize::identifier(kind, &text, region, "value") {
                Ok(value) => prop_assert_eq!(
                    normalize::identifier(kind, &value, region, "value").ok(),
                    Some(value.clone()),
                    "{:?} is not stable", kind
                ),
                Err(e) => {
                    prop_assert_eq!(e.code(), ErrorCode::BadRequest);
                    let t = text.trim();
                    prop_assert!(t.chars().count() < 8 || !e.to_string().contains(t));
                }
            }
        }
        let _ = text.parse::<PhoneRegion>();
        let _ = text.parse::<IdentifierType>();
        if let Err(e) = Timestamp::parse(&text) {
            prop_assert_eq!(e.code(), ErrorCode::BadRequest);
        }
    }
}

/// A contact document whose every field is hostile.
fn hostile_document() -> impl Strategy<Value = String> {
    (
        (opt(hostile_text()), opt(hostile_text()), opt(hostile_json()), opt(hostile_text())),
        (hostile_text(), hostile_text(), opt(hostile_text()), opt(hostile_text())),
        (hostile_text(), hostile_text(), hostile_text(), hostile_json()),
        (hostile_text(), hostile_text(), hostile_json()),
    )
        .prop_map(
            |(
                (id, name, metadata, created_at),
                (kind, value, persona, agent),
                (role, content, timestamp, facts),
                (entity_type, entity_id, call_metadata),
            )| {
                serde_json::json!({
                    "id": id,
                    "name": name,
                    "metadata": metadata,
                    "created_at": created_at,
                    "identifiers": [{"identifier_type": kind, "identifier_value": value},
                                    {"identifier_type": "phone_number", "identifier_value": "+14155550177"}],
                    "memories": [{
                        "persona_id": persona, "agent_number": agent, "summary": content,
                        "facts": facts,
                        "recent_messages": [{"role": role, "content": content, "channel": "sms", "timestamp": timestamp}],
                        "entities": [{"entity_type": entity_type, "entity_id": entity_id, "facts": {}}],
                    }],
                    "calls": [{"direction": "inbound", "started_at": timestamp, "metadata": call_metadata}],
                })
                .to_string()
            },
        )
}

fn nested_object(depth: usize) -> JsonObject {
    match nested(depth) {
        Value::Object(map) => map,
        _ => unreachable!("nested builds an object"),
    }
}

/// JSON nested deeper than [`MAX_JSON_DEPTH`] is refused before it is copied,
/// serialized or stored: stored, it could not be read back (serde_json parses 128
/// levels), and a very deep value overflows the stack when serialized or cloned.
#[test]
fn json_nested_too_deeply_is_refused_wherever_it_is_accepted() {
    let store = common::store();
    let org = store.org("acme").unwrap();
    let contact = org
        .resolve(&ResolveRequest::phone("+14155550192"))
        .unwrap()
        .contact
        .id;
    let scope = MemoryScope::persona("persona-1");
    for depth in [MAX_JSON_DEPTH + 1, 128, 129, 1_000, 100_000] {
        // Deep values are leaked, never dropped: serde_json drops them recursively.
        let request = ManuallyDrop::new(ResolveRequest {
            identifiers: IdentifierQuery {
                external_id: Some(format!("deep-{depth}")),
                ..Default::default()
            },
            metadata: Some(nested(depth)),
            ..Default::default()
        });
        let facts = ManuallyDrop::new(nested_object(depth));
        let entity = ManuallyDrop::new(EntityUpdate {
            entity_type: "order".into(),
            entity_id: "o-1".into(),
            facts: nested_object(depth),
            ..Default::default()
        });
        let call = ManuallyDrop::new(NewCall {
            direction: Direction::Inbound,
            agent_number: None,
            contact_number: None,
            started_at: None,
            duration_seconds: None,
            status: None,
            summary: None,
            metadata: nested_object(depth),
        });
        let sms = ManuallyDrop::new(NewSmsConversation {
            direction: Direction::Inbound,
            agent_number: None,
            contact_number: None,
            started_at: None,
            message_count: 1,
            status: None,
            summary: None,
            metadata: nested_object(depth),
        });
        let outcomes: Vec<(&str, Result<(), Error>)> = vec![
            ("resolve", org.resolve(&request).map(drop)),
            (
                "patch_facts",
                org.patch_facts(&contact, &scope, &facts).map(drop),
            ),
            (
                "upsert_entity",
                org.upsert_entity(&contact, &scope, &entity).map(drop),
            ),
            ("record_call", org.record_call(&contact, &call).map(drop)),
            ("record_sms", org.record_sms(&contact, &sms).map(drop)),
        ];
        for (op, outcome) in outcomes {
            match outcome {
                Err(Error::InvalidField { field, reason }) => {
                    assert!(["metadata", "facts"].contains(&field), "{op}: {field}");
                    assert_eq!(reason, "is nested too deeply", "{op} at depth {depth}");
                }
                other => panic!("{op} at depth {depth}: {other:?}"),
            }
        }
    }
    // At the limit everything is accepted, stored, read back and round-trips.
    let value = nested(MAX_JSON_DEPTH);
    let r = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                external_id: Some("deep-ok".into()),
                ..Default::default()
            },
            metadata: Some(value.clone()),
            ..Default::default()
        })
        .unwrap();
    org.patch_facts(&r.contact.id, &scope, &nested_object(MAX_JSON_DEPTH))
        .unwrap();
    let got = org.get(&r.contact.id).unwrap();
    assert_eq!(Value::Object(got.contact.metadata), value);
    let mut out = Vec::new();
    org.export(&mut out).unwrap();
    let copy = common::store();
    let summary = copy
        .org("acme")
        .unwrap()
        .import(&mut out.as_slice(), &ImportOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(summary.rejected, 0, "{summary:?}");
}

/// A store kept in a `thread_local!`, as the properties above keep theirs, is closed
/// when its thread exits without a panic — on PostgreSQL the close runs the client's
/// runtime, whose own thread-local context is destroyed first.
#[test]
fn a_store_kept_in_a_thread_local_closes_at_thread_exit_without_a_panic() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const THREAD: &str = "store-kept-in-a-thread-local";
    thread_local! {
        static KEPT: RefCell<Option<(ContactStore, TempDb)>> = const { RefCell::new(None) };
    }
    let panics = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&panics);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(THREAD) {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    std::thread::Builder::new()
        .name(THREAD.into())
        .spawn(|| {
            KEPT.with(|kept| {
                let db = TempDb::new();
                *kept.borrow_mut() = Some((store_with_a_caller(&db), db));
            });
        })
        .unwrap()
        .join()
        .expect("the thread exits cleanly");
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "panics while the thread exited"
    );
}
