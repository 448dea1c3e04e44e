//! resolve, find and get through the public API (contract §2 and §3).

mod common;

use std::time::Duration;

use common::{dump, TempDb, WriteWatch};
use contactstore::{
    ContactStore, Error, ErrorCode, IdentifierQuery, IdentifierType, ResolveRequest,
};
use serde_json::json;

fn store() -> ContactStore {
    common::store()
}

fn full_request() -> ResolveRequest {
    ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("(415) 555-0192".into()),
            email: Some("Sarah@Example.com".into()),
            external_id: Some("crm-8812".into()),
        },
        name: Some("Sarah Chen".into()),
        persona_id: None,
        agent_number: None,
        metadata: Some(json!({"source": "inbound_call"})),
    }
}

#[test]
fn resolve_creates_a_contact_with_every_identifier_primary() {
    let store = store();
    let org = store.org("acme").unwrap();
    let r = org.resolve(&full_request()).unwrap();
    assert!(r.created);
    assert!(r.conflicts.is_empty());
    assert_eq!(r.contact.org_id, "acme");
    assert_eq!(r.contact.name.as_deref(), Some("Sarah Chen"));
    assert_eq!(r.contact.metadata["source"], "inbound_call");
    assert_eq!(r.contact.created_at, r.contact.updated_at);
    assert!(uuid::Uuid::parse_str(&r.contact.id).is_ok());
    assert_eq!(r.contact.id, r.contact.id.to_lowercase());

    let got = org.get(&r.contact.id).unwrap();
    let values: Vec<(IdentifierType, &str, bool)> = got
        .identifiers
        .iter()
        .map(|i| (i.identifier_type, i.identifier_value.as_str(), i.is_primary))
        .collect();
    assert_eq!(
        values,
        vec![
            (IdentifierType::PhoneNumber, "+14155550192", true),
            (IdentifierType::Email, "sarah@example.com", true),
            (IdentifierType::ExternalId, "crm-8812", true),
        ]
    );
    for ident in &got.identifiers {
        assert!(ident.id.starts_with("ident-"));
        assert_eq!(ident.contact_id, r.contact.id);
    }
}

#[test]
fn equivalent_spellings_reach_the_same_contact() {
    let store = store();
    let org = store.org("acme").unwrap();
    let first = org
        .resolve(&ResolveRequest::phone("(415) 555-0192"))
        .unwrap();
    for spelling in [
        "+14155550192",
        "415.555.0192",
        "+1 415 555 0192",
        "tel:+1-415-555-0192",
        "1-415-555-0192",
    ] {
        let again = org.resolve(&ResolveRequest::phone(spelling)).unwrap();
        assert!(!again.created, "{spelling}");
        assert_eq!(again.contact.id, first.contact.id, "{spelling}");
    }
    let e = org
        .resolve(&ResolveRequest::email("Sarah@Example.com"))
        .unwrap();
    let e2 = org
        .resolve(&ResolveRequest::email(" sarah@EXAMPLE.com "))
        .unwrap();
    assert_eq!(e.contact.id, e2.contact.id);
    assert_ne!(
        e.contact.id, first.contact.id,
        "different identities never meet"
    );
}

#[test]
fn external_ids_are_case_sensitive() {
    let store = store();
    let org = store.org("acme").unwrap();
    let a = org
        .resolve(&ResolveRequest::external_id("crm-8812"))
        .unwrap();
    let b = org
        .resolve(&ResolveRequest::external_id("CRM-8812"))
        .unwrap();
    assert!(b.created);
    assert_ne!(a.contact.id, b.contact.id);
    let c = org
        .resolve(&ResolveRequest::external_id(" crm-8812\t"))
        .unwrap();
    assert_eq!(c.contact.id, a.contact.id);
}

#[test]
fn resolve_attaches_new_identifiers_as_primary_only_for_missing_types() {
    let store = store();
    let org = store.org("acme").unwrap();
    let first = org.resolve(&ResolveRequest::phone("+14155550192")).unwrap();
    // A known phone plus a new email: the email is attached as the email primary.
    let second = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550192".into()),
                email: Some("sarah@example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
    assert!(!second.created);
    assert_eq!(second.contact.id, first.contact.id);
    // A new phone together with the known email: attached, but not primary.
    org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("+14155550100".into()),
            email: Some("sarah@example.com".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let got = org.get(&first.contact.id).unwrap();
    let phones: Vec<(&str, bool)> = got
        .identifiers
        .iter()
        .filter(|i| i.identifier_type == IdentifierType::PhoneNumber)
        .map(|i| (i.identifier_value.as_str(), i.is_primary))
        .collect();
    assert_eq!(
        phones,
        vec![("+14155550192", true), ("+14155550100", false)]
    );
    let email = got
        .identifiers
        .iter()
        .find(|i| i.identifier_type == IdentifierType::Email)
        .unwrap();
    assert!(email.is_primary);
}

#[test]
fn resolve_never_overwrites_name_or_metadata() {
    let store = store();
    let org = store.org("acme").unwrap();
    org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("+14155550192".into()),
            ..Default::default()
        },
        name: Some("Sarah Chen".into()),
        metadata: Some(json!({"source": "inbound_call", "tier": "gold"})),
        ..Default::default()
    })
    .unwrap();
    let r = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550192".into()),
                ..Default::default()
            },
            name: Some("S. Chen".into()),
            metadata: Some(json!({"source": "web_form", "language": "en"})),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.contact.name.as_deref(), Some("Sarah Chen"));
    assert_eq!(
        serde_json::Value::Object(r.contact.metadata),
        json!({"source": "inbound_call", "tier": "gold", "language": "en"})
    );
}

#[test]
fn resolve_fills_an_empty_name() {
    let store = store();
    let org = store.org("acme").unwrap();
    let first = org.resolve(&ResolveRequest::phone("+14155550192")).unwrap();
    assert_eq!(first.contact.name, None);
    let r = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550192".into()),
                ..Default::default()
            },
            name: Some("  Sarah Chen ".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.contact.name.as_deref(), Some("Sarah Chen"));
    assert!(r.contact.updated_at >= first.contact.updated_at);
}

#[test]
fn a_resolve_that_changes_nothing_writes_nothing() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let request = ResolveRequest {
        persona_id: Some("persona-1".into()),
        ..full_request()
    };
    let first = org.resolve(&request).unwrap();
    std::thread::sleep(Duration::from_millis(5));

    let watch = WriteWatch::new(&db.path);
    let again = org.resolve(&request).unwrap();
    assert!(!again.created);
    assert_eq!(again.contact.updated_at, first.contact.updated_at);
    // A subset of what is known, and a name when one exists, change nothing either.
    org.resolve(&ResolveRequest {
        identifiers: IdentifierQuery {
            email: Some("sarah@example.com".into()),
            ..Default::default()
        },
        name: Some("Other".into()),
        metadata: Some(json!({"source": "x"})),
        ..Default::default()
    })
    .unwrap();
    assert!(!watch.changed(), "a no-op resolve committed a write");

    // While a change moves updated_at.
    let changed = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                email: Some("sarah@example.com".into()),
                ..Default::default()
            },
            metadata: Some(json!({"new_key": 1})),
            ..Default::default()
        })
        .unwrap();
    assert!(changed.contact.updated_at > first.contact.updated_at);
    assert_eq!(changed.contact.created_at, first.contact.created_at);
    assert!(watch.changed());
}

#[test]
fn strongest_identifier_wins_and_conflicts_are_reported_not_moved() {
    let store = store();
    let org = store.org("acme").unwrap();
    let by_email = org
        .resolve(&ResolveRequest::email("sarah@example.com"))
        .unwrap();
    let by_phone = org.resolve(&ResolveRequest::phone("+14155550192")).unwrap();
    let by_external = org
        .resolve(&ResolveRequest::external_id("crm-8812"))
        .unwrap();

    // phone > email
    let r = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                phone_number: Some("+14155550192".into()),
                email: Some("sarah@example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.contact.id, by_phone.contact.id);
    assert!(!r.created);
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].identifier_type, IdentifierType::Email);
    assert_eq!(r.conflicts[0].contact_id, by_email.contact.id);

    // external_id > phone > email
    let r = org.resolve(&full_request()).unwrap();
    assert_eq!(r.contact.id, by_external.contact.id);
    assert_eq!(r.conflicts.len(), 2);

    // Nothing moved: every contact still has exactly its own identifier.
    for (contact, kind) in [
        (&by_email, IdentifierType::Email),
        (&by_phone, IdentifierType::PhoneNumber),
        (&by_external, IdentifierType::ExternalId),
    ] {
        let got = org.get(&contact.contact.id).unwrap();
        assert_eq!(got.identifiers.len(), 1);
        assert_eq!(got.identifiers[0].identifier_type, kind);
    }

    // find uses the same precedence.
    let found = org
        .find(&IdentifierQuery {
            phone_number: Some("415-555-0192".into()),
            email: Some("sarah@example.com".into()),
            external_id: Some("crm-8812".into()),
        })
        .unwrap()
        .unwrap();
    assert_eq!(found.contact.id, by_external.contact.id);
    let found = org
        .find(&IdentifierQuery {
            phone_number: Some("415-555-0192".into()),
            email: Some("sarah@example.com".into()),
            external_id: None,
        })
        .unwrap()
        .unwrap();
    assert_eq!(found.contact.id, by_phone.contact.id);
}

#[test]
fn weaker_identifiers_still_find_when_the_strongest_is_unknown() {
    let store = store();
    let org = store.org("acme").unwrap();
    let known = org
        .resolve(&ResolveRequest::email("sarah@example.com"))
        .unwrap();
    let r = org
        .resolve(&ResolveRequest {
            identifiers: IdentifierQuery {
                external_id: Some("crm-1".into()),
                email: Some("sarah@example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.contact.id, known.contact.id);
    assert!(!r.created);
    let got = org.get(&known.contact.id).unwrap();
    assert_eq!(got.identifiers.len(), 2, "the new external id was attached");
}

#[test]
fn resolve_ensures_the_memory_of_a_scope_once() {
    let store = store();
    let org = store.org("acme").unwrap();
    let by_persona = ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("+14155550192".into()),
            ..Default::default()
        },
        persona_id: Some("persona-12345678".into()),
        ..Default::default()
    };
    let r = org.resolve(&by_persona).unwrap();
    org.resolve(&by_persona).unwrap();
    let by_agent = ResolveRequest {
        identifiers: IdentifierQuery {
            phone_number: Some("+14155550192".into()),
            ..Default::default()
        },
        agent_number: Some("(415) 555-0100".into()),
        ..Default::default()
    };
    org.resolve(&by_agent).unwrap();
    org.resolve(&ResolveRequest {
        agent_number: Some("+14155550100".into()),
        ..by_agent.clone()
    })
    .unwrap();

    let got = org.get(&r.contact.id).unwrap();
    assert_eq!(got.memories.len(), 2);
    let persona = &got.memories[0];
    assert_eq!(persona.persona_id.as_deref(), Some("persona-12345678"));
    assert_eq!(persona.agent_number, None);
    assert!(persona.id.starts_with("mem-"));
    assert_eq!(persona.summary, "");
    assert!(persona.facts.is_empty() && persona.recent_messages.is_empty());
    let agent = &got.memories[1];
    assert_eq!(agent.persona_id, None);
    assert_eq!(agent.agent_number.as_deref(), Some("+14155550100"));
}

#[test]
fn missing_identifier_is_the_hosted_apis_bad_request() {
    let store = store();
    let org = store.org("acme").unwrap();
    let err = org
        .resolve(&ResolveRequest {
            name: Some("Sarah".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
    assert_eq!(
        err.to_string(),
        "At least one identifier (phone_number, email, or external_id) is required"
    );
    let err = org.find(&IdentifierQuery::default()).unwrap_err();
    assert!(matches!(err, Error::MissingIdentifier));
}

/// Each rejected form: BAD_REQUEST naming the field, no part of the value in the
/// message, and the database unchanged.
#[test]
fn bad_input_is_rejected_without_echo_and_without_writes() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    org.resolve(&ResolveRequest::phone("+14155550192")).unwrap();
    let before = dump(&db.path);
    let watch = WriteWatch::new(&db.path);

    let ok = || ResolveRequest::phone("+14155550100");
    let cases: Vec<(ResolveRequest, &str, &str)> = vec![
        (
            ResolveRequest::phone("anonymous"),
            "phone_number",
            "anonymous",
        ),
        (ResolveRequest::phone("unknown"), "phone_number", "unknown"),
        (ResolveRequest::phone("12345"), "phone_number", "12345"),
        (
            ResolveRequest::phone("+266696687"),
            "phone_number",
            "696687",
        ),
        (
            ResolveRequest::phone("+1 415 555 0199 ext. 12"),
            "phone_number",
            "5550199",
        ),
        (
            ResolveRequest::phone("4".repeat(80)),
            "phone_number",
            "4444",
        ),
        (ResolveRequest::email("sarah.chen@"), "email", "sarah"),
        (
            ResolveRequest::email("sarah chen@example.com"),
            "email",
            "sarah",
        ),
        (
            ResolveRequest::email(format!("{}@example.com", "s".repeat(250))),
            "email",
            "ssss",
        ),
        (ResolveRequest::external_id("   "), "external_id", "   "),
        (
            ResolveRequest::external_id("x".repeat(257)),
            "external_id",
            "xxxx",
        ),
        (
            ResolveRequest {
                metadata: Some(json!(["source"])),
                ..ok()
            },
            "metadata",
            "source",
        ),
        (
            ResolveRequest {
                metadata: Some(json!("source")),
                ..ok()
            },
            "metadata",
            "source",
        ),
        (
            ResolveRequest {
                agent_number: Some("anonymous".into()),
                ..ok()
            },
            "agent_number",
            "anonymous",
        ),
        (
            ResolveRequest {
                persona_id: Some("q".repeat(300)),
                ..ok()
            },
            "persona_id",
            "qqqq",
        ),
        (
            ResolveRequest {
                name: Some("n".repeat(1001)),
                ..ok()
            },
            "name",
            "nnnn",
        ),
        // A valid identifier does not let an invalid one through.
        (
            ResolveRequest {
                identifiers: IdentifierQuery {
                    email: Some("nope".into()),
                    ..Default::default()
                },
                ..ok()
            },
            "email",
            "nope",
        ),
    ];
    for (request, field, secret) in cases {
        let err = org.resolve(&request).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest, "{request:?}");
        let message = err.to_string();
        assert!(message.contains(field), "{message} should name {field}");
        assert!(!message.contains(secret), "{message} echoes the value");
        assert!(
            !format!("{err:?}").contains(secret),
            "Debug echoes the value"
        );
    }
    assert!(!watch.changed());
    assert_eq!(dump(&db.path), before);
}

#[test]
fn org_ids_are_validated() {
    let store = store();
    for bad in ["", "   ", &"o".repeat(129), "a\u{0}b"] {
        assert_eq!(store.org(bad).unwrap_err().code(), ErrorCode::BadRequest);
    }
    assert!(store.org(&"o".repeat(128)).is_ok());
}

#[test]
fn orgs_are_isolated() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let a = store.org("org-a").unwrap();
    let b = store.org("org-b").unwrap();
    let in_b = b
        .resolve(&ResolveRequest {
            name: Some("B's Sarah".into()),
            persona_id: Some("p".into()),
            ..full_request()
        })
        .unwrap();
    let b_rows: Vec<String> = dump(&db.path)
        .into_iter()
        .filter(|r| r.contains("\"org-b\""))
        .collect();

    // The same identifiers in org A create a separate contact.
    let in_a = a.resolve(&full_request()).unwrap();
    assert!(in_a.created);
    assert_ne!(in_a.contact.id, in_b.contact.id);
    a.resolve(&ResolveRequest {
        name: Some("A's Sarah".into()),
        metadata: Some(json!({"x": 1})),
        persona_id: Some("p".into()),
        ..full_request()
    })
    .unwrap();
    // A cannot see B's contact, by id or by identifier.
    assert!(matches!(a.get(&in_b.contact.id), Err(Error::NotFound)));
    let found = a
        .find(&IdentifierQuery::phone("+14155550192"))
        .unwrap()
        .unwrap();
    assert_eq!(found.contact.id, in_a.contact.id);
    assert_eq!(found.contact.org_id, "org-a");

    let b_rows_after: Vec<String> = dump(&db.path)
        .into_iter()
        .filter(|r| r.contains("\"org-b\""))
        .collect();
    assert_eq!(b_rows, b_rows_after, "org B changed");
    assert_eq!(
        b.get(&in_b.contact.id).unwrap().contact.name.as_deref(),
        Some("B's Sarah")
    );
}

#[test]
fn find_returns_none_and_never_writes() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let watch = WriteWatch::new(&db.path);
    assert!(org
        .find(&IdentifierQuery::phone("+14155550192"))
        .unwrap()
        .is_none());
    assert!(org
        .find(&IdentifierQuery::email("nobody@example.com"))
        .unwrap()
        .is_none());
    assert!(!watch.changed());
    let err = org.find(&IdentifierQuery::phone("anonymous")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
}

#[test]
fn get_of_an_unknown_id_is_not_found() {
    let store = store();
    let org = store.org("acme").unwrap();
    for id in ["", "nope", "00000000-0000-0000-0000-000000000000"] {
        let err = org.get(id).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);
        assert_eq!(err.to_string(), "Contact not found");
    }
}

#[test]
fn json_shapes_match_the_reference() {
    let store = store();
    let org = store.org("acme").unwrap();
    let r = org
        .resolve(&ResolveRequest {
            persona_id: Some("persona-12345678".into()),
            ..full_request()
        })
        .unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["created"], true);
    assert!(
        v.get("conflicts").is_none(),
        "conflicts only when there are some"
    );
    let contact = v["contact"].as_object().unwrap();
    let keys: Vec<&str> = contact.keys().map(String::as_str).collect();
    for key in [
        "id",
        "org_id",
        "name",
        "metadata",
        "created_at",
        "updated_at",
    ] {
        assert!(keys.contains(&key), "{key}");
    }
    let ts = contact["created_at"].as_str().unwrap();
    assert_eq!(ts.len(), "2025-07-22T10:30:00.000Z".len());
    assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.');

    let got = serde_json::to_value(org.get(&r.contact.id).unwrap()).unwrap();
    assert_eq!(got["identifiers"][0]["identifier_type"], "phone_number");
    let memory = &got["memories"][0];
    for key in [
        "id",
        "contact_id",
        "persona_id",
        "agent_number",
        "summary",
        "facts",
        "recent_messages",
        "open_items",
        "entities",
    ] {
        assert!(memory.get(key).is_some(), "memory.{key}");
    }
    assert_eq!(memory["agent_number"], serde_json::Value::Null);
}

#[test]
fn resolve_known_answers_what_resolve_would_without_writing_and_nothing_when_resolve_would_write() {
    let db = TempDb::new();
    let store = ContactStore::open(&db.path).unwrap();
    let org = store.org("acme").unwrap();
    let phone = ResolveRequest::phone("(415) 555-0192");
    let watch = WriteWatch::new(&db.path);
    assert!(
        org.resolve_known(&phone).unwrap().is_none(),
        "unknown caller"
    );
    assert!(!watch.changed(), "resolve_known wrote");

    let created = org.resolve(&full_request()).unwrap();
    let watch = WriteWatch::new(&db.path);
    let known = org.resolve_known(&phone).unwrap().expect("a known caller");
    assert_eq!(known.contact.id, created.contact.id);
    assert!(!known.created);
    // The whole request again adds nothing: the same answer as resolve's.
    let again = org
        .resolve_known(&full_request())
        .unwrap()
        .expect("nothing to add");
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(org.resolve(&full_request()).unwrap()).unwrap()
    );
    assert!(!watch.changed(), "a resolve adding nothing wrote");

    // Each request that would change the contact is left to resolve.
    let mut new_identifier = full_request();
    new_identifier.identifiers.email = Some("other@example.com".into());
    let mut new_metadata = full_request();
    new_metadata.metadata = Some(json!({"campaign": "spring"}));
    let mut new_memory = full_request();
    new_memory.persona_id = Some("persona-1".into());
    for (what, request) in [
        ("an identifier", new_identifier),
        ("a metadata key", new_metadata),
        ("a memory", new_memory),
    ] {
        assert!(org.resolve_known(&request).unwrap().is_none(), "{what}");
    }
    assert!(!watch.changed(), "resolve_known wrote");

    // Bad input is refused as resolve refuses it.
    let err = org
        .resolve_known(&ResolveRequest::phone("not a number"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
}
